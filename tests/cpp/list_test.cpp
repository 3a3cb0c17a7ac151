// List roots: the API, strict ranges, events, sync rules (delta, idempotent, any order, held
// ops, client id collisions), non-interleaving, garbage list updates, and that updates written
// before lists existed still load. (Randomized mixes with the other roots: convergence_test.)
#include <algorithm>
#include <random>

#include "test_util.h"

using namespace roomsync;
using namespace roomsync_test;

namespace {

RootHandle list_of(Doc& d, const char* name = "list") { return root_of(d, RootType::List, name); }

Status push(Doc& d, RootHandle l, std::vector<std::string_view> values) {
  return d.list_insert(l, d.list_length(l), values);
}

Bytes hex(const char* s) {
  Bytes out;
  for (size_t i = 0; s[i] && s[i + 1]; i += 2) out.push_back(static_cast<uint8_t>(std::stoi(std::string(s + i, 2), nullptr, 16)));
  return out;
}

std::string to_hex(const Bytes& b) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (uint8_t x : b) {
    s += digits[x >> 4];
    s += digits[x & 15];
  }
  return s;
}

// What an observer learns from the last implicit transaction, applied to `seen`.
void follow(Doc& d, RootHandle l, std::vector<std::string>& seen) {
  TransactionResult r = d.take_last_result();
  for (const auto& e : r.list_events)
    if (e.root == l) REQUIRE(apply_list_delta(seen, e.delta));
  REQUIRE(seen == d.list_values(l));
}

}  // namespace

TEST_CASE("list: insert, get, delete, content", "[list]") {
  Doc d(1);
  RootHandle l = list_of(d);
  CHECK(d.list_length(l) == 0);
  CHECK(d.list_content(l) == "[]");
  REQUIRE(d.list_insert(l, 0, {"1", "\"two\"", "{\"three\":[3]}"}).ok);
  REQUIRE(d.list_insert(l, 1, {"null", "true"}).ok);  // inside the run
  REQUIRE(push(d, l, {"4.5"}).ok);                      // typing-like append
  CHECK(d.list_length(l) == 6);
  CHECK(d.list_content(l) == "[1,null,true,\"two\",{\"three\":[3]},4.5]");
  CHECK(d.list_get(l, 0) == "1");
  CHECK(d.list_get(l, 4) == "{\"three\":[3]}");
  CHECK_FALSE(d.list_get(l, 6).has_value());
  REQUIRE(d.list_delete(l, 1, 3).ok);
  CHECK(d.list_values(l) == std::vector<std::string>{"1", "{\"three\":[3]}", "4.5"});
  REQUIRE(d.list_delete(l, 0, 3).ok);
  CHECK(d.list_content(l) == "[]");
  // Values keep their JSON text as given (no reformatting), lone surrogate escapes included.
  REQUIRE(d.list_insert(l, 0, {" [ 1 , 2 ] ", "\"\\ud800\""}).ok);
  CHECK(d.list_get(l, 0) == " [ 1 , 2 ] ");
  CHECK(d.list_get(l, 1) == "\"\\ud800\"");
}

TEST_CASE("list: bad indexes and bad values change nothing", "[list]") {
  Doc d(1);
  d.set_capture_updates(true);
  RootHandle l = list_of(d);
  REQUIRE(push(d, l, {"1", "2", "3"}).ok);
  const Bytes state = d.encode_state();
  const Bytes sv = d.state_vector();
  Status s = d.list_insert(l, 4, {"9"});
  CHECK(s.code == Status::kRange);
  CHECK(s.message.find("past the end") != std::string::npos);
  s = d.list_delete(l, 2, 2);
  CHECK(s.code == Status::kRange);
  s = d.list_delete(l, 4, 0);
  CHECK(s.code == Status::kRange);
  s = d.list_delete(l, 0xffffffffu, 2);  // no overflow
  CHECK(s.code == Status::kRange);
  s = d.list_insert(l, 0, {"1", "{bad", "2"});  // one bad value: nothing inserted
  CHECK(s.code == Status::kInvalid);
  CHECK(s.message.find("list value 1") != std::string::npos);
  CHECK(d.list_insert(l, 0, {""}).code == Status::kInvalid);
  CHECK(d.list_insert(l, 0, {"1 2"}).code == Status::kInvalid);
  CHECK(d.list_insert(l, 0, {"undefined"}).code == Status::kInvalid);
  // Empty edits are checked the same way and change nothing.
  CHECK(d.list_insert(l, 3, {}).ok);
  CHECK(d.list_delete(l, 3, 0).ok);
  CHECK(d.list_insert(l, 5, {}).code == Status::kRange);
  CHECK(d.encode_state() == state);
  CHECK(d.state_vector() == sv);
  // Other root types are refused, and a list is not a text.
  RootHandle t = text_of(d, "list");
  CHECK_FALSE(d.list_insert(t, 0, {"1"}).ok);
  CHECK_FALSE(d.text_insert(l, 0, u"x").ok);
  CHECK(d.list_length(t) == 0);
  CHECK(d.list_content(t) == "[]");
  CHECK(d.text_content(l).empty());
  CHECK(d.encode_state() == state);
}

TEST_CASE("list: a List and a Text of one name are two roots", "[list][roots]") {
  Doc a(1), b(2);
  RootHandle la = list_of(a, "x"), ta = text_of(a, "x");
  CHECK(la != ta);
  REQUIRE(a.list_insert(la, 0, {"1"}).ok);
  REQUIRE(a.text_insert(ta, 0, u"abc").ok);
  REQUIRE(apply_upd(b, a.encode_state()).ok);
  CHECK(view_of(b) == view_of(a));
  CHECK(b.list_content(list_of(b, "x")) == "[1]");
  CHECK(b.text_content(text_of(b, "x")) == u"abc");
}

TEST_CASE("list: events are Yjs-style deltas, composed per transaction", "[list][events]") {
  Doc a(1), b(2);
  RootHandle la = list_of(a), lb = list_of(b);
  a.set_observed(la, true);
  b.set_observed(lb, true);
  std::vector<std::string> seen_a, seen_b;

  REQUIRE(a.list_insert(la, 0, {"1", "2", "3"}).ok);
  TransactionResult r = a.take_last_result();
  REQUIRE(r.list_events.size() == 1);
  REQUIRE(r.list_events[0].delta.size() == 1);
  CHECK(r.list_events[0].delta[0].kind == TextDeltaOp::Insert);
  CHECK(r.list_events[0].delta[0].values == std::vector<std::string>{"1", "2", "3"});
  CHECK(r.text_events.empty());
  seen_a = {"1", "2", "3"};

  REQUIRE(a.list_delete(la, 1, 1).ok);
  r = a.take_last_result();
  REQUIRE(r.list_events.size() == 1);
  const auto& del = r.list_events[0].delta;
  REQUIRE(del.size() == 2);
  CHECK((del[0].kind == TextDeltaOp::Retain && del[0].length == 1));
  CHECK((del[1].kind == TextDeltaOp::Delete && del[1].length == 1));
  REQUIRE(apply_list_delta(seen_a, del));

  // One transaction: inserts and deletes compose into one delta; deleting what it inserted
  // leaves no trace.
  a.begin();
  REQUIRE(a.list_insert(la, 2, {"\"x\"", "\"y\""}).ok);
  REQUIRE(a.list_insert(la, 0, {"0"}).ok);
  REQUIRE(a.list_delete(la, 3, 1).ok);  // "x"
  REQUIRE(a.list_delete(la, 1, 1).ok);  // 1
  r = a.commit();
  REQUIRE(r.list_events.size() == 1);
  REQUIRE(apply_list_delta(seen_a, r.list_events[0].delta));
  CHECK(seen_a == a.list_values(la));
  CHECK(seen_a == std::vector<std::string>{"0", "3", "\"y\""});

  // Remote: b learns the same from a's state, in one event.
  REQUIRE(apply_upd(b, a.encode_state()).ok);
  follow(b, lb, seen_b);
  CHECK(seen_b == seen_a);
  // An unobserved list collects nothing.
  a.set_observed(la, false);
  REQUIRE(push(a, la, {"5"}).ok);
  CHECK(a.take_last_result().list_events.empty());
}

TEST_CASE("list: a delta of more than 4096 ops becomes replace-all, still exact", "[list][events]") {
  Doc a(1);
  RootHandle l = list_of(a);
  std::vector<std::string> values(3000, "0");
  REQUIRE(a.list_insert(l, 0, std::vector<std::string_view>(values.begin(), values.end())).ok);
  a.set_observed(l, true);
  std::vector<std::string> seen = a.list_values(l);
  a.begin();
  for (uint32_t i = 0; i < 2500; ++i) REQUIRE(a.list_insert(l, 2 * i + 1, {std::to_string(i)}).ok);
  TransactionResult r = a.commit();
  REQUIRE(r.list_events.size() == 1);
  CHECK(r.list_events[0].delta.size() <= 2);
  REQUIRE(apply_list_delta(seen, r.list_events[0].delta));
  CHECK(seen == a.list_values(l));
}

TEST_CASE("list: delta sync, idempotent, any order, held out-of-order ops", "[list][sync]") {
  Doc a(1), b(2);
  a.set_capture_updates(true);
  RootHandle la = list_of(a);
  std::vector<Bytes> updates;
  auto step = [&](auto fn) {
    fn();
    updates.push_back(a.take_last_result().update);
    REQUIRE_FALSE(updates.back().empty());
  };
  step([&] { REQUIRE(push(a, la, {"1", "2", "3"}).ok); });
  step([&] { REQUIRE(push(a, la, {"4"}).ok); });
  step([&] { REQUIRE(a.list_insert(la, 2, {"\"mid\""}).ok); });
  step([&] { REQUIRE(a.list_delete(la, 0, 2).ok); });
  step([&] { REQUIRE(a.list_insert(la, 0, {"[]", "{}"}).ok); });
  const std::string want = a.list_content(la);

  // Reversed: everything is held until the first update arrives, then applied at once.
  for (size_t i = updates.size(); i-- > 1;) REQUIRE(apply_upd(b, updates[i]).ok);
  CHECK(b.pending_ops() > 0);
  CHECK(b.list_content(list_of(b)) == "[]");
  REQUIRE(apply_upd(b, updates[0]).ok);
  CHECK(b.pending_ops() == 0);
  CHECK(b.list_content(list_of(b)) == want);
  // Again, in any order, twice: nothing changes.
  const Bytes state = b.encode_state();
  std::mt19937 rng(7);
  std::shuffle(updates.begin(), updates.end(), rng);
  for (const Bytes& u : updates) REQUIRE(apply_upd(b, u).ok);
  for (const Bytes& u : updates) REQUIRE(apply_upd(b, u).ok);
  CHECK(b.encode_state() == state);

  // Delta sync: only what the peer lacks, and it converges.
  Doc c(3);
  REQUIRE(apply_upd(c, updates[0]).ok);  // whatever the shuffle put first (maybe held)
  REQUIRE(push(b, list_of(b), {"\"b\""}).ok);
  const Bytes diff = since(b, c.state_vector());
  CHECK(diff.size() < b.encode_state().size() + 1);
  REQUIRE(apply_upd(c, diff).ok);
  CHECK(c.pending_ops() == 0);
  CHECK(view_of(c) == view_of(b));
  REQUIRE(apply_upd(a, since(b, a.state_vector())).ok);
  CHECK(view_of(a) == view_of(b));
  CHECK(view_of_loaded(a.encode_state()) == view_of(a));
}

TEST_CASE("list: concurrent runs at one index do not interleave", "[list][interleaving]") {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    Doc base(100);
    RootHandle l = list_of(base);
    REQUIRE(push(base, l, {"\"[\"", "\"]\""}).ok);
    const Bytes s0 = base.encode_state();
    Doc a(1 + rng() % 1000), b(2000 + rng() % 1000);
    REQUIRE(apply_upd(a, s0).ok);
    REQUIRE(apply_upd(b, s0).ok);
    RootHandle la = list_of(a), lb = list_of(b);
    // Each pushes 8 values one at a time at the same place (between the brackets).
    for (int i = 0; i < 8; ++i) {
      const std::string va = "\"a" + std::to_string(i) + "\"", vb = "\"b" + std::to_string(i) + "\"";
      REQUIRE(a.list_insert(la, 1 + i, {va}).ok);
      REQUIRE(b.list_insert(lb, 1 + i, {vb}).ok);
    }
    REQUIRE(apply_upd(a, b.encode_state()).ok);
    REQUIRE(apply_upd(b, a.encode_state()).ok);
    const std::vector<std::string> v = a.list_values(la);
    REQUIRE(v == b.list_values(lb));
    REQUIRE(v.size() == 18);
    // One block of a's values and one of b's, in either order.
    std::string shape;
    for (size_t i = 1; i + 1 < v.size(); ++i) shape += v[i][1];
    CHECK((shape == "aaaaaaaabbbbbbbb" || shape == "bbbbbbbbaaaaaaaa"));
  }
}

TEST_CASE("list: a peer writing list ops under this document's client id is refused", "[list][client-ids]") {
  Doc a(5), twin(5);
  RootHandle la = list_of(a), lt = list_of(twin);
  REQUIRE(push(a, la, {"1"}).ok);
  REQUIRE(push(twin, lt, {"2"}).ok);  // same clock, other value
  const Bytes before = a.encode_state();
  Status s = apply_upd(a, twin.encode_state());
  CHECK(s.code == Status::kClientIdCollision);
  CHECK(a.encode_state() == before);
  // Its own state coming back is fine.
  CHECK(apply_upd(a, before).ok);
  CHECK(a.encode_state() == before);
}

TEST_CASE("list: garbage list updates are rejected and change nothing", "[list][garbage]") {
  Doc src(1);
  RootHandle l = list_of(src);
  REQUIRE(push(src, l, {"1", "\"é😀\"", "{\"k\":[true,null]}"}).ok);
  REQUIRE(src.list_delete(l, 1, 1).ok);
  REQUIRE(push(src, l, {"2"}).ok);
  const Bytes good = src.encode_state();

  auto target = [] {
    Doc d(9);
    RootHandle t = text_of(d);
    REQUIRE(d.text_insert(t, 0, u"keep").ok);
    REQUIRE(push(d, list_of(d), {"0"}).ok);
    return d;
  };
  {  // every truncation
    Doc d = target();
    const Bytes before = d.encode_state();
    for (size_t n = 0; n < good.size(); ++n) {
      Status s = d.apply_update(good.data(), n);
      INFO("truncated to " << n);
      CHECK_FALSE(s.ok);
      CHECK(d.encode_state() == before);
    }
    REQUIRE(apply_upd(d, good).ok);
  }
  {  // every single-byte corruption: applies as valid or changes nothing
    for (size_t i = 0; i < good.size(); ++i)
      for (uint8_t x : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
        Bytes bad = good;
        bad[i] ^= x;
        Doc d = target();
        const Bytes before = d.encode_state();
        Status s = apply_upd(d, bad);
        if (!s.ok) {
          INFO("byte " << i << " ^ " << int(x) << ": " << s.message);
          CHECK(d.encode_state() == before);
        }
      }
  }
  // Hand-made: a list value that is not JSON, a list insert of 0 values, an unknown root type.
  // update := 'R' 1, clients [1], roots [List "l"], 1 section (client 0, clock 0, 1 op)
  //           insert tag (kind 1, root 0), left none, right none, values...
  const Bytes head = {'R', 1, 1, 1, 1, 5, 1, 'l', 1, 0, 0, 1, 1, 0, 0};
  auto with = [&](Bytes tail) {
    Bytes b = head;
    b.insert(b.end(), tail.begin(), tail.end());
    return b;
  };
  Doc fresh(9);
  CHECK(apply_upd(fresh, with({1, 1, '7'})).ok);
  CHECK(fresh.list_content(list_of(fresh, "l")) == "[7]");
  Doc e = target();
  const Bytes before = e.encode_state();
  Status s = apply_upd(e, with({1, 2, '{', 'x'}));
  CHECK(s.message.find("list value is not valid JSON") != std::string::npos);
  s = apply_upd(e, with({0}));
  CHECK(s.message.find("empty op") != std::string::npos);
  s = apply_upd(e, with({2, 1, '7'}));  // two values announced, one there
  CHECK_FALSE(s.ok);
  Bytes type6 = with({1, 1, '7'});
  type6[5] = 6;
  s = apply_upd(e, type6);
  CHECK(s.message.find("unknown root type 6") != std::string::npos);
  CHECK(e.encode_state() == before);
}

TEST_CASE("list: updates written before lists existed still load, byte for byte", "[list][encoding]") {
  // Written by the encoder before List roots were added (text, map, register, counter; two
  // clients): hé😀e world, {k: [1,{"x":null}]}, "reg", -5.
  const Bytes old = hex(
      "52010207090401017402016d030172040163020100010102000106c3a9f09f98800000090100000268658203810620776f72"
      "6c640311030d016b0e5b312c7b2278223a6e756c6c7d5d010d04676f6e650131020e04676f6e65031500052272656722041f09");
  Doc d(1234);
  REQUIRE(apply_upd(d, old).ok);
  CHECK(d.text_content(text_of(d, "t")) == U("hé😀e world"));
  CHECK(d.map_get(root_of(d, RootType::Map, "m"), "k") == "[1,{\"x\":null}]");
  CHECK(d.register_get(root_of(d, RootType::Register, "r")) == "\"reg\"");
  CHECK(d.counter_value(root_of(d, RootType::Counter, "c")) == -5);
  // And this build writes those roots exactly as before: the same edits give the same bytes,
  // but for the order of the two sections (issue 8: causal order, so 9's insert, which refers to
  // 7's text, now comes after 7's section).
  Doc a(7), b(9);
  RootHandle t = text_of(a, "t"), m = root_of(a, RootType::Map, "m");
  RootHandle r = root_of(a, RootType::Register, "r"), c = root_of(a, RootType::Counter, "c");
  REQUIRE(a.text_insert(t, 0, u"hello world").ok);
  REQUIRE(a.text_delete(t, 2, 3).ok);
  REQUIRE(a.map_set(m, "k", "[1,{\"x\":null}]").ok);
  REQUIRE(a.map_set(m, "gone", "1").ok);
  REQUIRE(a.map_delete(m, "gone").ok);
  REQUIRE(a.register_set(r, "\"reg\"").ok);
  REQUIRE(a.counter_add(c, -5).ok);
  REQUIRE(apply_upd(b, a.encode_state()).ok);
  REQUIRE(b.text_insert(text_of(b, "t"), 1, U("é😀")).ok);
  const std::string hex_old = to_hex(old), own = "0100010102000106c3a9f09f9880";  // 9's section
  const size_t at = hex_old.find(own);
  REQUIRE(at != std::string::npos);
  CHECK(to_hex(b.encode_state()) == hex_old.substr(0, at) + hex_old.substr(at + own.size()) + own);
}

TEST_CASE("list: delta sync from every point of a history slices list runs correctly", "[list][encoding]") {
  // One writer pushes one value per transaction (merged runs), deletes forwards and backwards,
  // inserts a block inside a run and deletes part of it, so deltas start inside runs.
  Doc w(41);
  w.set_capture_updates(true);
  RootHandle l = list_of(w);
  std::vector<Bytes> updates;
  auto keep = [&] { updates.push_back(w.take_last_result().update); };
  for (int i = 0; i < 12; ++i) {
    REQUIRE(push(w, l, {"{\"i\":" + std::to_string(i) + "}"}).ok);
    keep();
  }
  for (int k = 0; k < 3; ++k) {
    REQUIRE(w.list_delete(l, w.list_length(l) - 1, 1).ok);  // from the end
    keep();
  }
  for (int k = 0; k < 2; ++k) {
    REQUIRE(w.list_delete(l, 2, 1).ok);  // forwards
    keep();
  }
  REQUIRE(w.list_insert(l, 3, {"\"a\"", "\"b\"", "\"c\"", "\"d\""}).ok);
  keep();
  REQUIRE(w.list_delete(l, 4, 2).ok);
  keep();
  for (int i = 0; i < 3; ++i) {
    REQUIRE(push(w, l, {"[" + std::to_string(i) + "]"}).ok);
    keep();
  }
  const std::string want = w.list_content(l);
  for (size_t k = 0; k <= updates.size(); ++k) {
    CAPTURE(k, updates.size());
    Doc b(42);
    for (size_t i = 0; i < k; ++i) REQUIRE(apply_upd(b, updates[i]).ok);
    const Bytes delta = since(w, b.state_vector());
    REQUIRE(apply_upd(b, delta).ok);
    CHECK(b.pending_ops() == 0);
    CHECK(b.list_content(list_of(b)) == want);
    // The same delta on a copy loaded from b's earlier state.
    Doc c(43), c2(44);
    for (size_t i = 0; i < k; ++i) REQUIRE(apply_upd(c, updates[i]).ok);
    REQUIRE(apply_upd(c2, c.encode_state()).ok);
    REQUIRE(apply_upd(c2, delta).ok);
    CHECK(c2.list_content(list_of(c2)) == want);
  }
}
