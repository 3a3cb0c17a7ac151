#!/usr/bin/env bash
# Builds roomsync: native (build/: core, Catch2 tests, native bench) and WebAssembly
# (build-wasm/ -> dist/roomsync.mjs + dist/roomsync.wasm).
# Usage: scripts/build.sh [native|wasm|all]   (default: all)
# Env: ROOMSYNC_BUILD_TYPE (default Release), ROOMSYNC_JOBS (default: number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}
type=${ROOMSYNC_BUILD_TYPE:-Release}
jobs=${ROOMSYNC_JOBS:-$(nproc 2>/dev/null || echo 2)}
# Emscripten's JS optimizer needs Debian's acorn, which lives outside Node's default path.
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}

# Configure once per build dir (and again when the build type changes); after that CMake
# re-runs itself when CMakeLists.txt or the globbed source lists change.
configure() {  # configure <dir> <cmake command...>
  local dir=$1; shift
  if [ ! -f "$dir/Makefile" ] || ! grep -q "^CMAKE_BUILD_TYPE:STRING=$type\$" "$dir/CMakeCache.txt" 2>/dev/null; then
    mkdir -p "$dir"
    "$@" -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" >"$dir/configure.log" 2>&1 \
      || { cat "$dir/configure.log"; echo "build.sh: configuring $dir failed" >&2; exit 1; }
  fi
}

if [ "$what" = native ] || [ "$what" = all ]; then
  configure build cmake
  cmake --build build -j "$jobs"
fi

if [ "$what" = wasm ] || [ "$what" = all ]; then
  configure build-wasm emcmake cmake
  cmake --build build-wasm -j "$jobs"
  if [ -f dist/roomsync.wasm ]; then
    echo "build.sh: dist/roomsync.wasm $(stat -c %s dist/roomsync.wasm) B, dist/roomsync.mjs $(stat -c %s dist/roomsync.mjs) B"
  fi
fi
