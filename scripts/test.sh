#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run -> npm test -> this):
#   setup (installs what is missing) -> build (native + wasm) -> C++ tests (CTest)
#   -> JS tests on the real wasm build (node:test, tests/js/** recursively) -> browser e2e.
set -euo pipefail
cd "$(dirname "$0")/.."

start=$SECONDS
step() { printf '\n=== %s   [%d s]\n' "$*" $((SECONDS - start)); }

step "setup"
scripts/setup.sh
step "build"
scripts/build.sh

step "C++ tests (ctest)"
ctest --test-dir build --output-on-failure --no-tests=error -j "$(nproc 2>/dev/null || echo 2)"

step "JS tests (node --test tests/js/)"
node --test tests/js/

if compgen -G 'tests/e2e/*.test.js' >/dev/null || compgen -G 'tests/e2e/**/*.test.js' >/dev/null; then
  step "browser end-to-end tests (node --test tests/e2e/)"
  node --test tests/e2e/
fi

printf '\n=== all tests passed in %d s\n' $((SECONDS - start))
