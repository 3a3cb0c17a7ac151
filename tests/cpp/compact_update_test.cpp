// The compact form of a one-op update (issue 8, layout in cpp/codec/update_codec.h): what a
// keystroke sends. It must stay self-contained (any receiver, any order, idempotent, held until
// its parents arrive), reject truncated or corrupted bytes, and leave version 1 readable.
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "codec/update_codec.h"
#include "test_util.h"

using namespace roomsync;
using namespace roomsync_test;

namespace {

bool compact(const Bytes& u) { return !u.empty() && (u[0] & 0x80); }

// The update of `d`'s last implicit transaction.
Bytes last(Doc& d) { return d.take_last_result().update; }

// Applies `u` to `d` and checks that it failed with a message and changed nothing.
void expect_rejected(Doc& d, const Bytes& u) {
  const Bytes before = d.encode_state();
  const size_t pending = d.pending_ops();
  Status st = apply_upd(d, u);
  INFO("update of " << u.size() << " bytes: " << st.message);
  CHECK_FALSE(st.ok);
  CHECK_FALSE(st.message.empty());
  CHECK(d.encode_state() == before);
  CHECK(d.pending_ops() == pending);
}

// Two writers and the updates their keystrokes sent, in order: every kind of compact op.
struct Session {
  Doc a{0x1f2e3d4c5b6a7ull}, b{0x0a0b0c0d0e0full};
  RootHandle ta = 0, tb = 0, la = 0, na = 0;
  std::vector<Bytes> updates;  // every update either writer sent, in the order they were made

  Session() {
    a.set_capture_updates(true);
    b.set_capture_updates(true);
    ta = text_of(a);
    la = root_of(a, RootType::List, "list");
    na = text_of(a, "a root name of more than fifteen bytes");
  }
  // Sends a's last update to b; `want` says whether it should be compact.
  void send_a(bool want = true) {
    updates.push_back(last(a));
    CHECK(compact(updates.back()) == want);
    REQUIRE(apply_upd(b, updates.back()).ok);
  }
  void run() {
    auto ins = [&](uint32_t pos, std::u16string s) {
      REQUIRE(a.text_insert(ta, pos, s).ok);
      send_a();
    };
    auto del = [&](uint32_t pos, uint32_t n) {
      REQUIRE(a.text_delete(ta, pos, n).ok);
      send_a();
    };
    ins(0, u"h");    // h0: left none, right none
    ins(1, u"e");    // e1: typing on, right none
    ins(2, u"llo");  // l2 l3 o4: a paste, so a length follows
    ins(1, u"E");    // E5: left own h0, right = left + 1
    ins(2, u"X");    // X6: typing on, right own e1
    ins(7, U("é"));  // é7: two bytes, left own o4
    ins(8, U("中"));  // 中8: three bytes
    ins(9, U("😀"));  // 9-10: a surrogate pair, so a length follows
    ins(11, std::u16string(1, u'\xD800'));  // a lone surrogate
    CHECK(u8(a.text_content(ta)) == u8(U("hEXelloé中😀") + std::u16string(1, u'\xD800')));
    del(11, 1);  // forward, one
    del(3, 2);   // forward, e1 l2: a length follows
    del(6, 1);   // backspace over 中8, then é7: the log merges them into one backward run
    del(5, 1);
    CHECK(u8(a.text_content(ta)) == u8(U("hEXlo😀")));
    // The other writer's text: origins and targets of another client travel inline.
    tb = text_of(b);
    REQUIRE(b.text_insert(tb, 1, u"bb").ok);  // left h0 and right E5 are a's
    updates.push_back(last(b));
    CHECK(compact(updates.back()));
    REQUIRE(apply_upd(a, updates.back()).ok);
    ins(1, u"q");  // left own h0, right b's first b
    ins(4, u"a");  // left b's second b, right own E5
    del(2, 1);     // b's first b
    CHECK(u8(a.text_content(ta)) == u8(U("hqbaEXlo😀")));
    // Other roots: a name of more than 15 bytes; a list (its values travel in version 1).
    REQUIRE(a.text_insert(na, 0, u"n").ok);
    send_a();
    REQUIRE(a.list_insert(la, 0, {"1", "2", "3"}).ok);
    send_a(false);
    REQUIRE(a.list_delete(la, 1, 1).ok);
    send_a();
  }
};

}  // namespace

TEST_CASE("compact update: every kind of keystroke round-trips, in order and in any order",
          "[codec][compact]") {
  Session s;
  s.run();
  CHECK(u8(s.a.text_content(s.ta)) == u8(s.b.text_content(s.tb)));
  CHECK(s.a.list_content(s.la) == s.b.list_content(root_of(s.b, RootType::List, "list")));
  const Bytes want = s.a.encode_state();

  // A late joiner gets them backwards: each waits for its parents, then all integrate.
  Doc c(0x77);
  for (size_t i = s.updates.size(); i-- > 0;) REQUIRE(apply_upd(c, s.updates[i]).ok);
  CHECK(c.pending_ops() == 0);
  // And again, out of order and twice: nothing changes (idempotent).
  for (size_t i = 0; i < s.updates.size(); i += 2) REQUIRE(apply_upd(c, s.updates[i]).ok);
  for (size_t i = 1; i < s.updates.size(); i += 2) REQUIRE(apply_upd(c, s.updates[i]).ok);
  Doc fresh_a(0x78), fresh_c(0x79);
  REQUIRE(apply_upd(fresh_a, want).ok);
  const Bytes from_c = c.encode_state();
  REQUIRE(apply_upd(fresh_c, from_c).ok);
  CHECK(fresh_c.encode_state() == fresh_a.encode_state());
  CHECK(u8(c.text_content(text_of(c))) == u8(s.a.text_content(s.ta)));
}

TEST_CASE("an update captured from a transaction that took remote ops before capture was on carries them",
          "[codec][compact]") {
  // Remote ops note the other clients' clocks only while updates are captured (merge speed); a
  // listener added inside the transaction must still get every op the transaction integrated.
  Doc a(0x61), b(0x62);
  RootHandle ta = text_of(a), tb = text_of(b);
  REQUIRE(a.text_insert(ta, 0, U("hello")).ok);
  REQUIRE(b.text_insert(tb, 0, U("x")).ok);
  Doc c(0x63);  // a peer that has b's state from before the transaction
  REQUIRE(apply_upd(c, b.encode_state()).ok);
  b.begin();
  REQUIRE(apply_upd(b, a.encode_state()).ok);
  b.set_capture_updates(true);
  REQUIRE(b.text_insert(tb, 0, U(">")).ok);
  const TransactionResult r = b.commit();
  REQUIRE(!r.update.empty());
  REQUIRE(apply_upd(c, r.update).ok);
  CHECK(c.pending_ops() == 0);
  CHECK(u8(c.text_content(text_of(c))) == u8(b.text_content(tb)));
  CHECK(u8(b.text_content(tb)).find("hello") != std::string::npos);
}

TEST_CASE("compact update: the bytes of the first two keystrokes (the format is pinned)", "[codec][compact]") {
  Doc a(5);
  a.set_capture_updates(true);
  RootHandle t = text_of(a);
  REQUIRE(a.text_insert(t, 0, U("h")).ok);
  // head (Text, name length 4), "text", client 5 with form 1 (bit 53), clock 0, right none,
  // left none, 'h'.
  CHECK(last(a) == Bytes{0x84, 't', 'e', 'x', 't', 5, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 'h'});
  REQUIRE(a.text_insert(t, 1, U("i")).ok);
  // form 0 (typing on), clock 1, right none, 'i'.
  CHECK(last(a) == Bytes{0x84, 't', 'e', 'x', 't', 5, 0, 0, 0, 0, 0, 0, 1, 0, 'i'});
  REQUIRE(a.text_delete(t, 0, 2).ok);
  // form 2 with a length (bits 53 and 55), clock 2, target own clock 0 (1 + 2 * 1), length 2.
  CHECK(last(a) == Bytes{0x84, 't', 'e', 'x', 't', 5, 0, 0, 0, 0, 0, 0xc0, 2, 3, 2});
}

TEST_CASE("compact update: version-1 updates from fixed bytes still apply", "[codec][compact]") {
  // What this build's predecessor sent for client 5 typing "hi", "!" and deleting the "h".
  const Bytes hi = {'R', 1, 1, 5, 1, 1, 4, 't', 'e', 'x', 't', 1, 0, 0, 1, 0x01, 0, 0, 2, 'h', 'i'};
  const Bytes bang = {'R', 1, 1, 5, 1, 1, 4, 't', 'e', 'x', 't', 1, 0, 2, 1, 0x01, 1, 0, 1, '!'};
  const Bytes del_h = {'R', 1, 1, 5, 1, 1, 4, 't', 'e', 'x', 't', 1, 0, 3, 1, 0x83, 5};
  Doc old_bytes(0x70);
  REQUIRE(apply_upd(old_bytes, del_h).ok);
  REQUIRE(apply_upd(old_bytes, bang).ok);
  CHECK(old_bytes.pending_ops() == 2);
  REQUIRE(apply_upd(old_bytes, hi).ok);
  CHECK(old_bytes.pending_ops() == 0);
  CHECK(u8(old_bytes.text_content(text_of(old_bytes))) == "i!");

  // The same edits sent today (compact) give the very same document.
  Doc a(5);
  a.set_capture_updates(true);
  RootHandle t = text_of(a);
  Doc new_bytes(0x70);
  REQUIRE(a.text_insert(t, 0, U("hi")).ok);
  const Bytes u1 = last(a);
  REQUIRE(a.text_insert(t, 2, U("!")).ok);
  const Bytes u2 = last(a);
  REQUIRE(a.text_delete(t, 0, 1).ok);
  const Bytes u3 = last(a);
  CHECK((compact(u1) && compact(u2) && compact(u3)));
  for (const Bytes* u : {&u3, &u2, &u1}) REQUIRE(apply_upd(new_bytes, *u).ok);
  CHECK(new_bytes.encode_state() == old_bytes.encode_state());
}

TEST_CASE("compact update: truncated, extended and corrupted updates are rejected and change nothing",
          "[codec][compact][garbage]") {
  Session s;
  s.run();
  // A receiver that has every parent: any prefix that decoded would apply.
  Doc c(0x77);
  for (const Bytes& u : s.updates) REQUIRE(apply_upd(c, u).ok);
  size_t checked = 0;
  for (const Bytes& u : s.updates) {
    if (!compact(u)) continue;
    for (size_t n = 0; n < u.size(); ++n) {
      Doc fresh(0x78);
      expect_rejected(c, Bytes(u.begin(), u.begin() + static_cast<long>(n)));
      expect_rejected(fresh, Bytes(u.begin(), u.begin() + static_cast<long>(n)));
      ++checked;
    }
    Bytes longer = u;
    longer.push_back(0);
    // An insert of one character without a length becomes two characters: rejected too.
    expect_rejected(c, longer);
  }
  CHECK(checked > 100);

  const Bytes typed = {0x84, 't', 'e', 'x', 't', 5, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 'h'};
  Doc d(0x70);
  REQUIRE(apply_upd(d, typed).ok);
  auto with = [&](size_t at, uint8_t v) {
    Bytes u = typed;
    u[at] = v;
    return u;
  };
  expect_rejected(d, with(0, 0xd4));  // root type 6
  expect_rejected(d, with(0, 0x94));  // a Map root cannot take text
  expect_rejected(d, with(0, 0xc4));  // nor a List root (list values travel in version 1)
  expect_rejected(d, with(11, 0x00));  // typing on at clock 0
  expect_rejected(d, with(13, 1));     // right = left + 1 without a left origin
  // Typing on (form 0) at clock 1 with right = left + 1: the op's own clock.
  expect_rejected(d, Bytes{0x84, 't', 'e', 'x', 't', 5, 0, 0, 0, 0, 0, 0, 1, 1, 'i'});
  // An inline id of the update's own client that refers to the op's own clock.
  expect_rejected(d, Bytes{0x84, 't', 'e', 'x', 't', 5, 0, 0, 0, 0, 0, 0x20, 1, 0, 2, 5, 0, 0, 0, 0, 0, 0, 1, 'i'});
  expect_rejected(d, with(13, 5));  // right origin code 5: id code 4 does not exist
  expect_rejected(d, with(14, 4));     // id code 4 does not exist
  expect_rejected(d, with(14, 3));     // an own id before clock 0
  expect_rejected(d, with(15, 0xff));  // not UTF-8
  expect_rejected(d, with(11, 0xa0));  // "a length follows", and none does
  // An id of another client whose 7 bytes go past 53 bits.
  expect_rejected(d, Bytes{0x84, 't', 'e', 'x', 't', 5, 0, 0, 0, 0, 0, 0x20, 0, 0, 2, 9, 0, 0, 0, 0, 0, 0x20, 0, 'h'});
  // Deletes: no target, a length of 0, a target after its own clock, trailing bytes.
  expect_rejected(d, Bytes{0x84, 't', 'e', 'x', 't', 5, 0, 0, 0, 0, 0, 0x40, 1, 0});
  expect_rejected(d, Bytes{0x84, 't', 'e', 'x', 't', 5, 0, 0, 0, 0, 0, 0xc0, 1, 1, 0});
  expect_rejected(d, Bytes{0x84, 't', 'e', 'x', 't', 6, 0, 0, 0, 0, 0, 0x40, 1, 2, 0, 5});
  expect_rejected(d, Bytes{0x84, 't', 'e', 'x', 't', 5, 0, 0, 0, 0, 0, 0x40, 1, 1, 7});
  CHECK(u8(d.text_content(text_of(d))) == "h");
}

TEST_CASE("compact update: a transaction of several ops, or with remote ops in it, sends version 1",
          "[codec][compact]") {
  Doc a(1), b(2);
  a.set_capture_updates(true);
  b.set_capture_updates(true);
  RootHandle ta = text_of(a), tb = text_of(b);
  a.begin();
  REQUIRE(a.text_insert(ta, 0, U("ab")).ok);
  REQUIRE(a.text_delete(ta, 0, 1).ok);
  const Bytes two = a.commit().update;
  CHECK(two.at(0) == 'R');
  REQUIRE(apply_upd(b, two).ok);

  REQUIRE(b.text_insert(tb, 1, U("x")).ok);
  const Bytes b1 = last(b);
  REQUIRE(b.text_insert(tb, 2, U("y")).ok);
  const Bytes b2 = last(b);
  REQUIRE(apply_upd(a, b1).ok);
  // One transaction: b's second keystroke arrives, then we type. Its update carries both and
  // nothing that a had before it began (b's first keystroke).
  a.begin();
  REQUIRE(apply_upd(a, b2).ok);
  REQUIRE(a.text_insert(ta, 0, U("z")).ok);
  const Bytes mixed = a.commit().update;
  CHECK(mixed.at(0) == 'R');
  Doc c(3);
  REQUIRE(apply_upd(c, two).ok);
  REQUIRE(apply_upd(c, mixed).ok);
  CHECK(c.pending_ops() == 1);  // b's "y" waits for b's "x"
  REQUIRE(apply_upd(c, b1).ok);
  CHECK(c.pending_ops() == 0);
  CHECK(u8(c.text_content(text_of(c))) == "zbxy");
  CHECK(u8(a.text_content(ta)) == "zbxy");
}

// B4: the compact encoder writes a keystroke on the stack and copies it into a
// buffer the caller hands back (Doc::last_result(), as wasm/bindings.cpp takes it); larger
// updates (a long root name, a paste) are written in place. Seeded: both ways, every field.
TEST_CASE("compact update: seeded keystrokes of two writers, names and pastes of every size, taken by move or swap",
          "[codec][compact]") {
  std::mt19937_64 rng(20261130);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  const std::u16string units[] = {u"a", u" ", U("é"), U("中"), U("😀"), std::u16string(1, u'\xD800'),
                                  std::u16string(1, u'\xDC00')};
  // Names of 4, 15 (a varint follows the head), 200 (a two-byte varint) and 300 bytes (past
  // the stack buffer, so even a one-character insert is written in place).
  const std::string names[] = {"text", std::string(15, 'n'), std::string(200, 'm'), std::string(300, 'l')};
  constexpr ClientId kA = 0x1d2c3b4a5968ull, kB = 0x99;
  Doc a(kA), twin(kA), b(kB), fed_compact(7), fed_v1(8);  // twin: a's edits, result swapped out
  for (Doc* d : {&a, &twin, &b}) d->set_capture_updates(true);
  std::vector<RootHandle> ra, rt, rb;
  for (const auto& n : names) {
    ra.push_back(text_of(a, n.c_str()));
    rt.push_back(text_of(twin, n.c_str()));
    rb.push_back(text_of(b, n.c_str()));
  }
  Bytes swapped;  // the twin's buffer, swapped with its last result's each time
  int sent = 0;
  for (int step = 0; step < 3000; ++step) {
    const bool by_a = pick(3) != 0;
    Doc& w = by_a ? a : b;
    const size_t r = pick(4);
    const RootHandle h = by_a ? ra[r] : rb[r];
    const uint32_t len = w.text_length(h);
    const Bytes sv = fed_v1.state_vector();
    std::u16string s;
    const size_t n = pick(20) == 0 ? 120 + pick(200) : 1 + (pick(3) == 0 ? pick(4) : 0);  // pastes too
    while (s.size() < n) s += units[pick(7)];
    // Edits that would split a surrogate pair are refused (and change nothing): skipped.
    const bool del = len > 0 && pick(3) == 0;
    const uint32_t pos = static_cast<uint32_t>(pick(del ? len : len + 1));
    const uint32_t dn = del ? 1 + static_cast<uint32_t>(pick(std::min<uint32_t>(len - pos, 5))) : 0;
    Status st = del ? w.text_delete(h, pos, dn) : w.text_insert(h, pos, s);
    if (by_a) {
      Status st2 = del ? twin.text_delete(rt[r], pos, dn) : twin.text_insert(rt[r], pos, s);
      REQUIRE(st.ok == st2.ok);
    }
    if (!st.ok) continue;
    const Bytes u = w.take_last_result().update;
    INFO("step " << step << (del ? " delete " : " insert ") << (by_a ? "a" : "b") << " root " << r);
    // A delete across runs makes several ops: version 1 (checked all the same).
    if (!del) REQUIRE(compact(u));
    sent += compact(u);
    if (by_a) {
      swapped.swap(twin.last_result().update);
      CHECK(swapped == u);
    }
    REQUIRE(apply_upd(by_a ? b : a, u).ok);
    if (!by_a) REQUIRE(apply_upd(twin, u).ok);
    REQUIRE(apply_upd(fed_compact, u).ok);
    REQUIRE(apply_upd(fed_v1, since(w, sv)).ok);
  }
  CHECK(sent > 2000);
  CHECK(fed_compact.pending_ops() == 0);
  CHECK(fed_compact.encode_state() == fed_v1.encode_state());
  CHECK(fed_compact.encode_state() == a.encode_state());
  for (size_t r = 0; r < 4; ++r) CHECK(u8(a.text_content(ra[r])) == u8(b.text_content(rb[r])));
}

// Merge speed: the compact form is decoded directly, not rewritten as version 1
// first. The rewrite (compact_update_as_v1) stays as the reference: both ways must accept the
// same bytes and give the same tables and op, for real keystrokes and for seeded corruptions.
namespace {
struct Decoded {
  bool ok = false;
  DecodedUpdate tables;
  std::vector<RemoteOp> ops;
};
Decoded decode(const Bytes& u) {
  Decoded d;
  auto keep = [&](RemoteOp& op) {
    d.ops.push_back(op);
    return Status{};
  };
  d.ok = decode_update(u.data(), u.size(), &d.tables, keep).ok;
  return d;
}
Decoded decode_as_v1(const Bytes& u) {
  Bytes v1;
  if (!compact_update_as_v1(u.data(), u.size(), &v1).ok) return {};
  return decode(v1);
}
void check_same(const Bytes& u) {
  const Decoded x = decode(u), y = decode_as_v1(u);
  INFO("compact update of " << u.size() << " bytes, first " << int(u.empty() ? 0 : u[0]));
  REQUIRE(x.ok == y.ok);
  if (!x.ok) return;
  CHECK(x.tables.clients == y.tables.clients);
  REQUIRE(x.tables.roots.size() == 1);
  REQUIRE(y.tables.roots.size() == 1);
  CHECK(x.tables.roots[0].type == y.tables.roots[0].type);
  CHECK(x.tables.roots[0].name == y.tables.roots[0].name);
  REQUIRE(x.ops.size() == 1);
  REQUIRE(y.ops.size() == 1);
  const RemoteOp &a = x.ops[0], &b = y.ops[0];
  CHECK((a.client == b.client && a.clock == b.clock && a.len == b.len && a.kind == b.kind));
  CHECK((a.backward == b.backward && a.has_content == b.has_content && a.root == b.root));
  CHECK((a.left == b.left && a.right == b.right && a.text == b.text));
}
}  // namespace

TEST_CASE("compact update: read directly, it gives what its version-1 form gives, for any bytes",
          "[codec][compact][garbage]") {
  Session s;
  s.run();
  std::mt19937 rng(20261130);
  size_t compact_inputs = 0, accepted = 0;
  for (const Bytes& u : s.updates) {
    if (!compact(u)) continue;
    check_same(u);
    accepted += decode(u).ok;
    for (int k = 0; k < 400; ++k) {  // seeded corruptions: a byte changed, cut, added or dropped
      Bytes v = u;
      const size_t at = rng() % v.size();
      switch (rng() % 4) {
        case 0: v[at] = static_cast<uint8_t>(rng()); break;
        case 1: v.resize(at); break;
        case 2: v.insert(v.begin() + static_cast<long>(at), static_cast<uint8_t>(rng())); break;
        case 3: v.erase(v.begin() + static_cast<long>(at)); break;
      }
      if (!compact(v)) continue;
      check_same(v);
      ++compact_inputs;
    }
  }
  // The edge cases of the garbage test above, and a typed 'h' with each field at its limits.
  const Bytes typed = {0x84, 't', 'e', 'x', 't', 5, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 'h'};
  const std::vector<Bytes> edges = {
      typed,
      {0x84, 't', 'e', 'x', 't', 5, 0, 0, 0, 0, 0, 0xa0, 0, 0, 0, 0},        // a length of 0
      {0x84, 't', 'e', 'x', 't', 5, 0, 0, 0, 0, 0, 0xa0, 0, 0, 0, 1, 'h'},   // a length of 1
      {0x84, 't', 'e', 'x', 't', 5, 0, 0, 0, 0, 0, 0x40, 1, 0},              // delete, no target
      {0x84, 't', 'e', 'x', 't', 5, 0, 0, 0, 0, 0, 0xc0, 1, 1, 0},           // delete of 0
      {0x84, 't', 'e', 'x', 't', 5, 0, 0, 0, 0, 0, 0xc0, 1, 1, 2},           // delete of 2
      {0x84, 't', 'e', 'x', 't', 6, 0, 0, 0, 0, 0, 0x40, 1, 2, 0, 5},
      {0x84, 't', 'e', 'x', 't', 5, 0, 0, 0, 0, 0, 0x40, 1, 1, 7},
      {0xc4, 't', 'e', 'x', 't', 5, 0, 0, 0, 0, 0, 0x40, 1, 1},              // a List's delete
      {0x84, 't', 'e', 'x', 't', 5, 0, 0, 0, 0, 0, 0x20, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 'h'},  // clock 2^32-1
      {0x84, 't', 'e', 'x', 't', 5, 0, 0, 0, 0, 0, 0x20, 1, 0, 2, 5, 0, 0, 0, 0, 0, 0, 1, 'i'},
      {0x84, 't', 'e', 'x', 't', 5, 0, 0, 0, 0, 0, 0x20, 0, 0, 2, 9, 0, 0, 0, 0, 0, 0x20, 0, 'h'},
      {0x84, 't', 'e', 'x', 't', 5, 0, 0, 0, 0, 0, 0x20, 0, 3, 2, 9, 0, 0, 0, 0, 0, 0, 7, 'h'},  // right inline
      {0x84, 't', 'e', 'x', 't', 5, 0, 0, 0, 0, 0, 0, 1, 1, 'i'},
  };
  for (const Bytes& u : edges) check_same(u);
  CHECK(accepted > 10);
  CHECK(compact_inputs > 5000);
}

// Merge speed: a peer's keystroke that arrives in order takes a path of its own
// (DocImpl::apply_keystroke); what waited for it must still be released.
TEST_CASE("compact update: keystrokes applied in order release the ops that waited for them", "[codec][compact]") {
  Doc a(0x1a), b(0x2b), c(0x3c);
  a.set_capture_updates(true);
  b.set_capture_updates(true);
  const RootHandle ta = text_of(a), tb = text_of(b);
  REQUIRE(a.text_insert(ta, 0, u"h").ok);
  const Bytes a1 = last(a);
  REQUIRE(a.text_insert(ta, 1, u"i").ok);
  const Bytes a2 = last(a);
  REQUIRE(apply_upd(b, a1).ok);
  REQUIRE(apply_upd(b, a2).ok);
  REQUIRE(b.text_insert(tb, 2, u"!").ok);  // after a's "i"
  const Bytes b1 = last(b);
  REQUIRE(b.text_delete(tb, 0, 1).ok);  // a's "h"
  const Bytes b2 = last(b);
  CHECK((compact(a1) && compact(a2) && compact(b1) && compact(b2)));
  REQUIRE(apply_upd(c, b1).ok);
  REQUIRE(apply_upd(c, b2).ok);
  CHECK(c.pending_ops() == 2);
  REQUIRE(apply_upd(c, a1).ok);  // b1 still waits for a2, and b2 (b's next clock) for b1
  CHECK(c.pending_ops() == 2);
  REQUIRE(apply_upd(c, a2).ok);
  CHECK(c.pending_ops() == 0);
  CHECK(u8(c.text_content(text_of(c))) == "i!");
  CHECK(c.encode_state() != Bytes{});
  Doc d(0x4d);  // the same in order
  for (const Bytes* u : {&a1, &a2, &b1, &b2}) REQUIRE(apply_upd(d, *u).ok);
  CHECK(u8(d.text_content(text_of(d))) == "i!");
}
