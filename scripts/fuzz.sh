#!/usr/bin/env bash
# Fuzzes the update and state-vector decoders with libFuzzer (clang-14).
#
#   scripts/fuzz.sh [seconds] [target]   run for that long (default 60); target is `update`
#                                        (decoders, default) or `ops` (CRDT logic scripts)
#
# Environment:
#   FUZZ_BUILD_DIR   build directory (default build-fuzz)
#   FUZZ_JOBS        parallel fuzzing processes (default 1)
#   FUZZ_ARGS        extra libFuzzer flags
#   ROOMSYNC_FUZZ_SKIP  checks to leave out while a known bug is open (reapply,local-edit,roundtrip-pending)
#
# The corpus (kept between runs) is $FUZZ_BUILD_DIR/corpus-<target>; for `update` it is seeded
# from valid updates that the target itself writes. Crashes land in
# $FUZZ_BUILD_DIR/artifacts-<target>. Reproduce one with
#   $FUZZ_BUILD_DIR/roomsync_fuzz_<target> $FUZZ_BUILD_DIR/artifacts-<target>/crash-…
set -euo pipefail

secs="${1:-60}"
target="${2:-update}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
jobs="${FUZZ_JOBS:-1}"

for tool in clang-14 clang++-14 cmake; do
  command -v "$tool" >/dev/null || { echo "fuzz.sh: $tool not found (apt-get install clang-14 cmake)" >&2; exit 1; }
done

# CMakeLists.txt builds a copy of the core with -fsanitize=fuzzer-no-link,address,undefined for
# the fuzz targets, so coverage reaches into the core and not only the target's own file.
CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" -DROOMSYNC_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target "roomsync_fuzz_$target" -j"$(nproc)"

bin="$build/roomsync_fuzz_$target"
corpus="$build/corpus-$target"
artifacts="$build/artifacts-$target"
mkdir -p "$corpus" "$artifacts"
if [ "$target" = update ]; then
  ROOMSYNC_FUZZ_WRITE_SEEDS="$corpus" "$bin"
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

status=0
# shellcheck disable=SC2086
"$bin" "$corpus" -max_total_time="$secs" -max_len=8192 -rss_limit_mb=2048 -malloc_limit_mb=512 \
  -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts/" \
  $( [ "$jobs" -gt 1 ] && echo "-fork=$jobs -ignore_crashes=1" ) ${FUZZ_ARGS:-} || status=$?

found=$(find "$artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
echo "fuzz.sh: corpus $(ls "$corpus" | wc -l) inputs, $found artifact(s) in $artifacts"
exit "$status"
