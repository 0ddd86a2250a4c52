#!/usr/bin/env bash
# The PostgreSQL server the storage tests use: 127.0.0.1:5432, user postgres, password postgres.
# `npm test` runs this first (pretest); .ci/run too. Idempotent.
# - A server already answering there is used as it is.
# - Installing and starting one needs root (Debian/Ubuntu): as root this script does it; as another
#   user it runs itself through sudo when sudo is there.
# - Otherwise it says what to run and exits 0, so the other tests still run; the Postgres tests
#   then fail, saying the same (test/storage/support/postgres.ts). They are never skipped silently:
#   only LEARN_TEST_POSTGRES=skip skips them, and the skip shows in the test names.
set -euo pipefail

if [ "${LEARN_TEST_POSTGRES:-}" = skip ] || [ -n "${LEARN_TEST_POSTGRES_URL:-}" ]; then
  exit 0 # the Postgres tests are skipped, or use a server of the user's choosing
fi

answers() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

if [ "$(id -u)" != 0 ]; then
  answers && exit 0
  if command -v sudo >/dev/null 2>&1 && { sudo -n true 2>/dev/null || [ -t 0 ]; }; then
    exec sudo bash "$0"
  fi
  cat >&2 <<'EOF'
setup-postgres: PostgreSQL is not running on 127.0.0.1:5432, and installing it needs root:
this user is not root and cannot use sudo. The Postgres storage tests will fail. Either
  - as root, run: bash scripts/setup-postgres.sh   (installs PostgreSQL and starts it)
  - or point the tests at a server: LEARN_TEST_POSTGRES_URL=postgres://user:pass@127.0.0.1:5432/db npm test
  - or skip those tests, knowingly: LEARN_TEST_POSTGRES=skip npm test
EOF
  exit 0
fi

if answers && [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
  exit 0 # a server this script did not install, e.g. in a container
fi
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
