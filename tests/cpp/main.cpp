// Catch2 v2 entry point for roomsync_tests (native tests of the C++ core).
//
// Tags: [traces] [concurrent] [convergence] [properties] [garbage] [regression]; hidden (run
// only when named): [soak] (many more convergence seeds, ROOMSYNC_SOAK_SEEDS=n) and
// [known-bug] (reproductions of open core bugs).
// Environment: ROOMSYNC_TRACES = folder of the editing traces (default
// <repo>/../shared/traces); without it the trace tests print "SKIPPED: ..." and pass.
// Fuzzing lives in tests/fuzz (scripts/fuzz.sh).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
