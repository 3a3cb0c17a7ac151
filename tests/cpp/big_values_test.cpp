// Values at the edges of their ranges (issue 6, item 6): counters never wrap, and map values
// holding lone surrogates (as JSON.stringify writes them) are valid JSON.
#include <limits>

#include "test_util.h"

using namespace roomsync;
using namespace roomsync_test;

namespace {
constexpr int64_t kMaxSafe = (int64_t{1} << 53) - 1;
}

TEST_CASE("counters keep the exact sum: no int64 wrap on merge, the same in any order", "[counter]") {
  // Two replicas each add 600 x 2^53-1: each stays in int64, the merged sum (~1.08e19) does not.
  // It used to wrap to a large negative number.
  Doc a(1), b(2);
  RootHandle ca = root_of(a, RootType::Counter, "c"), cb = root_of(b, RootType::Counter, "c");
  for (int i = 0; i < 600; ++i) {
    REQUIRE(a.counter_add(ca, kMaxSafe).ok);
    REQUIRE(b.counter_add(cb, kMaxSafe).ok);
  }
  REQUIRE(apply_upd(a, b.encode_state()).ok);
  REQUIRE(apply_upd(b, a.encode_state()).ok);
  const double exact = 1200.0 * static_cast<double>(kMaxSafe);
  CHECK(a.counter_value(ca) == std::numeric_limits<int64_t>::max());  // saturated, never wrapped
  CHECK(a.counter_value_f64(ca) == exact);
  CHECK(b.counter_value_f64(cb) == exact);
  // Stepping back down lands exactly where it should: the sum was never clipped.
  for (int i = 0; i < 1199; ++i) REQUIRE(a.counter_add(ca, -kMaxSafe).ok);
  CHECK(a.counter_value(ca) == kMaxSafe);
  REQUIRE(a.counter_add(ca, -kMaxSafe).ok);
  REQUIRE(a.counter_add(ca, std::numeric_limits<int64_t>::min()).ok);
  REQUIRE(a.counter_add(ca, std::numeric_limits<int64_t>::min()).ok);
  CHECK(a.counter_value(ca) == std::numeric_limits<int64_t>::min());
  CHECK(a.counter_value_f64(ca) == -18446744073709551616.0);

  // Order independence where int64 saturation per step would diverge.
  Doc x(10), y(11), z(12), p(20), q(21);
  RootHandle cx = root_of(x, RootType::Counter, "c"), cy = root_of(y, RootType::Counter, "c"),
             cz = root_of(z, RootType::Counter, "c");
  REQUIRE(x.counter_add(cx, std::numeric_limits<int64_t>::max()).ok);
  REQUIRE(y.counter_add(cy, std::numeric_limits<int64_t>::max()).ok);
  REQUIRE(z.counter_add(cz, -std::numeric_limits<int64_t>::max()).ok);
  for (Doc* d : {&x, &y, &z}) REQUIRE(apply_upd(p, d->encode_state()).ok);
  for (Doc* d : {&z, &x, &y}) REQUIRE(apply_upd(q, d->encode_state()).ok);
  RootHandle cp = root_of(p, RootType::Counter, "c"), cq = root_of(q, RootType::Counter, "c");
  CHECK(p.counter_value(cp) == std::numeric_limits<int64_t>::max());
  CHECK(q.counter_value(cq) == std::numeric_limits<int64_t>::max());
}

TEST_CASE("map and register values may hold lone surrogates (escaped, as JSON.stringify writes them)",
          "[map][json]") {
  Doc a(1), b(2);
  RootHandle m = root_of(a, RootType::Map, "m"), r = root_of(a, RootType::Register, "r");
  for (const char* v : {R"("\ud800")", R"("x\uDFFFy")", R"(["\udc00", {"k": "\ud83d"}])", R"("\ud83d\ude00")",
                        R"("\\ud800")", R"("\\\ud800")"}) {
    INFO(v);
    Status st = a.map_set(m, "k", v);
    INFO(st.message);
    REQUIRE(st.ok);
    REQUIRE(a.register_set(r, v).ok);
    REQUIRE(apply_upd(b, a.encode_state()).ok);  // and peers accept it too
    RootHandle mb = root_of(b, RootType::Map, "m");
    CHECK(b.map_get(mb, "k") == std::optional<std::string>(v));
  }
  for (const char* bad : {R"("\ud80")", R"("\ud800)", R"(\ud800)", R"("\uZZZZ")", R"("a" "b")", R"("\)"}) {
    INFO(bad);
    Status st = a.map_set(m, "k", bad);
    CHECK_FALSE(st.ok);
    CHECK(st.message == "value is not valid JSON");
  }
}
