// Merging many small remote updates (issue 8, concurrent merge): the checks of an update's
// client and root tables (a scan for short tables, a hash set for long ones), overlaps between
// sections of one client, small updates (decoded once, their ops kept) after big and refused
// ones, and inserts whose origins sit inside runs.
#include <random>

#include "test_util.h"

using namespace roomsync;
using namespace roomsync_test;

namespace {

// A hand-made update (format v1): a client table, a root table and sections of text inserts
// without origins, each { client index, start clock, one insert of `text` into root 0 }.
struct Section {
  uint32_t client, clock;
  std::string text;
};
Bytes make_update(const std::vector<uint64_t>& clients, const std::vector<std::pair<RootType, std::string>>& roots,
                  const std::vector<Section>& sections) {
  Bytes u = {'R', 1};
  leb(u, clients.size());
  for (uint64_t c : clients) leb(u, c);
  leb(u, roots.size());
  for (const auto& [type, name] : roots) {
    u.push_back(static_cast<uint8_t>(type));
    leb(u, name.size());
    u.insert(u.end(), name.begin(), name.end());
  }
  leb(u, sections.size());
  for (const Section& s : sections) {
    leb(u, s.client);
    leb(u, s.clock);
    u.push_back(1);  // one op
    u.push_back(1);  // insert into root 0
    u.push_back(0);  // no left origin
    u.push_back(0);  // no right origin
    leb(u, s.text.size());
    u.insert(u.end(), s.text.begin(), s.text.end());
  }
  return u;
}

std::u16string text_now(Doc& d) { return d.text_content(text_of(d)); }

}  // namespace

TEST_CASE("merge: a client listed twice is refused, in short and long client tables", "[merge][garbage]") {
  for (uint64_t n : {3u, 15u, 16u, 17u, 40u}) {
    INFO("clients: " << n);
    std::vector<uint64_t> clients;
    for (uint64_t i = 0; i < n; ++i) clients.push_back(100 + i);
    const std::vector<std::pair<RootType, std::string>> roots = {{RootType::Text, "text"}};
    Doc d(9);
    const Bytes before = d.encode_state();
    // Every position of the duplicate: the first entry again, then the last one again.
    for (uint64_t dup : {clients.front(), clients.back()}) {
      std::vector<uint64_t> bad = clients;
      bad.push_back(dup);
      Status st = apply_upd(d, make_update(bad, roots, {{0, 0, "a"}}));
      CHECK_FALSE(st.ok);
      CHECK(st.message.find("listed twice") != std::string::npos);
      CHECK(d.encode_state() == before);
    }
    REQUIRE(apply_upd(d, make_update(clients, roots, {{static_cast<uint32_t>(n - 1), 0, "a"}})).ok);
    CHECK(text_now(d) == U("a"));
  }
}

TEST_CASE("merge: a root declared twice is refused, in short and long root tables", "[merge][garbage]") {
  for (size_t n : {2u, 15u, 16u, 30u}) {
    INFO("roots: " << n);
    std::vector<std::pair<RootType, std::string>> roots = {{RootType::Text, "text"}};
    for (size_t i = 1; i < n; ++i) roots.push_back({RootType::Text, "t" + std::to_string(i)});
    Doc d(9);
    const Bytes before = d.encode_state();
    auto bad = roots;
    bad.push_back(roots[n / 2]);
    Status st = apply_upd(d, make_update({7}, bad, {{0, 0, "a"}}));
    CHECK_FALSE(st.ok);
    CHECK(st.message.find("declared twice") != std::string::npos);
    CHECK(d.encode_state() == before);
    // The same name with another type is another root.
    auto other = roots;
    other.push_back({RootType::Map, roots[n / 2].second});
    REQUIRE(apply_upd(d, make_update({7}, other, {{0, 0, "a"}})).ok);
    CHECK(text_now(d) == U("a"));
  }
}

TEST_CASE("merge: sections of one client that overlap are refused, also with another client between", "[merge][garbage]") {
  const std::vector<std::pair<RootType, std::string>> roots = {{RootType::Text, "text"}};
  Doc d(9);
  const Bytes before = d.encode_state();
  // Client 0 has clocks 0..2, client 1 clock 0, then client 0 again from clock 2: overlap.
  Status st = apply_upd(d, make_update({5, 6}, roots, {{0, 0, "abc"}, {1, 0, "x"}, {0, 2, "y"}}));
  CHECK_FALSE(st.ok);
  CHECK(st.message.find("overlap at clock 2") != std::string::npos);
  CHECK(d.encode_state() == before);
  // Sections given in any order, overlapping an earlier one from below.
  st = apply_upd(d, make_update({5, 6}, roots, {{0, 3, "de"}, {1, 0, "x"}, {0, 1, "yzw"}}));
  CHECK_FALSE(st.ok);
  CHECK(st.message.find("overlap at clock") != std::string::npos);  // where depends on the order read
  CHECK(d.encode_state() == before);
  // Adjacent sections do not overlap.
  REQUIRE(apply_upd(d, make_update({5, 6}, roots, {{0, 3, "de"}, {1, 0, "x"}, {0, 0, "abc"}})).ok);
  CHECK(text_now(d).size() == 6);
}

TEST_CASE("merge: small updates after a big one and after a refused one", "[merge]") {
  std::mt19937 rng(8);
  Doc a(1);
  RootHandle t = text_of(a);
  for (int i = 0; i < 600; ++i) {  // random positions: hundreds of runs, a state of many ops
    uint32_t pos = static_cast<uint32_t>(rng() % (a.text_content(t).size() + 1));
    REQUIRE(a.text_insert(t, pos, U(i % 3 ? "x" : "yz")).ok);
  }
  Doc b(2);
  REQUIRE(apply_upd(b, a.encode_state()).ok);
  CHECK(text_now(b) == a.text_content(t));
  for (int i = 0; i < 200; ++i) {
    const Bytes sv = b.state_vector();
    uint32_t pos = static_cast<uint32_t>(rng() % (a.text_content(t).size() + 1));
    REQUIRE(a.text_insert(t, pos, U("k")).ok);
    if (i % 7 == 0) {
      uint32_t at = static_cast<uint32_t>(rng() % a.text_content(t).size());
      REQUIRE(a.text_delete(t, at, 1).ok);
    }
    if (i % 10 == 0) {  // a refused update in between leaves nothing behind for the next one
      Bytes bad = since(a, sv);
      bad.push_back(0);
      CHECK_FALSE(apply_upd(b, bad).ok);
    }
    REQUIRE(apply_upd(b, since(a, sv)).ok);
    REQUIRE(text_now(b) == a.text_content(t));
  }
}

TEST_CASE("merge: remote inserts with origins inside runs, in order and in reverse", "[merge]") {
  // One author types at random places into long runs; every change travels as its own update,
  // so most origins sit inside runs of the receiver and leaves split on the way.
  std::mt19937 rng(88);
  Doc a(1);
  RootHandle t = text_of(a);
  REQUIRE(a.text_insert(t, 0, U(std::string(300, 'a').c_str())).ok);
  std::vector<Bytes> updates = {a.encode_state()};
  for (int i = 0; i < 1500; ++i) {
    const Bytes sv = a.state_vector();
    const uint32_t len = static_cast<uint32_t>(a.text_content(t).size());
    if (i % 5 == 4 && len > 10) {
      REQUIRE(a.text_delete(t, static_cast<uint32_t>(rng() % (len - 3)), 1 + static_cast<uint32_t>(rng() % 3)).ok);
    } else {
      REQUIRE(a.text_insert(t, static_cast<uint32_t>(rng() % (len + 1)), U(i % 2 ? "b" : "cd")).ok);
    }
    updates.push_back(since(a, sv));
  }
  Doc fwd(2), rev(3);
  for (const Bytes& u : updates) REQUIRE(apply_upd(fwd, u).ok);
  for (auto it = updates.rbegin(); it != updates.rend(); ++it) REQUIRE(apply_upd(rev, *it).ok);
  CHECK(text_now(fwd) == a.text_content(t));
  CHECK(text_now(rev) == a.text_content(t));
  CHECK(rev.pending_ops() == 0);
}

// Merge speed: apply_update keeps its tables from one small update to the next.
TEST_CASE("merge: a refused update leaves no references behind for the next one", "[merge][garbage]") {
  // Clients 2 and 1; client 2 inserts "x" after client 1's clock 0, which the next section
  // defines: a reference checked at the end of the update. A trailing byte refuses it.
  const Bytes forward = {'R', 1, 2, 2, 1, 1, static_cast<uint8_t>(RootType::Text), 1, 't', 2,
                         0, 0, 1, 1, 4, 0, 0, 1, 'x',   // client index 0 @ 0: insert after index 1 @ 0
                         1, 0, 1, 1, 0, 0, 1, 'a'};     // client index 1 @ 0: insert "a"
  Bytes bad = forward;
  bad.push_back(0);
  Doc d(9);
  CHECK_FALSE(apply_upd(d, bad).ok);
  CHECK(d.pending_ops() == 0);
  // Here client index 1 @ 0 is a map write: the refused update's reference, checked again
  // against this update, would refuse it.
  const Bytes next = {'R', 1, 2, 7, 8, 2, static_cast<uint8_t>(RootType::Text), 1, 't', static_cast<uint8_t>(RootType::Map), 1, 'm', 2,
                      0, 0, 1, 1, 0, 0, 1, 'b',          // client index 0 @ 0: insert "b"
                      1, 0, 1, 5 | (1 << 3), 1, 'k', 1, '1', 1};  // client index 1 @ 0: m.k = 1
  REQUIRE(apply_upd(d, next).ok);
  CHECK(d.text_content(text_of(d, "t")) == U("b"));
  REQUIRE(apply_upd(d, forward).ok);
  CHECK(d.text_content(text_of(d, "t")).size() == 3);
}

TEST_CASE("merge: an update applied again changes nothing, but still registers new clients and roots", "[merge]") {
  const std::vector<std::pair<RootType, std::string>> roots = {{RootType::Text, "text"}};
  Doc d(9);
  const Bytes u = make_update({5}, roots, {{0, 0, "ab"}});
  REQUIRE(apply_upd(d, u).ok);
  const Bytes state = d.encode_state();
  REQUIRE(apply_upd(d, u).ok);
  REQUIRE(apply_upd(d, state).ok);
  CHECK(d.encode_state() == state);
  // Nothing new to integrate, but the tables name a client and a root this document lacks.
  CHECK_FALSE(d.knows_client(6));
  REQUIRE(apply_upd(d, make_update({5, 6}, roots, {{0, 0, "ab"}})).ok);
  CHECK(d.knows_client(6));
  REQUIRE(apply_upd(d, make_update({5}, {{RootType::Text, "text"}, {RootType::Map, "m"}}, {{0, 0, "ab"}})).ok);
  bool has_map = false;
  for (const auto& r : d.roots()) has_map |= r.type == RootType::Map && r.name == "m";
  CHECK(has_map);
  CHECK(text_now(d) == U("ab"));
}

// Big updates whose ops wait for later ones in the same update (a state's sections refer to
// each other) are integrated after the update is read; what waits for other updates still
// waits in the pending map, and what waited there gets another look.
TEST_CASE("merge: big updates whose ops refer to each other, to ops held earlier and to ops still missing", "[merge][load]") {
  std::mt19937 rng(808);
  auto type_into = [&](Doc& d, int n) {  // keystrokes at random places, now and then a delete
    RootHandle t = text_of(d);
    for (int i = 0; i < n; ++i) {
      const uint32_t len = static_cast<uint32_t>(d.text_content(t).size());
      if (i % 9 == 8 && len > 2) REQUIRE(d.text_delete(t, static_cast<uint32_t>(rng() % (len - 1)), 2).ok);
      else REQUIRE(d.text_insert(t, static_cast<uint32_t>(rng() % (len + 1)), U(i % 2 ? "ab" : "c")).ok);
    }
  };
  Doc a(1), b(2), c(3);
  type_into(a, 1500);
  REQUIRE(apply_upd(b, a.encode_state()).ok);
  const Bytes b_knew_a = b.state_vector();
  type_into(b, 1500);
  REQUIRE(apply_upd(a, since(b, a.state_vector())).ok);
  type_into(a, 500);  // a and b now refer to each other's ops, back and forth
  REQUIRE(apply_upd(b, since(a, b.state_vector())).ok);
  type_into(b, 500);
  REQUIRE(apply_upd(c, b.encode_state()).ok);
  const Bytes c_knew_b = c.state_vector();
  type_into(c, 300);
  const std::u16string want_b = b.text_content(text_of(b)), want_c = c.text_content(text_of(c));
  const Bytes b_state = b.encode_state(), b_only = since(b, b_knew_a), c_only = since(c, c_knew_b);
  REQUIRE(b_state.size() > 4096);
  REQUIRE(b_only.size() > 4096);

  // c's ops first (they wait in the pending map), then b's whole state.
  Doc d(9);
  REQUIRE(apply_upd(d, c_only).ok);
  CHECK(d.pending_ops() > 0);
  REQUIRE(apply_upd(d, b_state).ok);
  CHECK(d.pending_ops() == 0);
  CHECK(d.text_content(text_of(d)) == want_c);

  // b's ops since it first heard of a, without a's first ops: most wait; a's state releases them.
  Doc e(9);
  REQUIRE(apply_upd(e, b_only).ok);
  CHECK(e.pending_ops() > 0);
  REQUIRE(apply_upd(e, a.encode_state()).ok);
  CHECK(e.pending_ops() == 0);
  CHECK(e.text_content(text_of(e)) == want_b);  // a typed more than b saw: compare b's view
}
