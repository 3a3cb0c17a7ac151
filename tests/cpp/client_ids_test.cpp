// Client ids must be unique per replica: a document refuses ops of its own client id that it
// did not make (issue 6, item 2), and says so with a code the rooms layer can act on.
#include "test_util.h"

using namespace roomsync;
using namespace roomsync_test;

namespace {

void require_collision(Doc& d, const Bytes& update) {
  const Bytes before = d.encode_state();
  const size_t pending = d.pending_ops();
  Status st = apply_upd(d, update);
  INFO(st.message);
  REQUIRE_FALSE(st.ok);
  CHECK(st.code == Status::kClientIdCollision);
  CHECK(st.message.rfind("client id collision: ", 0) == 0);
  CHECK(d.encode_state() == before);  // untouched
  CHECK(d.pending_ops() == pending);
}

}  // namespace

TEST_CASE("two replicas with one client id: full states exchanged both ways are refused", "[clients]") {
  // The scenario: no error, pending 0 and two texts for good. Equal lengths, so the
  // clocks match and only the content tells the two histories apart.
  Doc a(99), b(99);
  RootHandle ta = text_of(a), tb = text_of(b);
  REQUIRE(a.text_insert(ta, 0, U("hello")).ok);
  REQUIRE(b.text_insert(tb, 0, U("world")).ok);
  require_collision(a, b.encode_state());
  require_collision(b, a.encode_state());
  // Longer history on one side: clocks beyond the receiver's own.
  REQUIRE(b.text_insert(tb, 5, U("!!")).ok);
  require_collision(a, b.encode_state());
  require_collision(b, a.encode_state());
  CHECK(u8(a.text_content(ta)) == "hello");
  CHECK(u8(b.text_content(tb)) == "world!!");
}

TEST_CASE("client id collisions on every op kind, and in updates that need no state", "[clients]") {
  Doc a(7);
  RootHandle m = root_of(a, RootType::Map, "m"), c = root_of(a, RootType::Counter, "c"), t = text_of(a);
  REQUIRE(a.text_insert(t, 0, U("abcdef")).ok);  // 7@0..5
  REQUIRE(a.text_delete(t, 1, 2).ok);            // 7@6..7
  REQUIRE(a.map_set(m, "k", "1").ok);            // 7@8
  REQUIRE(a.counter_add(c, 5).ok);               // 7@9
  const Bytes sv_empty = empty_sv();

  SECTION("delete target, map value or counter step differ at the same clocks") {
    auto other = [&](int which) {
      Doc o(7);
      RootHandle om = root_of(o, RootType::Map, "m"), oc = root_of(o, RootType::Counter, "c"), ot = text_of(o);
      REQUIRE(o.text_insert(ot, 0, U("abcdef")).ok);
      REQUIRE(o.text_delete(ot, which == 0 ? 2 : 1, 2).ok);
      REQUIRE(o.map_set(om, "k", which == 1 ? "2" : "1").ok);
      REQUIRE(o.counter_add(oc, which == 2 ? 6 : 5).ok);
      return o.encode_state();
    };
    for (int which = 0; which < 3; ++which) {
      INFO("difference " << which);
      require_collision(a, other(which));
    }
  }
  SECTION("its own history echoed back by a peer is accepted (idempotence)") {
    Doc peer(8);
    REQUIRE(apply_upd(peer, a.encode_state()).ok);
    RootHandle tp = text_of(peer);
    REQUIRE(peer.text_insert(tp, 0, U("P")).ok);
    const Bytes before = a.encode_state();
    Status st = apply_upd(a, peer.encode_state());
    INFO(st.message);
    REQUIRE(st.ok);
    CHECK(u8(a.text_content(t)) == "Padef");
    CHECK(apply_upd(a, since(peer, sv_empty)).ok);
    CHECK(apply_upd(a, a.encode_state()).ok);
    CHECK(before != a.encode_state());
  }
  SECTION("a saved state does not load into a document with the same client id") {
    Doc restored(7);
    require_collision(restored, a.encode_state());
    Doc fresh(70);
    CHECK(apply_upd(fresh, a.encode_state()).ok);
  }
}

TEST_CASE("knows_client tells which client ids a joining replica must not use", "[clients]") {
  Doc a(1), b(2), c(3);
  RootHandle tb = text_of(b);
  REQUIRE(b.text_insert(tb, 0, U("x")).ok);
  CHECK(a.knows_client(1));
  CHECK_FALSE(a.knows_client(2));
  REQUIRE(apply_upd(a, b.encode_state()).ok);
  CHECK(a.knows_client(2));
  CHECK_FALSE(a.knows_client(3));
  (void)c;
}
