// Issue 8: memory accounting and the embedding's memory check (the WebAssembly glue installs
// one, wasm/memory_guard.cpp): an update refused for memory changes nothing.
#include "test_util.h"

using namespace roomsync;
using namespace roomsync_test;

namespace {
size_t g_allowed = 0;
size_t g_asked = 0;
bool check(size_t bytes) {
  g_asked = bytes;
  return bytes <= g_allowed;
}
}  // namespace

TEST_CASE("an update the memory check refuses changes nothing", "[memory]") {
  Doc src(1);
  RootHandle t = text_of(src);
  for (int i = 0; i < 500; ++i) REQUIRE(src.text_insert(t, (i * 37) % (src.text_length(t) + 1), U("ab")));
  const Bytes state = src.encode_state();

  Doc dst(2);
  RootHandle dt = text_of(dst);
  REQUIRE(dst.text_insert(dt, 0, U("mine")));
  const Bytes before = dst.encode_state();

  set_memory_check(&check);
  g_allowed = 0;
  Status st = apply_upd(dst, state);
  CHECK_FALSE(st.ok);
  CHECK(st.code == Status::kOutOfMemory);
  CHECK(g_asked >= 500 * 100);  // a bound that grows with the ops, not a constant
  CHECK(dst.encode_state() == before);
  CHECK(dst.text_content(dt) == U("mine"));

  g_allowed = g_asked;  // exactly what it asked for: applied
  REQUIRE(apply_upd(dst, state));
  set_memory_check(nullptr);
  CHECK(dst.text_length(dt) == 4 + src.text_length(t));
}

TEST_CASE("memory_bytes grows with the document and text_runs counts its runs", "[memory]") {
  Doc d(1);
  RootHandle t = text_of(d);
  const size_t empty = d.memory_bytes();
  CHECK(d.text_runs(t) == 0);
  for (uint32_t i = 0; i < 2000; ++i) REQUIRE(d.text_insert(t, (i * 7919) % (d.text_length(t) + 1), U("x")));
  CHECK(d.text_runs(t) >= 1000);
  CHECK(d.text_runs(t) <= 2000);
  CHECK(d.memory_bytes() > empty + d.text_runs(t) * 48);  // at least an op and a run each
}
