#!/usr/bin/env bash
# Installs what building and testing roomsync needs, and only what is missing:
#   Debian packages (compilers, Emscripten, Catch2, nlohmann/json, zlib, clang/libFuzzer,
#   redis-server, chromium + chromium-driver) and the npm dependencies (npm ci).
# Idempotent and quiet; when everything is present it only checks (well under 2 s).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*"; }

# --- Debian packages ---------------------------------------------------------------------
packages=(
  cmake g++ make                      # native build
  emscripten                          # wasm build (pulls clang-14, lld-14, binaryen, node-acorn)
  catch2 nlohmann-json3-dev zlib1g-dev
  clang-14 libclang-rt-14-dev         # libFuzzer + sanitizers (scripts/fuzz.sh)
  redis-server                        # signaling scale-out tests
  chromium chromium-driver fonts-liberation   # browser end-to-end tests
  fonts-noto-color-emoji              # emoji in the pages' screenshots (chat reactions)
)

# One dpkg-query for all of them; a package is present when its status is "install ok installed".
missing=()
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${packages[@]}" 2>/dev/null | awk '$4 == "installed" { print $1 }' || true)
for p in "${packages[@]}"; do
  grep -qx "$p" <<<"$installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { log "need root (or sudo) to install: ${missing[*]}"; exit 1; }
    sudo="sudo"
  fi
  log "installing ${missing[*]} (apt-get; on a fresh machine this takes minutes: Emscripten alone is ~800 MB)"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  # --no-install-recommends: every tool above works with its hard dependencies alone.
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/roomsync-apt.log 2>&1 \
    || { tail -n 40 /tmp/roomsync-apt.log; log "apt-get install failed (full log: /tmp/roomsync-apt.log)"; exit 1; }
fi

# --- npm dependencies --------------------------------------------------------------------
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  log "Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none)); install it first"
  exit 1
fi

# node_modules is stale when the lock file (package.json without one) changed since the last install.
stamp=node_modules/.roomsync-setup-stamp
lock=package-lock.json
[ -f "$lock" ] || lock=package.json
want=$(sha1sum "$lock" | cut -d' ' -f1)
if [ ! -d node_modules ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  if [ -f package-lock.json ]; then
    log "npm ci"
    # One retry: a flaky download or a cache clash with a concurrent npm should not fail CI.
    npm ci --no-audit --no-fund --loglevel=error >/dev/null \
      || { log "npm ci failed; retrying once"; npm ci --no-audit --no-fund --loglevel=error >/dev/null; }
  else
    log "npm install"
    npm install --no-audit --no-fund --loglevel=error >/dev/null
  fi
  echo "$want" >"$stamp"
fi
