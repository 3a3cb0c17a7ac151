// Issue 8: loading streams (apply_update checks the whole update in a first pass over the
// bytes, then integrates op by op in a second). A failure found late, after ops were already
// decoded, still changes nothing; references into ops later in the same update are checked.
#include <cstring>

#include "test_util.h"

using namespace roomsync;
using namespace roomsync_test;

namespace {

// An update by hand (every number below 128, so one byte each): clients 2 and 1; roots text
// "t" and the second root `second_type` "m"; client 2 inserts "x" after client 1's clock 0,
// which only the next section defines: as `later_op`.
Bytes forward_reference(RootType second_type, const Bytes& later_op) {
  Bytes b = {'R', 1, 2, 2, 1, 2, static_cast<uint8_t>(RootType::Text), 1, 't', static_cast<uint8_t>(second_type), 1, 'm',
             2,
             0, 0, 1,                  // section: client index 0 (id 2), clock 0, one op
             1, 4, 0, 0, 1, 'x',       // insert into root 0, left = client index 1 @ 0, no right, "x"
             1, 0, 1};                 // section: client index 1 (id 1), clock 0, one op
  for (uint8_t x : later_op) b.push_back(x);
  return b;
}

Bytes state_of_two_writers() {
  Doc a(1), b(2);
  RootHandle ta = text_of(a), tb = text_of(b);
  REQUIRE(a.text_insert(ta, 0, U("hello world")));
  REQUIRE(apply_upd(b, a.encode_state()));
  REQUIRE(b.text_insert(tb, 5, U(",")));
  REQUIRE(b.text_delete(tb, 0, 1));
  RootHandle m = root_of(b, RootType::Map, "m");
  REQUIRE(b.map_set(m, "k", "1"));
  // b's ops refer to a's. Written one section per client in client order, b's own came first
  // and referred forward; the encoder now writes a's first (issue 8: causal order), so the
  // forward reference is made by hand below.
  return b.encode_state();
}

}  // namespace

TEST_CASE("a state whose first section refers to a later one loads", "[load]") {
  const Bytes state = state_of_two_writers();
  Doc d(3);
  REQUIRE(apply_upd(d, state));
  CHECK(d.text_content(text_of(d)) == U("ello, world"));
  CHECK(d.pending_ops() == 0);

  // By hand: the referenced op is an insert into the same text root.
  Doc e(3);
  REQUIRE(apply_upd(e, forward_reference(RootType::Map, {1 | (0 << 3), 0, 0, 1, 'a'})));
  CHECK(e.text_content(text_of(e, "t")) == U("ax"));
}

TEST_CASE("a reference to a later op that is not text is refused and changes nothing", "[load]") {
  Doc d(3);
  RootHandle t = text_of(d, "t");
  REQUIRE(d.text_insert(t, 0, U("mine")));
  const Bytes before = d.encode_state();
  // The later op is a map write (root 1 is a map): the insert's left origin is not text.
  Status st = apply_upd(d, forward_reference(RootType::Map, {5 | (1 << 3), 1, 'k', 1, '1', 1}));
  CHECK_FALSE(st.ok);
  CHECK(st.message.find("not text") != std::string::npos);
  CHECK(d.encode_state() == before);
  CHECK(d.text_content(t) == U("mine"));
  // An insert into another text root is not this root's text either.
  st = apply_upd(d, forward_reference(RootType::Text, {1 | (1 << 3), 0, 0, 1, 'a'}));
  CHECK_FALSE(st.ok);
  CHECK(d.encode_state() == before);
}

TEST_CASE("a load that fails at its very end changes nothing", "[load]") {
  const Bytes state = state_of_two_writers();
  Doc d(3);
  RootHandle t = text_of(d);
  REQUIRE(d.text_insert(t, 0, U("mine")));
  const Bytes before = d.encode_state();
  const size_t runs = d.text_runs(t);

  Bytes trailing = state;
  trailing.push_back(0);
  Bytes cut(state.begin(), state.end() - 1);
  // The last byte made invalid UTF-8: the last op is a's insert of "hello world".
  Bytes bad_last = state;
  bad_last.back() = 0xff;
  for (const Bytes* bad : {&trailing, &cut, &bad_last}) {
    Status st = apply_upd(d, *bad);
    CHECK_FALSE(st.ok);
    CHECK(d.encode_state() == before);
    CHECK(d.text_content(t) == U("mine"));
    CHECK(d.text_runs(t) == runs);
    CHECK(d.pending_ops() == 0);
  }
  REQUIRE(apply_upd(d, state));  // and the good one still applies
  CHECK(d.text_length(t) == 4 + 11);
}

TEST_CASE("loading a state of many writers gives the same document", "[load]") {
  // Several writers interleaving (origins into one another's runs, splits, deletes), then a
  // load from the merged state: same text, same state bytes.
  std::vector<Doc> docs;
  for (ClientId c = 1; c <= 4; ++c) docs.emplace_back(c * 7919);
  uint32_t x = 12345;
  auto rnd = [&](uint32_t n) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    return x % n;
  };
  for (int round = 0; round < 30; ++round) {
    for (Doc& d : docs) {
      RootHandle t = text_of(d);
      for (int k = 0; k < 5; ++k) {
        uint32_t len = d.text_length(t);
        if (len > 3 && rnd(3) == 0) REQUIRE(d.text_delete(t, rnd(len - 1), 1 + rnd(2)));
        else REQUIRE(d.text_insert(t, rnd(len + 1), U("ab")));
      }
    }
    Doc& a = docs[rnd(4)];
    Doc& b = docs[rnd(4)];
    REQUIRE(apply_upd(a, b.encode_state()));
  }
  for (Doc& a : docs)
    for (Doc& b : docs) REQUIRE(apply_upd(a, b.encode_state()));
  const Bytes state = docs[2].encode_state();
  Doc loaded(99);
  REQUIRE(apply_upd(loaded, state));
  CHECK(loaded.text_content(text_of(loaded)) == docs[0].text_content(text_of(docs[0])));
  CHECK(loaded.pending_ops() == 0);
  Doc again(98);  // and its own state loads again
  REQUIRE(apply_upd(again, loaded.encode_state()));
  CHECK(again.text_content(text_of(again)) == loaded.text_content(text_of(loaded)));
  CHECK(again.state_vector().size() == docs[2].state_vector().size());
}

TEST_CASE("sections of one client may come in any clock order but never overlap", "[load]") {
  // Client 1 inserts "c" at clock 2 after its clock 1, in a section before the one with
  // clocks 0 and 1 ("ab", or "abc" at clocks 0..2, which overlaps).
  auto update = [](const char* first) {
    Bytes b = {'R', 1, 1, 1, 1, static_cast<uint8_t>(RootType::Text), 1, 't', 2,
               0, 2, 1, 1, 1, 0, 1, 'c',  // section: clock 2, one op: insert after 1@1, "c"
               0, 0, 1, 1, 0, 0};         // section: clock 0, one op: insert at the start...
    b.push_back(static_cast<uint8_t>(std::strlen(first)));
    for (const char* p = first; *p; ++p) b.push_back(static_cast<uint8_t>(*p));
    return b;
  };
  Doc d(3);
  REQUIRE(apply_upd(d, update("ab")));
  CHECK(d.text_content(text_of(d, "t")) == U("abc"));
  Doc e(3);
  Status st = apply_upd(e, update("abc"));
  CHECK_FALSE(st.ok);
  CHECK(st.message.find("overlap") != std::string::npos);
  CHECK(e.text_content(text_of(e, "t")).empty());
}
