#!/usr/bin/env bash
# Debian's Chromium, which the report page's browser test drives through playwright-core
# (downloading a browser is not possible on these machines). `npm test` runs this first (pretest);
# .ci/run too. Idempotent.
# - A chromium already on the PATH is used as it is.
# - Installing needs root: as root this script does it; as another user it runs itself through
#   sudo when sudo is there.
# - Otherwise it says what to run and exits 0, so the other tests still run; the browser test then
#   fails, saying the same (test/report/support/browser.ts).
set -euo pipefail

command -v chromium >/dev/null 2>&1 && exit 0

if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && { sudo -n true 2>/dev/null || [ -t 0 ]; }; then
    exec sudo bash "$0"
  fi
  echo "setup-chromium: chromium is not installed, and installing it needs root: as root, run bash scripts/setup-chromium.sh (the report page's browser test fails until then)" >&2
  exit 0
fi

apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
