#!/usr/bin/env bash
# Installs what the browser tests need, idempotently: Debian's Chromium (never a downloaded browser)
# and playwright-core pinned by package-lock.json into tests/browser/node_modules.
# Exits non-zero when something cannot be installed, so CI fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")"

CHROMIUM="${TXASSIST_CHROMIUM:-/usr/bin/chromium}"

as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    echo "setup.sh: need root (or passwordless sudo) to run: $*" >&2
    return 1
  fi
}

apt_install() {
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@"
}

if [ ! -x "$CHROMIUM" ]; then
  echo "setup.sh: installing chromium from the distribution" >&2
  apt_install chromium
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "setup.sh: installing nodejs and npm from the distribution" >&2
  apt_install nodejs npm
fi

# npm ci only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi

"$CHROMIUM" --version >/dev/null 2>&1
node -e 'require.resolve("playwright-core")' >/dev/null
echo "setup.sh: chromium $("$CHROMIUM" --version 2>/dev/null | awk '{print $2}'), playwright-core $(node -p 'require("playwright-core/package.json").version')"
