// CRDT properties of the core: no interleaving of concurrent runs, idempotence, commutativity,
// out-of-order delivery, encoding round trips, surrogate-pair rules, LWW maps and registers,
// PN counters, transactions and text deltas.
#include <algorithm>
#include <functional>
#include <memory>
#include <random>
#include <nlohmann/json.hpp>

#include "test_util.h"

using namespace roomsync;
using namespace roomsync_test;

namespace {

// Each transaction's update, captured from commit().
struct Writer {
  Doc doc;
  RootHandle t;
  std::vector<Bytes> updates;
  explicit Writer(ClientId id) : doc(id), t(text_of(doc)) { doc.set_capture_updates(true); }
  void insert(uint32_t pos, const std::u16string& s) {
    doc.begin();
    Status st = doc.text_insert(t, pos, s);
    INFO("text_insert(" << pos << "): " << st.message);
    REQUIRE(st.ok);
    TransactionResult r = doc.commit();
    REQUIRE(!r.update.empty());
    updates.push_back(std::move(r.update));
  }
  void erase(uint32_t pos, uint32_t len) {
    doc.begin();
    Status st = doc.text_delete(t, pos, len);
    INFO("text_delete(" << pos << ", " << len << "): " << st.message);
    REQUIRE(st.ok);
    TransactionResult r = doc.commit();
    REQUIRE(!r.update.empty());
    updates.push_back(std::move(r.update));
  }
  std::u16string text() const { return doc.text_content(t); }
};

void sync_into(Doc& to, const Doc& from) {
  Status st = apply_upd(to, since(from, to.state_vector()));
  INFO("sync: " << st.message);
  REQUIRE(st.ok);
}

void sync_both(Doc& a, Doc& b) {
  sync_into(a, b);
  sync_into(b, a);
}

// Types `run` char by char as separate transactions: forwards (each char after the previous)
// or backwards (each char at `pos`, last char first).
void type_run(Writer& w, uint32_t pos, const std::u16string& run, bool backwards) {
  if (!backwards) {
    for (size_t i = 0; i < run.size(); ++i) w.insert(pos + static_cast<uint32_t>(i), run.substr(i, 1));
  } else {
    for (size_t i = run.size(); i-- > 0;) w.insert(pos, run.substr(i, 1));
  }
}

std::u16string run_of(char16_t first, size_t n) {
  std::u16string s;
  for (size_t i = 0; i < n; ++i) s += static_cast<char16_t>(first + (i % 26));
  return s;
}

// The text between prefix and suffix must be the runs concatenated in some order.
bool is_concatenation(const std::u16string& mid, std::vector<std::u16string> runs) {
  std::sort(runs.begin(), runs.end());
  do {
    std::u16string cat;
    for (const auto& r : runs) cat += r;
    if (cat == mid) return true;
  } while (std::next_permutation(runs.begin(), runs.end()));
  return false;
}

void check_no_interleaving(const std::u16string& base, uint32_t pos, const std::vector<std::u16string>& runs,
                           const std::vector<bool>& backwards, const std::vector<ClientId>& ids) {
  CAPTURE(u8(base), pos, runs.size());
  std::vector<std::unique_ptr<Writer>> ws;
  for (size_t i = 0; i < runs.size(); ++i) ws.push_back(std::make_unique<Writer>(ids[i]));
  if (!base.empty()) {
    ws[0]->insert(0, base);
    for (size_t i = 1; i < ws.size(); ++i) sync_into(ws[i]->doc, ws[0]->doc);
  }
  for (size_t i = 0; i < ws.size(); ++i) type_run(*ws[i], pos, runs[i], backwards[i]);
  for (size_t i = 0; i < ws.size(); ++i)
    for (size_t j = 0; j < ws.size(); ++j)
      if (i != j) sync_into(ws[i]->doc, ws[j]->doc);
  const std::u16string merged = ws[0]->text();
  for (size_t i = 1; i < ws.size(); ++i) CHECK(ws[i]->text() == merged);
  size_t total = base.size();
  for (const auto& r : runs) total += r.size();
  REQUIRE(merged.size() == total);
  CHECK(merged.substr(0, pos) == base.substr(0, pos));
  CHECK(merged.substr(merged.size() - (base.size() - pos)) == base.substr(pos));
  const std::u16string mid = merged.substr(pos, total - base.size());
  INFO("merged middle: " << u8(mid));
  CHECK(is_concatenation(mid, runs));
}

}  // namespace

TEST_CASE("concurrent runs typed at the same position do not interleave", "[properties][interleaving]") {
  const std::u16string base = U("hello world");
  struct Pos { const char* what; std::u16string base; uint32_t pos; };
  const std::vector<Pos> positions = {
      {"empty document", u"", 0}, {"start of document", base, 0}, {"middle", base, 5}, {"end", base, 11}};
  for (const auto& p : positions) {
    INFO("position: " << p.what);
    for (bool back_a : {false, true})
      for (bool back_b : {false, true}) {
        INFO("backwards a=" << back_a << " b=" << back_b);
        for (auto ids : std::vector<std::vector<ClientId>>{{1, 2}, {2, 1}, {123456789, 42}}) {
          check_no_interleaving(p.base, p.pos, {U("abc"), U("xyz")}, {back_a, back_b}, ids);
          check_no_interleaving(p.base, p.pos, {run_of(u'a', 60), run_of(u'A', 45)}, {back_a, back_b}, ids);
        }
      }
    for (int mask = 0; mask < 8; ++mask) {
      INFO("three writers, backwards mask " << mask);
      check_no_interleaving(p.base, p.pos, {run_of(u'a', 20), run_of(u'A', 17), run_of(u'0', 10)},
                            {bool(mask & 1), bool(mask & 2), bool(mask & 4)}, {7, 3, 5});
    }
  }
}

TEST_CASE("concurrent word-by-word typing with partial syncs stays in blocks", "[properties][interleaving]") {
  // A and B each type a sentence at the start of an empty document, word by word; the words of
  // one sentence must stay together and in order.
  Writer a(10), b(20);
  const std::u16string sa = U("the quick brown fox "), sb = U("LOREM IPSUM DOLOR ");
  uint32_t pa = 0, pb = 0;
  for (size_t i = 0; i < std::max(sa.size(), sb.size()); ++i) {
    if (i < sa.size()) a.insert(pa++, sa.substr(i, 1));
    if (i < sb.size()) b.insert(pb++, sb.substr(i, 1));
  }
  sync_both(a.doc, b.doc);
  CHECK(a.text() == b.text());
  CHECK((a.text() == sa + sb || a.text() == sb + sa));
}

TEST_CASE("text semantics under concurrency", "[properties][text]") {
  Writer a(1), b(2);
  a.insert(0, U("0123456789"));
  sync_into(b.doc, a.doc);
  SECTION("insert inside a concurrently deleted range survives") {
    a.erase(2, 6);     // "01" + "89"
    b.insert(5, U("XY"));  // "01234XY56789"
    sync_both(a.doc, b.doc);
    CHECK(a.text() == U("01XY89"));
    CHECK(b.text() == a.text());
  }
  SECTION("the same range deleted by both is deleted once") {
    a.erase(3, 4);
    b.erase(3, 4);
    sync_both(a.doc, b.doc);
    CHECK(a.text() == U("012789"));
    CHECK(b.text() == a.text());
    CHECK(a.doc.text_length(a.t) == 6);
  }
  SECTION("overlapping deletes") {
    a.erase(1, 5);  // deletes 1..5
    b.erase(4, 5);  // deletes 4..8
    sync_both(a.doc, b.doc);
    CHECK(a.text() == U("09"));
    CHECK(b.text() == a.text());
  }
  SECTION("insert at a position whose left neighbour was deleted concurrently") {
    a.erase(4, 1);
    b.insert(5, U("!"));
    sync_both(a.doc, b.doc);
    CHECK(a.text() == U("0123!56789"));
    CHECK(b.text() == a.text());
  }
}

TEST_CASE("updates are idempotent", "[properties][idempotence]") {
  Doc a(1);
  RootHandle t = text_of(a), m = root_of(a, RootType::Map, "m"), r = root_of(a, RootType::Register, "r"),
             c = root_of(a, RootType::Counter, "c");
  a.set_capture_updates(true);
  a.begin();
  REQUIRE(a.text_insert(t, 0, U("héllo 😀 wörld")).ok);
  REQUIRE(a.map_set(m, "k", "{\"x\":[1,2,3]}").ok);
  REQUIRE(a.register_set(r, "\"reg\"").ok);
  REQUIRE(a.counter_add(c, 5).ok);
  Bytes u1 = a.commit().update;
  a.begin();
  REQUIRE(a.text_delete(t, 1, 3).ok);
  REQUIRE(a.counter_add(c, -2).ok);
  REQUIRE(a.map_delete(m, "k").ok);
  Bytes u2 = a.commit().update;
  REQUIRE(!u1.empty());
  REQUIRE(!u2.empty());

  Doc b(2);
  REQUIRE(apply_upd(b, u1).ok);
  const DocView once = view_of(b);
  const Bytes once_state = b.encode_state();
  for (int k = 0; k < 3; ++k) {
    REQUIRE(apply_upd(b, u1).ok);
    CHECK(view_of(b) == once);
    CHECK(b.encode_state() == once_state);
  }
  REQUIRE(apply_upd(b, u2).ok);
  REQUIRE(apply_upd(b, u2).ok);
  REQUIRE(apply_upd(b, u1).ok);
  CHECK(view_of(b) == view_of(a));
  CHECK(b.counter_value(root_of(b, RootType::Counter, "c")) == 3);

  // Own updates and whole states applied again change nothing.
  const Bytes sa = a.encode_state();
  REQUIRE(apply_upd(a, u1).ok);
  REQUIRE(apply_upd(a, u2).ok);
  REQUIRE(apply_upd(a, sa).ok);
  REQUIRE(apply_upd(a, b.encode_state()).ok);
  CHECK(a.encode_state() == sa);
  CHECK(a.counter_value(c) == 3);
  REQUIRE(apply_upd(b, sa).ok);
  REQUIRE(apply_upd(b, sa).ok);
  CHECK(view_of(b) == view_of(a));
}

TEST_CASE("updates commute: every delivery order gives the same document", "[properties][commutativity]") {
  // Five updates from three clients, some depending on others.
  std::vector<Bytes> ups;
  Doc a(11), b(22), c(33);
  for (Doc* d : {&a, &b, &c}) d->set_capture_updates(true);
  RootHandle ta = text_of(a), ma = root_of(a, RootType::Map, "m"), ca = root_of(a, RootType::Counter, "n");
  REQUIRE(a.text_insert(ta, 0, U("base text")).ok);
  ups.push_back(a.take_last_result().update);
  REQUIRE(apply_upd(b, ups[0]).ok);
  REQUIRE(apply_upd(c, ups[0]).ok);
  RootHandle tb = text_of(b), mb = root_of(b, RootType::Map, "m"), cb = root_of(b, RootType::Counter, "n");
  RootHandle tc = text_of(c), rc = root_of(c, RootType::Register, "r");
  a.begin();
  REQUIRE(a.text_insert(ta, 4, U(" AAA")).ok);
  REQUIRE(a.map_set(ma, "k", "1").ok);
  REQUIRE(a.counter_add(ca, 10).ok);
  ups.push_back(a.commit().update);
  b.begin();
  REQUIRE(b.text_delete(tb, 0, 2).ok);
  REQUIRE(b.map_set(mb, "k", "2").ok);
  REQUIRE(b.counter_add(cb, -3).ok);
  ups.push_back(b.commit().update);
  b.begin();
  REQUIRE(b.text_insert(tb, 3, U("🎉B")).ok);  // depends on b's previous transaction
  ups.push_back(b.commit().update);
  c.begin();
  REQUIRE(c.text_insert(tc, 9, U(" C")).ok);
  REQUIRE(c.register_set(rc, "[\"c\"]").ok);
  ups.push_back(c.commit().update);
  for (const auto& u : ups) REQUIRE(!u.empty());

  std::vector<size_t> order{0, 1, 2, 3, 4};
  DocView expected;
  Bytes expected_sv;
  int perms = 0;
  do {
    Doc d(99);
    bool saw_pending = false;
    for (size_t i : order) {
      Status st = apply_upd(d, ups[i]);
      INFO("update " << i << ": " << st.message);
      REQUIRE(st.ok);
      saw_pending |= d.pending_ops() > 0;
    }
    CHECK(d.pending_ops() == 0);
    const DocView v = view_of(d);
    if (perms == 0) {
      expected = v;
    } else {
      INFO("order " << order[0] << order[1] << order[2] << order[3] << order[4]);
      CHECK(v == expected);
    }
    // Orders that deliver a dependent update first must have buffered it.
    if (order[0] != 0) CHECK(saw_pending);
    ++perms;
  } while (std::next_permutation(order.begin(), order.end()));
  CHECK(perms == 120);
  CHECK(expected.at("text:text").find("🎉B") != std::string::npos);
  CHECK(expected.at("counter:n") == "7");
}

TEST_CASE("out-of-order delivery is buffered until the parents arrive", "[properties][order]") {
  Writer a(5);
  a.insert(0, U("start"));
  for (int i = 0; i < 20; ++i) a.insert(a.doc.text_length(a.t), U(" w") + std::u16string(1, u'a' + i));
  a.erase(0, 2);
  a.insert(1, U("😀"));
  Doc b(6);
  RootHandle tb = text_of(b);
  for (size_t k = a.updates.size(); k-- > 1;) {
    Status st = apply_upd(b, a.updates[k]);
    INFO("update " << k << ": " << st.message);
    REQUIRE(st.ok);
    CHECK(b.pending_ops() > 0);
    CHECK(b.text_content(tb).empty());
  }
  REQUIRE(apply_upd(b, a.updates[0]).ok);
  CHECK(b.pending_ops() == 0);
  CHECK(b.text_content(tb) == a.text());
  CHECK(view_of(b) == view_of(a.doc));
  // Pending state survives encoding: a doc holding buffered ops encodes and syncs cleanly later.
  Doc c(7);
  REQUIRE(apply_upd(c, a.updates.back()).ok);
  CHECK(c.pending_ops() > 0);
  for (size_t k = 0; k + 1 < a.updates.size(); ++k) REQUIRE(apply_upd(c, a.updates[k]).ok);
  CHECK(c.pending_ops() == 0);
  CHECK(view_of(c) == view_of(a.doc));
}

TEST_CASE("encodings round-trip", "[properties][encoding]") {
  Doc a(77);
  RootHandle t = text_of(a), m = root_of(a, RootType::Map, "settings"), r = root_of(a, RootType::Register, "title"),
             c = root_of(a, RootType::Counter, "likes"), t2 = text_of(a, "second");
  REQUIRE(a.text_insert(t, 0, U("Grüße 👋🏽 from ✨ roomsync")).ok);
  REQUIRE(a.text_delete(t, 2, 3).ok);
  REQUIRE(a.text_insert(t2, 0, std::u16string(5000, u'x')).ok);
  REQUIRE(a.text_delete(t2, 100, 4000).ok);
  REQUIRE(a.map_set(m, "theme", "\"dark\"").ok);
  REQUIRE(a.map_set(m, "size", "{\"w\": 10, \"h\": [1, 2.5, null, true]}").ok);
  REQUIRE(a.map_set(m, "gone", "0").ok);
  REQUIRE(a.map_delete(m, "gone").ok);
  REQUIRE(a.register_set(r, "\"Ünïcödé 😀\"").ok);
  REQUIRE(a.counter_add(c, 41).ok);
  REQUIRE(a.counter_add(c, -1).ok);

  const DocView va = view_of(a);
  const Bytes s1 = a.encode_state();
  Doc b(78);
  REQUIRE(apply_upd(b, s1).ok);
  CHECK(view_of(b) == va);
  Doc b2(79);
  REQUIRE(apply_upd(b2, b.encode_state()).ok);
  CHECK(view_of(b2) == va);
  CHECK(b.roots().size() == a.roots().size());

  SECTION("encode_state_since(empty sv) is everything") {
    Doc e(80);
    REQUIRE(apply_upd(e, since(a, empty_sv())).ok);
    CHECK(view_of(e) == va);
  }
  SECTION("encode_state_since(own sv) brings nothing new") {
    const Bytes nothing = since(a, a.state_vector());
    const Bytes before = b.encode_state();
    REQUIRE(apply_upd(b, nothing).ok);
    CHECK(b.encode_state() == before);
    Doc e(81);
    REQUIRE(apply_upd(e, nothing).ok);
    for (const auto& ri : e.roots()) {
      if (ri.type == RootType::Text) CHECK(e.text_length(ri.handle) == 0);
      if (ri.type == RootType::Map) CHECK(e.map_keys(ri.handle).empty());
      if (ri.type == RootType::Counter) CHECK(e.counter_value(ri.handle) == 0);
    }
    // Exactly what is missing: a delta of a few ops is small next to the full state.
    REQUIRE(a.text_insert(t, 0, U("new")).ok);
    const Bytes delta = since(a, b.state_vector());
    CHECK(delta.size() < s1.size() / 4);
    REQUIRE(apply_upd(b, delta).ok);
    CHECK(view_of(b) == view_of(a));
  }
  SECTION("state vectors") {
    // A copy that has everything lacks nothing; one that lacks something gets exactly it.
    Doc e(82);
    const Bytes sv_empty_doc = e.state_vector();
    REQUIRE(apply_upd(e, since(a, sv_empty_doc)).ok);
    CHECK(view_of(e) == va);
    const Bytes sv_b = b.state_vector();
    Doc f(83);
    REQUIRE(apply_upd(f, since(b, empty_sv())).ok);
    CHECK(view_of(f) == va);
    Bytes from_b_for_a = since(b, a.state_vector());
    const Bytes a_before = a.encode_state();
    REQUIRE(apply_upd(a, from_b_for_a).ok);
    CHECK(a.encode_state() == a_before);
    CHECK(!sv_b.empty());
  }
}

TEST_CASE("surrogate pairs are never split", "[properties][text][utf16]") {
  Doc d(3);
  RootHandle t = text_of(d);
  REQUIRE(d.text_insert(t, 0, U("a😀b")).ok);  // a D83D DE00 b
  REQUIRE(d.text_length(t) == 4);
  const std::u16string orig = d.text_content(t);

  SECTION("insert inside a pair is rejected and changes nothing") {
    const Bytes before = d.encode_state();
    Status st = d.text_insert(t, 2, U("X"));
    CHECK_FALSE(st.ok);
    CHECK(!st.message.empty());
    CHECK(d.text_content(t) == orig);
    CHECK(d.encode_state() == before);
    d.begin();
    st = d.text_insert(t, 2, U("Y"));
    CHECK_FALSE(st.ok);
    CHECK(d.text_insert(t, 1, U("<")).ok);
    CHECK(d.text_insert(t, 4, U(">")).ok);
    d.commit();
    CHECK(d.text_content(t) == U("a<😀>b"));
  }
  SECTION("inserting at pair boundaries works") {
    CHECK(d.text_insert(t, 1, U("1")).ok);
    CHECK(d.text_insert(t, 4, U("3")).ok);
    CHECK(d.text_content(t) == U("a1😀3b"));
  }
  SECTION("insert past the end is rejected") {
    Status st = d.text_insert(t, 5, U("X"));
    CHECK_FALSE(st.ok);
    CHECK(!st.message.empty());
    CHECK(d.text_content(t) == orig);
  }
  // Deletes happen exactly as asked or not at all (issue 6, item 5: an editor mirrors its own
  // edits, so a widened delete made its view and the document differ).
  auto refused = [&](uint32_t pos, uint32_t len) {
    const Bytes before = d.encode_state();
    Status st = d.text_delete(t, pos, len);
    INFO("delete(" << pos << ", " << len << "): " << st.message);
    CHECK_FALSE(st.ok);
    CHECK(st.code == Status::kRange);
    CHECK(d.text_content(t) == orig);
    CHECK(d.encode_state() == before);
  };
  SECTION("a delete starting or ending inside a pair is refused") {
    refused(2, 1);
    refused(1, 1);
    refused(2, 0);  // even an empty one
    refused(2, 2);
    CHECK(d.text_delete(t, 1, 2).ok);  // the whole pair
    CHECK(d.text_content(t) == U("ab"));
  }
  SECTION("delete with both ends inside pairs is refused") {
    REQUIRE(d.text_insert(t, 4, U("👍")).ok);  // a 😀 b 👍 : a D83D DE00 b D83D DC4D
    const Bytes before = d.encode_state();
    Status st = d.text_delete(t, 2, 3);
    CHECK_FALSE(st.ok);
    CHECK(d.encode_state() == before);
    CHECK_FALSE(d.text_delete(t, 1, 4).ok);
    CHECK(d.text_delete(t, 1, 3).ok);
    CHECK(d.text_content(t) == U("a👍"));
  }
  SECTION("a delete or insert past the end is refused") {
    refused(3, 100);
    refused(5, 0);
    Status st = d.text_insert(t, 5, u"");
    CHECK(st.code == Status::kRange);
    CHECK(d.text_delete(t, 3, 1).ok);
    CHECK(d.text_delete(t, 3, 0).ok);  // at the end: nothing to delete
    CHECK(d.text_content(t) == U("a😀"));
  }
  SECTION("a remote replica gets whole pairs") {
    Doc e(4);
    RootHandle te = text_of(e);
    REQUIRE(apply_upd(e, d.encode_state()).ok);
    CHECK_FALSE(e.text_insert(te, 2, U("X")).ok);
    CHECK_FALSE(e.text_delete(te, 2, 1).ok);
    CHECK(e.text_delete(te, 1, 2).ok);
    CHECK(e.text_content(te) == U("ab"));
    REQUIRE(apply_upd(d, e.encode_state()).ok);
    CHECK(d.text_content(t) == U("ab"));
  }
}

TEST_CASE("maps are last-writer-wins and deterministic", "[properties][map]") {
  Doc a(100), b(200);
  RootHandle ma = root_of(a, RootType::Map, "m"), mb = root_of(b, RootType::Map, "m");
  a.set_capture_updates(true);
  b.set_capture_updates(true);

  SECTION("JSON values are validated and returned") {
    for (const char* ok : {"null", "true", "false", "0", "-12.5e3", "\"str\"", "\"😀 \\u00e9\"", "[]",
                           "[1,[2,[3]]]", "{}", "{\"a\":{\"b\":[null,1,\"x\"]}}"}) {
      INFO("value " << ok);
      Status st = a.map_set(ma, "k", ok);
      CHECK(st.ok);
      auto got = a.map_get(ma, "k");
      REQUIRE(got.has_value());
      CHECK(nlohmann::json::parse(*got) == nlohmann::json::parse(ok));
    }
    for (const char* bad : {"", "{", "[1,", "nul", "\"unterminated", "{'a':1}", "1 2", "\xff", "\"\xc3\x28\""}) {
      INFO("value " << bad);
      const Bytes before = a.encode_state();
      Status st = a.map_set(ma, "k2", bad);
      CHECK_FALSE(st.ok);
      CHECK(!st.message.empty());
      CHECK_FALSE(a.map_has(ma, "k2"));
      CHECK(a.encode_state() == before);
    }
  }
  SECTION("set, overwrite, delete, keys") {
    REQUIRE(a.map_set(ma, "b", "1").ok);
    REQUIRE(a.map_set(ma, "a", "2").ok);
    REQUIRE(a.map_set(ma, "c", "3").ok);
    REQUIRE(a.map_set(ma, "a", "4").ok);
    REQUIRE(a.map_delete(ma, "c").ok);
    CHECK(a.map_keys(ma) == std::vector<std::string>{"a", "b"});
    CHECK(a.map_get(ma, "a") == std::optional<std::string>("4"));
    CHECK_FALSE(a.map_get(ma, "c").has_value());
    CHECK_FALSE(a.map_has(ma, "c"));
    CHECK(a.map_has(ma, "b"));
    REQUIRE(apply_upd(b, a.encode_state()).ok);
    CHECK(view_of(b) == view_of(a));
  }
  SECTION("concurrent sets converge whatever the delivery order") {
    REQUIRE(a.map_set(ma, "k", "\"from a\"").ok);
    Bytes ua = a.take_last_result().update;
    REQUIRE(b.map_set(mb, "k", "\"from b\"").ok);
    Bytes ub = b.take_last_result().update;
    REQUIRE(!ua.empty());
    REQUIRE(!ub.empty());
    Doc c(300), d(400);
    REQUIRE(apply_upd(c, ua).ok);
    REQUIRE(apply_upd(c, ub).ok);
    REQUIRE(apply_upd(d, ub).ok);
    REQUIRE(apply_upd(d, ua).ok);
    REQUIRE(apply_upd(a, ub).ok);
    REQUIRE(apply_upd(b, ua).ok);
    auto w = a.map_get(ma, "k");
    REQUIRE(w.has_value());
    CHECK((*w == "\"from a\"" || *w == "\"from b\""));
    CHECK(b.map_get(mb, "k") == w);
    CHECK(view_of(c) == view_of(a));
    CHECK(view_of(d) == view_of(a));
  }
  SECTION("a causally later write wins, on every replica") {
    // Whatever the clients' ids, a write made after seeing another one wins over it.
    for (int round = 0; round < 4; ++round) {
      Doc& first = round % 2 ? a : b;
      Doc& second = round % 2 ? b : a;
      RootHandle mf = round % 2 ? ma : mb, ms = round % 2 ? mb : ma;
      const std::string v1 = std::to_string(round * 10 + 1), v2 = std::to_string(round * 10 + 2);
      REQUIRE(first.map_set(mf, "k", v1).ok);
      sync_into(second, first);
      CHECK(second.map_get(ms, "k") == std::optional<std::string>(v1));
      REQUIRE(second.map_set(ms, "k", v2).ok);
      sync_into(first, second);
      CHECK(first.map_get(mf, "k") == std::optional<std::string>(v2));
      CHECK(second.map_get(ms, "k") == std::optional<std::string>(v2));
    }
  }
  SECTION("delete then set, and set after a delete was seen") {
    REQUIRE(a.map_set(ma, "k", "1").ok);
    sync_into(b, a);
    REQUIRE(b.map_delete(mb, "k").ok);
    sync_into(a, b);
    CHECK_FALSE(a.map_has(ma, "k"));
    CHECK(a.map_keys(ma).empty());
    REQUIRE(a.map_set(ma, "k", "2").ok);
    sync_into(b, a);
    CHECK(b.map_get(mb, "k") == std::optional<std::string>("2"));
  }
  SECTION("concurrent delete and set converge") {
    REQUIRE(a.map_set(ma, "k", "1").ok);
    sync_into(b, a);
    REQUIRE(a.map_delete(ma, "k").ok);
    REQUIRE(b.map_set(mb, "k", "2").ok);
    sync_both(a, b);
    CHECK(a.map_has(ma, "k") == b.map_has(mb, "k"));
    CHECK(a.map_get(ma, "k") == b.map_get(mb, "k"));
    CHECK(view_of(a) == view_of(b));
  }
}

TEST_CASE("registers are last-writer-wins", "[properties][register]") {
  Doc a(5), b(6), c(7);
  RootHandle ra = root_of(a, RootType::Register, "r"), rb = root_of(b, RootType::Register, "r"),
             rc = root_of(c, RootType::Register, "r");
  CHECK_FALSE(a.register_get(ra).has_value());
  REQUIRE(a.register_set(ra, "{\"v\":1}").ok);
  CHECK(nlohmann::json::parse(*a.register_get(ra)) == nlohmann::json::parse("{\"v\":1}"));
  CHECK_FALSE(a.register_set(ra, "{v:1}").ok);
  CHECK(nlohmann::json::parse(*a.register_get(ra)) == nlohmann::json::parse("{\"v\":1}"));
  sync_into(b, a);
  REQUIRE(b.register_set(rb, "2").ok);  // causally after a's write
  REQUIRE(c.register_set(rc, "3").ok);  // concurrent with both
  sync_both(a, b);
  CHECK(a.register_get(ra) == std::optional<std::string>("2"));
  sync_both(a, c);
  sync_both(b, c);
  sync_both(a, b);
  auto w = a.register_get(ra);
  REQUIRE(w.has_value());
  CHECK((*w == "2" || *w == "3"));
  CHECK(b.register_get(rb) == w);
  CHECK(c.register_get(rc) == w);
}

TEST_CASE("counters add up across replicas, exactly once", "[properties][counter]") {
  Doc a(1), b(2), c(3);
  RootHandle ca = root_of(a, RootType::Counter, "n"), cb = root_of(b, RootType::Counter, "n"),
             cc = root_of(c, RootType::Counter, "n");
  for (Doc* d : {&a, &b, &c}) d->set_capture_updates(true);
  std::vector<Bytes> ups;
  int64_t expected = 0;
  const int64_t deltas[] = {5, -7, 1000000000000LL, -3, 1, -1000000000000LL, 42};
  int i = 0;
  for (int64_t dlt : deltas) {
    Doc& d = i % 3 == 0 ? a : i % 3 == 1 ? b : c;
    RootHandle h = i % 3 == 0 ? ca : i % 3 == 1 ? cb : cc;
    REQUIRE(d.counter_add(h, dlt).ok);
    ups.push_back(d.take_last_result().update);
    expected += dlt;
    ++i;
  }
  CHECK(a.counter_value(ca) == 5 + -3 + 42);
  Doc e(9);
  RootHandle ce = root_of(e, RootType::Counter, "n");
  for (int round = 0; round < 2; ++round)
    for (const auto& u : ups) REQUIRE(apply_upd(e, u).ok);
  CHECK(e.counter_value(ce) == expected);
  sync_both(a, b);
  sync_both(b, c);
  sync_both(a, c);
  sync_both(a, b);
  CHECK(a.counter_value(ca) == expected);
  CHECK(b.counter_value(cb) == expected);
  CHECK(c.counter_value(cc) == expected);
  Doc f(10);
  REQUIRE(apply_upd(f, a.encode_state()).ok);
  REQUIRE(apply_upd(f, b.encode_state()).ok);
  CHECK(f.counter_value(root_of(f, RootType::Counter, "n")) == expected);
}

TEST_CASE("roots: named by type and name, shared across replicas", "[properties][roots]") {
  Doc a(1), b(2);
  RootHandle t1 = 0, t2 = 0, x = 0;
  REQUIRE(a.root(RootType::Text, "body", &t1).ok);
  REQUIRE(a.root(RootType::Text, "body", &t2).ok);
  CHECK(t1 == t2);
  // The same name with another type is another root.
  REQUIRE(a.root(RootType::Map, "body", &x).ok);
  CHECK(x != t1);
  REQUIRE(a.map_set(x, "k", "1").ok);
  REQUIRE(a.text_insert(t1, 0, U("shared")).ok);
  // b creates the same root on its own before hearing from a.
  RootHandle tb = text_of(b, "body");
  REQUIRE(b.text_insert(tb, 0, U("B:")).ok);
  sync_both(a, b);
  CHECK(a.text_content(t1) == b.text_content(tb));
  CHECK(a.text_content(t1).size() == 8);
  // A root known only from an update is listed and typed.
  Doc c(3);
  REQUIRE(apply_upd(c, a.encode_state()).ok);
  bool found = false;
  for (const auto& ri : c.roots())
    if (ri.name == "body" && ri.type == RootType::Text) {
      found = true;
      CHECK(c.text_content(ri.handle) == a.text_content(t1));
    }
  CHECK(found);
  RootHandle counter = 0;
  REQUIRE(c.root(RootType::Counter, "body", &counter).ok);
  CHECK(c.counter_value(counter) == 0);
  RootHandle map_at_c = 0;
  REQUIRE(c.root(RootType::Map, "body", &map_at_c).ok);
  CHECK(c.map_get(map_at_c, "k") == std::optional<std::string>("1"));
}


TEST_CASE("transactions and text deltas", "[properties][events]") {
  Doc d(1);
  RootHandle t = text_of(d), other = text_of(d, "other");
  d.set_observed(t, true);
  d.set_capture_updates(true);
  std::u16string shadow;

  auto check_txn = [&](const std::function<void()>& edits) {
    d.begin();
    CHECK(d.in_transaction());
    edits();
    TransactionResult r = d.commit();
    CHECK_FALSE(d.in_transaction());
    CHECK(r.changed);
    CHECK(!r.update.empty());
    const std::u16string now = d.text_content(t);
    std::vector<const TextEvent*> evs;
    for (const auto& e : r.text_events)
      if (e.root == t) evs.push_back(&e);
    if (now != shadow) {
      REQUIRE(evs.size() == 1);
      std::u16string s = shadow;
      CHECK(apply_delta(s, evs[0]->delta));
      CHECK(s == now);
      if (!evs[0]->delta.empty()) CHECK(evs[0]->delta.back().kind != TextDeltaOp::Retain);
    }
    for (const auto& e : r.text_events) CHECK(e.root != other);  // not observed
    shadow = now;
  };
  check_txn([&] { REQUIRE(d.text_insert(t, 0, U("hello world")).ok); });
  check_txn([&] { REQUIRE(d.text_insert(t, 5, U(",")).ok); });
  check_txn([&] { REQUIRE(d.text_delete(t, 0, 1).ok); REQUIRE(d.text_insert(t, 0, U("H")).ok); });
  check_txn([&] {
    REQUIRE(d.text_insert(t, 12, U("!!")).ok);
    REQUIRE(d.text_delete(t, 2, 3).ok);
    REQUIRE(d.text_insert(other, 0, U("unobserved")).ok);
    REQUIRE(d.text_insert(t, 0, U("😀")).ok);
  });
  // An empty transaction changes nothing.
  d.begin();
  TransactionResult r = d.commit();
  CHECK_FALSE(r.changed);
  CHECK(r.text_events.empty());
  // A failed edit inside a transaction leaves no trace.
  d.begin();
  CHECK_FALSE(d.text_insert(t, 1, U("x")).ok);  // inside the emoji
  r = d.commit();
  CHECK_FALSE(r.changed);
  CHECK(d.text_content(t) == shadow);
  // An edit outside begin()/commit() is a transaction of its own.
  REQUIRE(d.text_insert(t, 0, U(">")).ok);
  CHECK_FALSE(d.in_transaction());
  r = d.take_last_result();
  CHECK(r.changed);
  CHECK(!r.update.empty());
  REQUIRE(r.text_events.size() == 1);
  std::u16string s = shadow;
  CHECK(apply_delta(s, r.text_events[0].delta));
  CHECK(s == d.text_content(t));
  // The captured update of one transaction carries all of its edits.
  Doc e(2);
  RootHandle te = text_of(e);
  Writer w(3);
  w.doc.begin();
  REQUIRE(w.doc.text_insert(w.t, 0, U("abc")).ok);
  REQUIRE(w.doc.text_insert(w.t, 3, U("def")).ok);
  REQUIRE(w.doc.text_delete(w.t, 1, 1).ok);
  Bytes u = w.doc.commit().update;
  REQUIRE(apply_upd(e, u).ok);
  CHECK(e.text_content(te) == U("acdef"));
}

TEST_CASE("delta sync from every point of a history slices runs correctly", "[properties][encoding]") {
  // One writer types, backspaces, deletes forwards, pastes and types again, one transaction per
  // keystroke, so its op log holds long merged runs of inserts and of forward/backward deletes.
  Writer w(31);
  const std::u16string words = U("typing along 😀 then ");
  for (size_t i = 0; i < words.size(); ++i) {
    if (i + 1 < words.size() && words[i] >= 0xD800 && words[i] <= 0xDBFF) {
      w.insert(static_cast<uint32_t>(w.text().size()), words.substr(i, 2));
      ++i;
    } else {
      w.insert(static_cast<uint32_t>(w.text().size()), words.substr(i, 1));
    }
  }
  for (int k = 0; k < 4; ++k) w.erase(static_cast<uint32_t>(w.text().size()) - 1, 1);  // backspace x4
  for (int k = 0; k < 3; ++k) w.erase(2, 1);                                          // delete key x3
  w.insert(3, U("PASTED BLOCK"));
  w.erase(5, 4);
  for (int k = 0; k < 5; ++k) w.insert(static_cast<uint32_t>(w.text().size()), U("x"));
  const DocView final_view = view_of(w.doc);
  for (size_t k = 0; k <= w.updates.size(); ++k) {
    CAPTURE(k, w.updates.size());
    Doc b(32);
    RootHandle tb = text_of(b);
    for (size_t i = 0; i < k; ++i) REQUIRE(apply_upd(b, w.updates[i]).ok);
    const Bytes delta = since(w.doc, b.state_vector());
    Status st = apply_upd(b, delta);
    INFO(st.message);
    REQUIRE(st.ok);
    CHECK(b.pending_ops() == 0);
    CHECK(b.text_content(tb) == w.text());
    // The same delta on a copy loaded from b's state before it.
    Doc c(33);
    for (size_t i = 0; i < k; ++i) REQUIRE(apply_upd(c, w.updates[i]).ok);
    Doc c2(34);
    REQUIRE(apply_upd(c2, c.encode_state()).ok);
    REQUIRE(apply_upd(c2, delta).ok);
    CHECK(view_of(c2) == final_view);
  }
}

TEST_CASE("state vectors from strangers and from peers ahead", "[properties][encoding]") {
  Doc a(1), b(2);
  RootHandle ta = text_of(a), tb = text_of(b);
  REQUIRE(a.text_insert(ta, 0, U("a's text")).ok);
  REQUIRE(b.text_insert(tb, 0, U("b's text")).ok);
  // b knows nothing of a's client: a sends everything.
  Doc b_copy(3);
  REQUIRE(apply_upd(b_copy, b.encode_state()).ok);
  REQUIRE(apply_upd(b_copy, since(a, b.state_vector())).ok);
  CHECK(b_copy.text_content(text_of(b_copy)).size() == 16);
  // A peer ahead of a (has more of a's ops than a has... a copy with a's ops plus its own).
  Doc ahead(4);
  REQUIRE(apply_upd(ahead, a.encode_state()).ok);
  REQUIRE(ahead.text_insert(text_of(ahead), 0, U(">>")).ok);
  const Bytes nothing = since(a, ahead.state_vector());
  const Bytes before = ahead.encode_state();
  REQUIRE(apply_upd(ahead, nothing).ok);
  CHECK(ahead.encode_state() == before);
}

TEST_CASE("many roots and many clients", "[properties][encoding]") {
  // More than 15 roots (the update format escapes larger root indexes) and dozens of clients.
  std::vector<std::unique_ptr<Doc>> docs;
  for (int i = 0; i < 40; ++i) docs.push_back(std::make_unique<Doc>(1000 + i * 7919));
  Doc hub(999);
  for (int i = 0; i < 40; ++i) {
    Doc& d = *docs[i];
    REQUIRE(apply_upd(d, hub.encode_state()).ok);
    const std::string name = "root-" + std::to_string(i % 23);
    RootHandle t = text_of(d, name.c_str());
    RootHandle m = root_of(d, RootType::Map, ("map-" + std::to_string(i % 19)).c_str());
    RootHandle c = root_of(d, RootType::Counter, ("ctr-" + std::to_string(i % 17)).c_str());
    REQUIRE(d.text_insert(t, 0, U("w") + std::u16string(1, u'A' + i % 26)).ok);
    REQUIRE(d.map_set(m, "by", std::to_string(i)).ok);
    REQUIRE(d.counter_add(c, i).ok);
    REQUIRE(apply_upd(hub, since(d, hub.state_vector())).ok);
  }
  CHECK(hub.roots().size() == 23 + 19 + 17);
  CHECK(hub.pending_ops() == 0);
  const DocView v = view_of(hub);
  CHECK(view_of_loaded(hub.encode_state()) == v);
  for (int i = 0; i < 40; i += 9) {
    Doc& d = *docs[i];
    REQUIRE(apply_upd(d, since(hub, d.state_vector())).ok);
    CHECK(view_of(d) == v);
  }
  int64_t total = 0;
  for (const auto& ri : hub.roots())
    if (ri.type == RootType::Counter) total += hub.counter_value(ri.handle);
  CHECK(total == 39 * 40 / 2);
}

TEST_CASE("client ids at the edges of their range", "[properties][encoding]") {
  for (ClientId id : {ClientId{0}, ClientId{1}, kMaxClientId, kMaxClientId - 1, ClientId{1} << 52}) {
    CAPTURE(id);
    Doc a(id), b(id == 5 ? 6 : 5);
    CHECK(a.client_id() == id);
    RootHandle t = text_of(a), m = root_of(a, RootType::Map, "m");
    REQUIRE(a.text_insert(t, 0, U("edge")).ok);
    REQUIRE(a.map_set(m, "k", "\"v\"").ok);
    REQUIRE(apply_upd(b, a.encode_state()).ok);
    REQUIRE(b.text_insert(text_of(b), 4, U("!")).ok);
    REQUIRE(apply_upd(a, since(b, a.state_vector())).ok);
    CHECK(a.text_content(t) == U("edge!"));
    CHECK(view_of(a) == view_of(b));
  }
  // Ids above 2^53 are not representable in JS; the core keeps them in range.
  Doc big(~ClientId{0});
  CHECK(big.client_id() <= kMaxClientId);
}

TEST_CASE("remote updates applied inside an open transaction", "[properties][transactions]") {
  Doc a(1), r(2);
  RootHandle ta = text_of(a), tr = text_of(r);
  REQUIRE(r.text_insert(tr, 0, U("remote")).ok);
  const Bytes remote = r.encode_state();
  a.set_capture_updates(true);
  a.set_observed(ta, true);
  a.begin();
  REQUIRE(a.text_insert(ta, 0, U("local ")).ok);
  REQUIRE(apply_upd(a, remote).ok);
  REQUIRE(a.text_insert(ta, 0, U(">")).ok);
  TransactionResult res = a.commit();
  CHECK(res.changed);
  REQUIRE(res.text_events.size() == 1);
  std::u16string s;
  CHECK(apply_delta(s, res.text_events[0].delta));
  CHECK(s == a.text_content(ta));
  // A peer that already has the remote ops and one that has not both end equal to a.
  Doc p1(3), p2(4);
  REQUIRE(apply_upd(p1, remote).ok);
  REQUIRE(apply_upd(p1, res.update).ok);
  CHECK(view_of(p1) == view_of(a));
  REQUIRE(apply_upd(p2, res.update).ok);
  REQUIRE(apply_upd(p2, remote).ok);
  CHECK(p2.pending_ops() == 0);
  CHECK(view_of(p2) == view_of(a));
}

TEST_CASE("large values and large texts travel intact", "[properties][encoding]") {
  Doc a(1);
  RootHandle t = text_of(a), m = root_of(a, RootType::Map, "m"), r = root_of(a, RootType::Register, "r");
  std::u16string big;
  for (int i = 0; i < 200000; ++i) big += static_cast<char16_t>(i % 3 == 0 ? u'é' : u'a' + i % 26);
  big += U("😀");
  REQUIRE(a.text_insert(t, 0, big).ok);
  REQUIRE(a.text_delete(t, 1000, 50000).ok);
  std::string json = "[";
  for (int i = 0; i < 20000; ++i) json += (i ? "," : "") + std::string("\"item ") + std::to_string(i) + " ✓\"";
  json += "]";
  REQUIRE(a.map_set(m, std::string(5000, 'k'), json).ok);
  REQUIRE(a.register_set(r, json).ok);
  Doc b(2);
  REQUIRE(apply_upd(b, a.encode_state()).ok);
  CHECK(view_of(b) == view_of(a));
  CHECK(b.text_length(text_of(b)) == big.size() - 50000);
  auto v = b.map_get(root_of(b, RootType::Map, "m"), std::string(5000, 'k'));
  REQUIRE(v.has_value());
  CHECK(nlohmann::json::parse(*v) == nlohmann::json::parse(json));
}

TEST_CASE("root names: empty, unicode, similar", "[properties][roots]") {
  Doc a(1);
  for (const char* name : {"", "körper", "😀", "body", "body ", "Body"}) {
    RootHandle t = text_of(a, name);
    REQUIRE(a.text_insert(t, 0, U(name) + U("|")).ok);
  }
  Doc b(2);
  REQUIRE(apply_upd(b, a.encode_state()).ok);
  CHECK(b.roots().size() == 6);
  CHECK(view_of(b) == view_of(a));
  CHECK(b.text_content(text_of(b, "body ")) == U("body |"));
}

// --- late joiner (rooms): a root empty before a transaction gets one "insert everything" in its
// event, not a delta built run by run (a state of thousands of runs cost several times its load).
TEST_CASE("a root empty before the transaction gets one insert of its whole content", "[properties][events]") {
  std::mt19937 rng(20261130);
  Writer a(11), b(12), c(13);
  RootHandle la = root_of(a.doc, RootType::List, "list");
  for (int step = 0; step < 600; ++step) {  // three writers, random edits, partial syncs: many runs
    Writer& w = step % 3 == 0 ? a : step % 3 == 1 ? b : c;
    const uint32_t len = w.doc.text_length(w.t);
    if (len > 0 && rng() % 4 == 0) REQUIRE(w.doc.text_delete(w.t, rng() % len, 1).ok);
    else REQUIRE(w.doc.text_insert(w.t, rng() % (len + 1), std::u16string(1 + rng() % 3, u'a' + rng() % 26)).ok);
    if (&w == &a && rng() % 2 == 0) {
      const std::string v = std::to_string(step);
      REQUIRE(a.doc.list_insert(la, rng() % (a.doc.list_length(la) + 1), {v}).ok);
    }
    if (rng() % 5 == 0) {
      Writer& x = step % 2 ? b : c;
      REQUIRE(apply_upd(x.doc, since(w.doc, x.doc.state_vector())).ok);
    }
  }
  for (Writer* x : {&b, &c}) REQUIRE(apply_upd(a.doc, since(x->doc, a.doc.state_vector())).ok);
  const Bytes state = a.doc.encode_state();
  const std::u16string content = a.doc.text_content(a.t);
  REQUIRE(a.doc.text_runs(a.t) > 100);

  Doc fresh(99);
  RootHandle t = text_of(fresh), l = root_of(fresh, RootType::List, "list");
  fresh.set_observed(t, true);
  fresh.set_observed(l, true);
  REQUIRE(apply_upd(fresh, state).ok);
  TransactionResult r = fresh.take_last_result();
  REQUIRE(r.text_events.size() == 1);
  REQUIRE(r.text_events[0].delta.size() == 1);
  CHECK(r.text_events[0].delta[0].kind == TextDeltaOp::Insert);
  CHECK(r.text_events[0].delta[0].text == content);
  REQUIRE(r.list_events.size() == 1);
  std::vector<std::string> values;
  CHECK(apply_list_delta(values, r.list_events[0].delta));
  CHECK(values == a.doc.list_values(la));

  // Inserts and deletes in one local transaction on an empty text: the same single insert.
  Doc d(7);
  RootHandle td = text_of(d);
  d.set_observed(td, true);
  d.begin();
  REQUIRE(d.text_insert(td, 0, U("hello world")).ok);
  REQUIRE(d.text_delete(td, 0, 6).ok);
  REQUIRE(d.text_insert(td, 5, U("!")).ok);
  r = d.commit();
  REQUIRE(r.text_events.size() == 1);
  REQUIRE(r.text_events[0].delta.size() == 1);
  CHECK(r.text_events[0].delta[0].text == U("world!"));
  // Everything deleted again in the transaction: no event.
  Doc e(8);
  RootHandle te = text_of(e);
  e.set_observed(te, true);
  e.begin();
  REQUIRE(e.text_insert(te, 0, U("gone")).ok);
  REQUIRE(e.text_delete(te, 0, 4).ok);
  r = e.commit();
  CHECK(r.text_events.empty());
  // Once it holds text, a change gets a fine delta again.
  REQUIRE(fresh.text_insert(t, 1, U("x")).ok);
  r = fresh.take_last_result();
  REQUIRE(r.text_events.size() == 1);
  std::u16string s = content;
  CHECK(apply_delta(s, r.text_events[0].delta));
  CHECK(s == fresh.text_content(t));
  CHECK(r.text_events[0].delta.size() == 2);  // retain 1, insert "x"
}
