#!/usr/bin/env bash
# Installs Debian's chromium and chromium-driver for the dashboard's browser tests (idempotent).
# Nothing downloads a browser of its own: the tests drive /usr/bin/chromium through /usr/bin/chromedriver.
# Without apt (or root) it says what to install and, outside CI, lets the browser tests skip with that reason.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  echo "installing chromium and chromium-driver for the dashboard's browser tests" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >&2
  exit 0
fi
message="the dashboard's browser tests need Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver):
  sudo apt-get install chromium chromium-driver"
if [ "${CI:-}" = "true" ]; then
  echo "$message" >&2
  exit 1
fi
echo "$message (the browser tests will be skipped)" >&2
