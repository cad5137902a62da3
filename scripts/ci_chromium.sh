#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests (tests/test_browser.py, tests/test_survey_browser.py),
# which drive it through Playwright with executable_path — never `playwright install`. Safe to run again.
# Without Chromium those tests skip, saying why.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "ci_chromium: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) found"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ci_chromium: Chromium is not installed and this is not a root Debian shell; browser tests will skip" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null
echo "ci_chromium: installed $(/usr/bin/chromium --version 2>/dev/null)"
