#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run -> npm test -> this):
#   setup (installs what is missing) -> build (native + wasm) -> C++ tests (CTest)
#   -> JS tests on the real wasm build (node:test, tests/js/** recursively)
#   -> WebRTC tests (tests/webrtc/) and browser e2e (tests/e2e/), each inside a private network
#      namespace (scripts/netns.sh: needs root), so no ICE packet leaves this machine.
# The final line says what was skipped (e.g. the trace replays on a clone without the traces),
# so "all tests passed" never hides tests that did not run.
set -euo pipefail
cd "$(dirname "$0")/.."

start=$SECONDS
step() { printf '\n=== %s   [%d s]\n' "$*" $((SECONDS - start)); }

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
# node:test: the usual report on stdout (spec on a terminal, TAP otherwise, as node picks) and a
# TAP copy in $logs, read at the end for skipped tests.
node_tests() {  # node_tests <name> <dir> [wrapper...]: the wrapper (scripts/netns.sh) runs node
  local name=$1 dir=$2 shown=tap
  shift 2
  [ -t 1 ] && shown=spec
  "$@" node --test "${test_flags[@]}" --test-reporter="$shown" --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$logs/$name.tap" "$dir"
}
test_flags=() # more node --test flags for the next node_tests
# WebRTC and browser tests hold sockets, peer connections and browsers: a test that fails before
# closing one (or hangs) must not keep its file's process, and so the suite, running forever.
# --test-force-exit ends the process once its tests are done (the exit-check tests still catch
# leaks); --test-timeout bounds a test that sets no timeout of its own.
hang_guards=(--test-force-exit --test-timeout=300000)
has_tests() { compgen -G "$1/*.test.js" >/dev/null || compgen -G "$1/**/*.test.js" >/dev/null; }

step "setup"
scripts/setup.sh
step "build"
scripts/build.sh

step "C++ tests (ctest)"
ctest --test-dir build --output-on-failure --no-tests=error -j "$(nproc 2>/dev/null || echo 2)" 2>&1 | tee "$logs/ctest.log"

step "JS tests (node --test tests/js/)"
node_tests js tests/js/

if has_tests tests/webrtc; then
  step "WebRTC tests (scripts/netns.sh node --test tests/webrtc/)"
  test_flags=("${hang_guards[@]}")
  node_tests webrtc tests/webrtc/ scripts/netns.sh
fi

if has_tests tests/e2e; then
  step "browser end-to-end tests (scripts/netns.sh node --test tests/e2e/)"
  test_flags=("${hang_guards[@]}")
  node_tests e2e tests/e2e/ scripts/netns.sh
fi

# --- what did not run ----------------------------------------------------------------------
# C++: ctest lists skipped tests as "<n> - <name> (Skipped)" (the trace replays skip through
# SKIP_REGULAR_EXPRESSION in CMakeLists.txt). JS: TAP lines "ok <n> - <name> # SKIP <why>".
cpp_skips=$(grep ' (Skipped)$' "$logs/ctest.log" || true)
cpp_traces=$(grep -ci 'trace' <<<"$cpp_skips" || true)
cpp_others=$(grep -vi 'trace' <<<"$cpp_skips" | grep -c . || true)
js_skips=$(cat "$logs"/*.tap 2>/dev/null | sed -n 's/^ *ok [0-9]* - \(.*\) # SKIP *$/\1/p; s/^ *ok [0-9]* - .* # SKIP *\(..*\)$/\1/p')
js_traces=$(grep -ci 'trace' <<<"$js_skips" || true)
tests() { if [ "$1" = 1 ]; then echo "1 $2 test"; else echo "$1 $2 tests"; fi; }
skipped=()
if [ "$cpp_traces" -gt 0 ] || [ "$js_traces" -gt 0 ]; then
  # Where tests/cpp/trace_loader.cpp and tests/js/helpers/traces.js look.
  traces=$(realpath -m "${ROOMSYNC_TRACES:-../shared/traces}")
  if ! compgen -G "$traces/*.json.gz" >/dev/null; then
    why="no traces found in $traces"
  elif ! compgen -G "$traces/concurrent/*.json.gz" >/dev/null; then
    why="no concurrent traces found in $traces/concurrent"
  else
    why="see the skip messages above"
  fi
  skipped+=("trace replays ($(tests "$cpp_traces" C++), $(tests "$js_traces" JS); $why; README \"Trace data\" says how to get them)")
fi
[ "$cpp_others" -gt 0 ] && skipped+=("$(tests "$cpp_others" other C++) (see ctest's list above)")
while read -r count why; do
  [ -n "$why" ] && skipped+=("$why ($(tests "$count" JS))")
done < <(grep -vi 'trace' <<<"$js_skips" | grep -v '^$' | sort | uniq -c || true)

summary="all tests passed in $((SECONDS - start)) s"
sep="; skipped: "
for s in "${skipped[@]}"; do
  summary+="$sep$s"
  sep=", "
done
printf '\n=== %s\n' "$summary"
