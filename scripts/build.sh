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
  # --- the browser bundle (roomsync/browser) ---
  # dist/roomsync.browser.js: js/browser.js, the glue and the phoenix client in one minified ES
  # module for pages without a bundler; it fetches roomsync.wasm from its own directory (the
  # glue's new URL('roomsync.wasm', import.meta.url)). --drop-labels removes the Node-only
  # branches (labelled nodeOnly). A fraction of a second, so it always runs.
  esbuild=node_modules/.bin/esbuild
  [ -x "$esbuild" ] || { echo "build.sh: $esbuild is missing (npm install, or scripts/setup.sh)" >&2; exit 1; }
  banner="/*! roomsync $(node -p 'require("./package.json").version') (MIT) browser bundle; includes phoenix $(node -p 'require("./node_modules/phoenix/package.json").version') (MIT, Copyright (c) 2014 Chris McCord) */"
  "$esbuild" js/browser.js --bundle --minify --format=esm --platform=browser --drop-labels=nodeOnly \
    --banner:js="$banner" --log-level=warning --outfile=dist/roomsync.browser.js
  echo "build.sh: dist/roomsync.browser.js $(stat -c %s dist/roomsync.browser.js) B"
  # --- the CodeMirror bundle of the editor page (www/editor.js) ---
  # dist/roomsync.codemirror.js: CodeMirror 6 and roomsync/codemirror (js/codemirror.browser.js),
  # for pages without a bundler. No roomsync inside: the page imports that from roomsync.browser.js.
  "$esbuild" js/codemirror.browser.js --bundle --minify --format=esm --platform=browser \
    --banner:js="/*! roomsync/codemirror (MIT) with CodeMirror 6 and Lezer (MIT, Copyright (C) 2018-2021 by Marijn Haverbeke <marijn@haverbeke.berlin> and others) */" \
    --log-level=warning --outfile=dist/roomsync.codemirror.js
  echo "build.sh: dist/roomsync.codemirror.js $(stat -c %s dist/roomsync.codemirror.js) B"
fi
