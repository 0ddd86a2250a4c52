#!/usr/bin/env bash
# Installs (if needed) and starts a local PostgreSQL for the storage tests, listening on
# 127.0.0.1:5432 with user postgres / password postgres. Idempotent; needs root (Debian/Ubuntu).
set -euo pipefail
if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
version=$(ls /etc/postgresql | sort -n | tail -n 1)
pg_ctlcluster "$version" main start >/dev/null 2>&1 || pg_ctlcluster "$version" main status >/dev/null
for _ in $(seq 1 30); do
  su postgres -c "psql -qtAc 'select 1'" >/dev/null 2>&1 && break
  sleep 1
done
su postgres -c "psql -qc \"alter user postgres password 'postgres'\"" >/dev/null
echo "PostgreSQL $version is running on 127.0.0.1:5432"
