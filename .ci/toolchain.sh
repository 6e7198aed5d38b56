# Sourced by .ci/run and by scripts that need the project's toolchain: puts a Node >= 22 on PATH
# (installing Node 24 from the npm registry's `node` package into .cache/ when the machine's is
# older), exports CHROMIUM_PATH (installing Debian's chromium when no browser is found) and
# FIREFOX_PATH (installing Debian's firefox-esr when no Firefox is found, for `npm run test:firefox`).

node_major() { node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/'; }

if [ "$(node_major || echo 0)" -lt 22 ] 2>/dev/null; then
  local_node="$PWD/.cache/node24/node_modules/node/bin"
  if [ ! -x "$local_node/node" ]; then
    echo "Node $(node --version 2>/dev/null || echo none) is older than 22: installing Node 24 into .cache/node24"
    mkdir -p .cache/node24
    npm install --prefix .cache/node24 --no-audit --no-fund --no-save node@24 >/dev/null
  fi
  export PATH="$local_node:$PATH"
fi

if [ -z "${CHROMIUM_PATH:-}" ]; then
  for candidate in /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome; do
    if [ -x "$candidate" ]; then CHROMIUM_PATH="$candidate"; break; fi
  done
fi
if [ -z "${CHROMIUM_PATH:-}" ] && command -v apt-get >/dev/null 2>&1; then
  echo "No Chromium found: installing Debian's chromium"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  CHROMIUM_PATH=/usr/bin/chromium
fi
export CHROMIUM_PATH="${CHROMIUM_PATH:-}"

if [ -z "${FIREFOX_PATH:-}" ]; then
  for candidate in /usr/bin/firefox-esr /usr/bin/firefox; do
    if [ -x "$candidate" ]; then FIREFOX_PATH="$candidate"; break; fi
  done
fi
if [ -z "${FIREFOX_PATH:-}" ] && command -v apt-get >/dev/null 2>&1; then
  echo "No Firefox found: installing Debian's firefox-esr"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq firefox-esr >/dev/null
  FIREFOX_PATH=/usr/bin/firefox-esr
fi
export FIREFOX_PATH="${FIREFOX_PATH:-}"
