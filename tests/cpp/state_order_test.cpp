// Issue 8: the state of a concurrent session is written in causal order (every op after the ops
// it refers to), so a loading document integrates op by op and holds nothing back as pending;
// and a text insert that continues the previous one of its section travels as part of it.
#include <algorithm>
#include <string>

#include "codec/update_codec.h"
#include "test_util.h"

using namespace roomsync;
using namespace roomsync_test;

namespace {

struct Shape {
  size_t ops = 0, inserts = 0;
  size_t ahead = 0;  // ops referring to a clock of another client not yet seen in the update
};

// Decodes `u` (a whole state: everything it refers to is in it) and tells its shape.
Shape shape_of(const Bytes& u) {
  Shape s;
  std::vector<uint32_t> seen;  // per update client: clocks below this came earlier
  auto visit = [&](RemoteOp& op) -> Status {
    if (seen.size() <= op.client) seen.resize(op.client + 1, 0);
    auto unseen = [&](Id id) {
      return !is_none(id) && id.client != op.client && (id.client >= seen.size() || id.clock >= seen[id.client]);
    };
    if (op.kind == OpKind::Insert) {
      ++s.inserts;
      s.ahead += unseen(op.left) || unseen(op.right);
    } else if (op.kind == OpKind::Delete) {
      s.ahead += unseen(Id{op.left.client, op.left.clock + op.len - 1});
    }
    seen[op.client] = std::max(seen[op.client], op.clock + op.len);
    ++s.ops;
    return {};
  };
  DecodedUpdate d;
  Status st = decode_update(u.data(), u.size(), &d, visit);
  INFO(st.message);
  REQUIRE(st.ok);
  return s;
}

struct Rng {
  uint32_t x;
  uint32_t operator()(uint32_t n) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x % n;
  }
};

// Text that is ASCII, two-byte, three-byte, or a surrogate pair (or one lone half of one).
std::u16string some_text(Rng& rnd) {
  static const char16_t* const pieces[] = {u"a", u"bc", u"def ", u"é", u"€", u"\xD83D\xDE00", u"\xD83D", u"\xDE00"};
  std::u16string s;
  for (uint32_t n = 1 + rnd(3); n > 0; --n) s += pieces[rnd(8)];
  return s;
}

}  // namespace

TEST_CASE("state order: a concurrent session's states load with nothing pending, merged in any order",
          "[load][state-order]") {
  for (uint32_t seed : {1u, 2u, 3u, 4u, 5u}) {
    INFO("seed " << seed);
    Rng rnd{seed * 2654435761u};
    Doc docs[3] = {Doc(11), Doc(22), Doc(33)};
    for (int round = 0; round < 40; ++round) {
      for (Doc& d : docs) {
        RootHandle t = text_of(d);
        RootHandle l = root_of(d, RootType::List, "list");
        for (uint32_t k = rnd(4); k > 0; --k) {
          const uint32_t len = d.text_length(t);
          // Positions that split a pair are refused (nothing changes): fine for a random session.
          if (len > 4 && rnd(3) == 0) (void)d.text_delete(t, rnd(len - 2), 1 + rnd(3));
          else (void)d.text_insert(t, rnd(3) == 0 ? len : rnd(len + 1), some_text(rnd));
        }
        const uint32_t n = d.list_length(l);
        if (n > 2 && rnd(4) == 0) REQUIRE(d.list_delete(l, rnd(n - 1), 1));
        else if (rnd(2) == 0) REQUIRE(d.list_insert(l, rnd(n + 1), {"1", "[2]"}));
      }
      // Partial syncs: a delta from one replica to another, now and then a whole state.
      for (int s = 0; s < 2; ++s) {
        Doc& from = docs[rnd(3)];
        Doc& to = docs[rnd(3)];
        if (&from == &to) continue;
        REQUIRE(apply_upd(to, rnd(4) == 0 ? from.encode_state() : since(from, to.state_vector())));
        REQUIRE(to.pending_ops() == 0);
      }
      if (round % 8 != 7) continue;
      for (Doc& d : docs) {
        const Bytes state = d.encode_state();
        CHECK(shape_of(state).ahead == 0);
        Doc loaded(99);
        REQUIRE(apply_upd(loaded, state));
        CHECK(loaded.pending_ops() == 0);
        CHECK(loaded.text_content(text_of(loaded)) == d.text_content(text_of(d)));
        CHECK(loaded.list_content(root_of(loaded, RootType::List, "list")) ==
              d.list_content(root_of(d, RootType::List, "list")));
      }
    }
    // The replicas' states as they are (concurrent), merged in every order into a fresh
    // document, equal the replicas once they have synced.
    std::vector<Bytes> states;
    for (Doc& d : docs) states.push_back(d.encode_state());
    for (Doc& a : docs)
      for (Doc& b : docs) REQUIRE(apply_upd(a, since(b, a.state_vector())));
    const std::u16string text = docs[0].text_content(text_of(docs[0]));
    const std::string list = docs[0].list_content(root_of(docs[0], RootType::List, "list"));
    for (Doc& d : docs) {
      REQUIRE(d.text_content(text_of(d)) == text);
      CHECK(shape_of(d.encode_state()).ahead == 0);
    }
    int order[3] = {0, 1, 2};
    do {
      Doc m(98);
      for (int i : order) {
        REQUIRE(apply_upd(m, states[i]));
        CHECK(m.pending_ops() == 0);
      }
      CHECK(m.text_content(text_of(m)) == text);
      CHECK(m.list_content(root_of(m, RootType::List, "list")) == list);
    } while (std::next_permutation(order, order + 3));
  }
}

TEST_CASE("state order: typing resumed after remote text travels as one insert", "[load][state-order]") {
  Doc a(1), b(2);
  RootHandle ta = text_of(a), tb = text_of(b);
  REQUIRE(a.text_insert(ta, 0, U("hello")));
  REQUIRE(apply_upd(b, a.encode_state()));
  REQUIRE(b.text_insert(tb, 0, U(">> ")));
  REQUIRE(apply_upd(a, b.encode_state()));  // b's text lands in a's text arena between...
  REQUIRE(a.text_insert(ta, a.text_length(ta), U(" world")));  // ...this typing and the typing before
  REQUIRE(a.text_content(ta) == U(">> hello world"));
  const Bytes state = a.encode_state();
  CHECK(shape_of(state).inserts == 2);  // "hello world" as one insert, and b's
  Doc loaded(3);
  REQUIRE(apply_upd(loaded, state));
  CHECK(loaded.text_content(text_of(loaded)) == a.text_content(ta));
}

TEST_CASE("state order: the halves of a surrogate pair typed apart still load", "[load][state-order]") {
  Doc a(1), b(2);
  RootHandle ta = text_of(a), tb = text_of(b);
  REQUIRE(a.text_insert(ta, 0, u"x\xD83D"));  // a lone high half...
  REQUIRE(apply_upd(b, a.encode_state()));
  REQUIRE(b.text_insert(tb, 0, U("y")));
  REQUIRE(apply_upd(a, b.encode_state()));
  REQUIRE(a.text_insert(ta, a.text_length(ta), u"\xDE00z"));  // ...then the low one, typing on
  REQUIRE(a.text_content(ta) == u"yx\xD83D\xDE00z");
  // Written as one string, the halves would be two 3-byte sequences in a row: not WTF-8.
  const Bytes state = a.encode_state();
  CHECK(shape_of(state).inserts == 3);
  Doc loaded(3);
  Status st = apply_upd(loaded, state);
  INFO(st.message);
  REQUIRE(st.ok);
  CHECK(loaded.text_content(text_of(loaded)) == a.text_content(ta));
}
