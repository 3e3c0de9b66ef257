#!/usr/bin/env bash
# Make sure Debian's Chromium and its matching chromedriver are installed, for the report's browser test
# (tests/functional/test_report_browser.py) and scripts/report_screenshot.py. Idempotent: does nothing
# when both are already on PATH. Selenium is pointed at these binaries, so it never downloads a browser.
set -euo pipefail
have() { command -v "$1" >/dev/null 2>&1; }
if have chromium && have chromedriver; then
  exit 0
fi
echo "==> installing Chromium and chromedriver (Debian packages)"
export DEBIAN_FRONTEND=noninteractive
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
# Several installers may run at once (parallel test workers, CI steps): wait for dpkg's lock.
APT=(apt-get -o DPkg::Lock::Timeout=300)
$SUDO "${APT[@]}" update -qq
# fonts-dejavu-core: the report's fallback font, so screenshots look the same on every machine.
$SUDO "${APT[@]}" install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null
have chromium && have chromedriver || { echo "chromium or chromedriver still missing after install" >&2; exit 1; }
echo "==> $(chromium --version 2>/dev/null | head -n 1), $(chromedriver --version | head -n 1)"
