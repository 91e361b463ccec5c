#!/usr/bin/env bash
# Installs Debian's chromium for the browser test of `merc report` (tests/app/report_browser_test.cpp,
# label `slow`). Kept out of install_deps.sh: the browser is ~115 MB to download and ~370 MB on disk,
# and only `make test-all` needs it. Idempotent.
set -euo pipefail

if dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q "install ok installed"; then
  exit 0
fi
echo "merc: installing Debian package chromium (headless browser for the report test)"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium
