// Sticky positions (crdt/sticky.h): anchors tied to elements keep their place through local
// and remote edits, resolve alike on every replica that has their element, and report unknown
// (never a wrong number) where the element has not arrived.
#include <algorithm>
#include <memory>
#include <optional>
#include <random>

#include "codec/sticky_json.h"
#include "crdt/ids.h"
#include "crdt/sticky.h"
#include "test_util.h"

using namespace roomsync;
using namespace roomsync_test;

namespace {

Sticky anchor(const Doc& d, RootHandle root, uint32_t index, int assoc) {
  Sticky s;
  Status st = d.sticky_index(root, index, assoc, &s);
  INFO("sticky_index(" << index << ", " << assoc << "): " << st.message);
  REQUIRE(st.ok);
  return s;
}

std::optional<uint32_t> resolve(const Doc& d, RootHandle root, const Sticky& s) {
  std::optional<uint32_t> out = 12345;
  Status st = d.resolve_sticky(root, s, &out);
  INFO("resolve_sticky: " << st.message);
  REQUIRE(st.ok);
  return out;
}

void insert(Doc& d, RootHandle t, uint32_t pos, const char* s) { REQUIRE(d.text_insert(t, pos, U(s)).ok); }
void erase(Doc& d, RootHandle t, uint32_t pos, uint32_t len) { REQUIRE(d.text_delete(t, pos, len).ok); }

}  // namespace

TEST_CASE("sticky: an anchor resolves to where it was made, at every index and on both sides", "[sticky]") {
  Doc d(7);
  RootHandle t = text_of(d);
  insert(d, t, 0, "hello");
  insert(d, t, 2, "XY");  // several runs
  for (uint32_t i = 0; i <= d.text_length(t); ++i) {
    for (int assoc : {0, -1, 5, -7}) {
      INFO("index " << i << " assoc " << assoc);
      CHECK(resolve(d, t, anchor(d, t, i, assoc)) == i);
    }
  }
  Sticky s = anchor(d, t, 3, 9);
  CHECK(s.assoc == 0);
  CHECK(s.has_element);
  CHECK(s.client == 7);  // the global client id, not the document's index of the client
  CHECK(s.name == "text");
  CHECK(s.type == RootType::Text);
  CHECK(anchor(d, t, 3, -9).assoc == -1);
}

TEST_CASE("sticky: inserts before, after and at the anchor", "[sticky]") {
  Doc d(1);
  RootHandle t = text_of(d);
  insert(d, t, 0, "abcd");
  Sticky before_c = anchor(d, t, 2, 0);   // stays before 'c'
  Sticky after_b = anchor(d, t, 2, -1);   // stays after 'b'
  insert(d, t, 2, "XY");                  // at the anchor: between the two
  CHECK(d.text_content(t) == U("abXYcd"));
  CHECK(resolve(d, t, before_c) == 4u);
  CHECK(resolve(d, t, after_b) == 2u);
  insert(d, t, 0, "__");  // before
  CHECK(resolve(d, t, before_c) == 6u);
  CHECK(resolve(d, t, after_b) == 4u);
  insert(d, t, 8, "zz");  // after
  CHECK(resolve(d, t, before_c) == 6u);
  CHECK(resolve(d, t, after_b) == 4u);
  CHECK(d.text_content(t).substr(6, 1) == U("c"));
  CHECK(d.text_content(t).substr(3, 1) == U("b"));
}

TEST_CASE("sticky: deleting the anchored element or the text around it", "[sticky]") {
  Doc d(1);
  RootHandle t = text_of(d);
  insert(d, t, 0, "abcdef");
  Sticky on_c = anchor(d, t, 2, 0);
  Sticky after_c = anchor(d, t, 3, -1);
  Sticky on_e = anchor(d, t, 4, 0);
  erase(d, t, 3, 1);  // 'd', between two anchors
  CHECK(resolve(d, t, on_c) == 2u);
  CHECK(resolve(d, t, after_c) == 3u);
  CHECK(resolve(d, t, on_e) == 3u);
  erase(d, t, 2, 1);  // 'c' itself: both of its anchors go to where its tombstone sits
  CHECK(d.text_content(t) == U("abef"));
  CHECK(resolve(d, t, on_c) == 2u);
  CHECK(resolve(d, t, after_c) == 2u);
  CHECK(resolve(d, t, on_e) == 2u);
  insert(d, t, 2, "ZZ");  // typed where 'c' was: goes right after 'b', before c's tombstone
  CHECK(d.text_content(t) == U("abZZef"));
  CHECK(resolve(d, t, on_c) == 4u);
  CHECK(resolve(d, t, on_e) == 4u);
  erase(d, t, 1, 4);  // a range holding the anchor and both neighbours
  CHECK(d.text_content(t) == U("af"));
  CHECK(resolve(d, t, on_c) == 1u);
  CHECK(resolve(d, t, on_e) == 1u);
  erase(d, t, 0, 2);  // everything
  CHECK(resolve(d, t, on_c) == 0u);
  CHECK(resolve(d, t, on_e) == 0u);
}

TEST_CASE("sticky: start and end of the root", "[sticky]") {
  Doc d(1);
  RootHandle t = text_of(d);
  Sticky start = anchor(d, t, 0, -1);
  Sticky end = anchor(d, t, 0, 0);  // an empty text: index 0 is its end
  CHECK(!start.has_element);
  CHECK(!end.has_element);
  insert(d, t, 0, "abc");
  CHECK(resolve(d, t, start) == 0u);
  CHECK(resolve(d, t, end) == 3u);
  Sticky end2 = anchor(d, t, 3, 0);
  Sticky start2 = anchor(d, t, 0, -1);
  CHECK(!end2.has_element);
  CHECK(!start2.has_element);
  insert(d, t, 0, "<");
  insert(d, t, 4, ">");
  CHECK(resolve(d, t, start2) == 0u);
  CHECK(resolve(d, t, end2) == 5u);
  // The other sides of the ends are elements: after the last, before the first.
  Sticky after_last = anchor(d, t, 5, -1);
  Sticky before_first = anchor(d, t, 0, 0);
  CHECK(after_last.has_element);
  CHECK(before_first.has_element);
  insert(d, t, 5, "!");
  insert(d, t, 0, "?");
  CHECK(resolve(d, t, after_last) == 6u);
  CHECK(resolve(d, t, before_first) == 1u);
}

TEST_CASE("sticky: a replica without the element reports unknown, then resolves", "[sticky]") {
  Doc a(1), b(2);
  a.set_capture_updates(true);
  RootHandle ta = text_of(a);
  insert(a, ta, 0, "abc");
  Bytes first = a.take_last_result().update;
  insert(a, ta, 3, "def");
  Bytes second = a.take_last_result().update;
  Sticky on_e = anchor(a, ta, 4, 0);
  Sticky after_f = anchor(a, ta, 6, -1);
  Sticky end = anchor(a, ta, 6, 0);

  // b has never heard of a, nor of the root.
  std::optional<uint32_t> out = 99;
  REQUIRE(b.resolve_sticky(on_e, &out).ok);
  CHECK(out == std::nullopt);
  REQUIRE(b.resolve_sticky(end, &out).ok);
  CHECK(out == 0u);

  RootHandle tb = text_of(b);
  CHECK(resolve(b, tb, on_e) == std::nullopt);
  REQUIRE(apply_upd(b, second).ok);  // held back: its parent has not arrived
  CHECK(b.pending_ops() > 0);
  CHECK(resolve(b, tb, on_e) == std::nullopt);
  CHECK(resolve(b, tb, after_f) == std::nullopt);
  REQUIRE(apply_upd(b, first).ok);
  CHECK(resolve(b, tb, on_e) == 4u);
  CHECK(resolve(b, tb, after_f) == 6u);
  // A clock a has not used yet, and a client nobody knows.
  Sticky future = on_e;
  future.clock = 1000;
  CHECK(resolve(b, tb, future) == std::nullopt);
  Sticky stranger = on_e;
  stranger.client = 424242;
  CHECK(resolve(b, tb, stranger) == std::nullopt);
  // The element exists, but in another root: unknown in this one, never its index elsewhere.
  RootHandle other = text_of(b, "other");
  Sticky moved = on_e;
  moved.name = "other";
  CHECK(resolve(b, other, moved) == std::nullopt);
}

TEST_CASE("sticky: bad anchors and positions are errors that change nothing", "[sticky]") {
  Doc d(1);
  RootHandle t = text_of(d);
  RootHandle u = text_of(d, "u");
  RootHandle m = root_of(d, RootType::Map, "text");
  insert(d, t, 0, "abc");
  Sticky s;
  Status st = d.sticky_index(t, 4, 0, &s);
  CHECK(!st.ok);
  CHECK(st.code == Status::kRange);
  CHECK(!d.sticky_index(m, 0, 0, &s).ok);
  CHECK(!d.sticky_index(999, 0, 0, &s).ok);

  Sticky good = anchor(d, t, 1, 0);
  std::optional<uint32_t> out;
  st = d.resolve_sticky(u, good, &out);  // made in text "text", resolved in text "u"
  CHECK(!st.ok);
  CHECK(st.message.find("\"text\"") != std::string::npos);
  CHECK(!d.resolve_sticky(m, good, &out).ok);
  Sticky map_anchor = good;
  map_anchor.type = RootType::Map;
  CHECK(!d.resolve_sticky(map_anchor, &out).ok);
  CHECK(!d.resolve_sticky(t, map_anchor, &out).ok);
  Sticky bad_type = good;
  bad_type.type = static_cast<RootType>(77);
  CHECK(!d.resolve_sticky(bad_type, &out).ok);
  Sticky big_client = good;
  big_client.client = kMaxClientId + 1;
  st = d.resolve_sticky(t, big_client, &out);
  CHECK(!st.ok);
  CHECK(st.code == Status::kRange);
  Sticky big_clock = good;
  big_clock.clock = 0x80000000u;
  CHECK(d.resolve_sticky(t, big_clock, &out).code == Status::kRange);
  // Out-of-range fields matter only with an element.
  Sticky end = anchor(d, t, 3, 0);
  end.client = ~uint64_t{0};
  end.clock = ~0u;
  CHECK(resolve(d, t, end) == 3u);
  CHECK(d.text_content(t) == U("abc"));
}

TEST_CASE("sticky: surrogate pairs", "[sticky]") {
  Doc d(1);
  RootHandle t = text_of(d);
  insert(d, t, 0, "a😀b");  // a, high, low, b
  Sticky s;
  Status st = d.sticky_index(t, 2, 0, &s);
  CHECK(st.code == Status::kRange);
  CHECK(d.sticky_index(t, 2, -1, &s).code == Status::kRange);
  Sticky before_pair = anchor(d, t, 1, 0);
  Sticky after_pair = anchor(d, t, 3, -1);
  insert(d, t, 0, "👋");
  CHECK(resolve(d, t, before_pair) == 3u);
  CHECK(resolve(d, t, after_pair) == 5u);
  insert(d, t, 5, "🎉");  // between the pair and 'b'
  CHECK(resolve(d, t, after_pair) == 5u);
  erase(d, t, 3, 2);  // the pair
  CHECK(d.text_content(t) == U("👋a🎉b"));
  CHECK(resolve(d, t, before_pair) == 3u);
  CHECK(resolve(d, t, after_pair) == 3u);
}

// Three replicas edit around anchored marker characters; their updates reach the others in a
// random (seeded) order, some before their causal parents. After every delivery, on every
// replica, each anchor sits next to its marker; once everything is delivered all replicas agree.
namespace {

struct Fleet {
  std::mt19937_64 rng;
  std::vector<std::unique_ptr<Doc>> docs;
  std::vector<RootHandle> texts;
  std::vector<std::vector<Bytes>> sent;  // per replica, its updates in order

  explicit Fleet(uint64_t seed) : rng(seed) {
    for (int i = 0; i < 3; ++i) {
      docs.push_back(std::make_unique<Doc>(1000 + 17 * i + seed % 7));
      docs.back()->set_capture_updates(true);
      texts.push_back(text_of(*docs.back()));
      sent.emplace_back();
    }
  }
  size_t pick(size_t lo, size_t hi) { return std::uniform_int_distribution<size_t>(lo, hi)(rng); }
  Doc& doc(size_t i) { return *docs[i]; }
  std::u16string text(size_t i) { return docs[i]->text_content(texts[i]); }

  void record(size_t i) { sent[i].push_back(docs[i]->take_last_result().update); }

  // A random edit that keeps every character of `keep`.
  void random_edit(size_t i, const std::u16string& keep) {
    Doc& d = doc(i);
    const std::u16string s = text(i);
    if (s.size() > 4 && pick(0, 2) == 0) {
      uint32_t pos = static_cast<uint32_t>(pick(0, s.size() - 1));
      uint32_t len = static_cast<uint32_t>(pick(1, std::min<size_t>(4, s.size() - pos)));
      bool ok = true;
      for (uint32_t k = pos; k < pos + len; ++k) ok = ok && keep.find(s[k]) == std::u16string::npos;
      if (!ok) return;
      REQUIRE(d.text_delete(texts[i], pos, len).ok);
    } else {
      uint32_t pos = static_cast<uint32_t>(pick(0, s.size()));
      std::u16string ins(pick(1, 3), u'a' + static_cast<char16_t>(pick(0, 25)));
      REQUIRE(d.text_insert(texts[i], pos, ins).ok);
    }
    record(i);
  }

  // Every update of replica `from`, to every other replica, in a random order per destination.
  // `check` runs after every delivery.
  template <typename Check>
  void deliver_all(Check check) {
    for (size_t dst = 0; dst < docs.size(); ++dst) {
      std::vector<const Bytes*> inbox;
      for (size_t src = 0; src < docs.size(); ++src)
        if (src != dst)
          for (const Bytes& b : sent[src]) inbox.push_back(&b);
      std::shuffle(inbox.begin(), inbox.end(), rng);
      for (const Bytes* b : inbox) {
        REQUIRE(apply_upd(doc(dst), *b).ok);
        check(dst);
      }
    }
    for (auto& s : sent) s.clear();
  }
};

}  // namespace

TEST_CASE("sticky: concurrent edits from 3 replicas in random orders keep anchors by their characters",
          "[sticky][convergence]") {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    INFO("seed " << seed);
    Fleet f(seed);
    insert(f.doc(0), f.texts[0], 0, "ab#cd@ef");
    f.record(0);
    f.deliver_all([](size_t) {});
    // Anchors made on three different replicas, on elements replica 0 typed.
    const Sticky before_hash = anchor(f.doc(1), f.texts[1], 2, 0);   // just before '#'
    const Sticky after_at = anchor(f.doc(2), f.texts[2], 6, -1);     // just after '@'
    const Sticky end = anchor(f.doc(0), f.texts[0], 8, 0);
    const std::u16string markers = u"#@";
    auto check_markers = [&](size_t r) {
      const std::u16string s = f.text(r);
      auto h = resolve(f.doc(r), f.texts[r], before_hash);
      auto a = resolve(f.doc(r), f.texts[r], after_at);
      REQUIRE(h.has_value());
      REQUIRE(a.has_value());
      CHECK(s[*h] == u'#');
      CHECK(s[*a - 1] == u'@');
      CHECK(resolve(f.doc(r), f.texts[r], end) == s.size());
    };

    // Round 1: everyone edits concurrently; replica 2 also types an element of its own and
    // anchors to it, which the others do not have until its update arrives.
    for (int step = 0; step < 30; ++step) f.random_edit(f.pick(0, 2), markers);
    const uint32_t at = static_cast<uint32_t>(f.pick(0, f.text(2).size()));
    insert(f.doc(2), f.texts[2], at, "!");
    f.record(2);
    const Sticky on_bang = anchor(f.doc(2), f.texts[2], at, 0);
    CHECK(resolve(f.doc(0), f.texts[0], on_bang) == std::nullopt);
    CHECK(resolve(f.doc(1), f.texts[1], on_bang) == std::nullopt);
    for (int step = 0; step < 30; ++step) f.random_edit(f.pick(0, 2), markers + u"!");
    f.deliver_all([&](size_t r) {
      check_markers(r);
      auto b = resolve(f.doc(r), f.texts[r], on_bang);
      const std::u16string s = f.text(r);
      if (s.find(u'!') == std::u16string::npos) CHECK(b == std::nullopt);
      else CHECK((b.has_value() && s[*b] == u'!'));
    });
    for (size_t r = 0; r < 3; ++r) {
      INFO("replica " << r);
      REQUIRE(f.doc(r).pending_ops() == 0);
      REQUIRE(f.text(r) == f.text(0));
      check_markers(r);
      for (const Sticky* s : {&before_hash, &after_at, &end, &on_bang})
        CHECK(resolve(f.doc(r), f.texts[r], *s) == resolve(f.doc(0), f.texts[0], *s));
    }

    // Round 2: replica 0 deletes '#' while the others keep editing (never '#' or '@').
    // Everyone ends with the anchor where a replica that never saw the deletion has '#'.
    const uint32_t hash = static_cast<uint32_t>(f.text(0).find(u'#'));
    for (int step = 0; step < 10; ++step) f.random_edit(f.pick(1, 2), markers);
    erase(f.doc(0), f.texts[0], hash, 1);
    f.record(0);
    for (int step = 0; step < 20; ++step) f.random_edit(f.pick(1, 2), markers);
    Doc without(98);  // everything but the deletion: what replicas 1 and 2 hold now
    RootHandle wt = text_of(without);
    REQUIRE(apply_upd(without, f.doc(1).encode_state()).ok);
    REQUIRE(apply_upd(without, f.doc(2).encode_state()).ok);
    REQUIRE(without.pending_ops() == 0);
    const std::u16string wtext = without.text_content(wt);
    auto where = resolve(without, wt, before_hash);
    REQUIRE(where.has_value());
    CHECK(wtext[*where] == u'#');
    f.deliver_all([&](size_t r) {
      const std::u16string s = f.text(r);
      auto h = resolve(f.doc(r), f.texts[r], before_hash);
      REQUIRE(h.has_value());
      if (s.find(u'#') != std::u16string::npos) CHECK(s[*h] == u'#');
    });
    for (size_t r = 0; r < 3; ++r) {
      INFO("replica " << r);
      REQUIRE(f.text(r) == f.text(0));
      CHECK(f.text(r).find(u'#') == std::u16string::npos);
      CHECK(resolve(f.doc(r), f.texts[r], before_hash) == where);
      auto a = resolve(f.doc(r), f.texts[r], after_at);
      REQUIRE(a.has_value());
      CHECK(f.text(r)[*a - 1] == u'@');
    }
  }
}

// --- the JSON form (codec/sticky_json.h) ----------------------------------------------------

TEST_CASE("sticky JSON: the JS API's object, round trip", "[sticky][json]") {
  Doc d(10);
  RootHandle t = text_of(d, "t");
  insert(d, t, 0, "abc");
  const Sticky s = anchor(d, t, 1, 0);
  CHECK(sticky_to_json(s) == R"({"t":"text","r":"t","c":10,"k":1,"a":0})");  // as JSON.stringify writes it
  CHECK(sticky_to_json(anchor(d, t, 0, -1)) == R"({"t":"text","r":"t","a":-1})");
  Sticky big = s;
  big.client = kMaxClientId;
  big.clock = kMaxClock;
  big.name = "ünï \"q\" 😀";
  big.assoc = -1;
  for (const Sticky& x : {s, big, anchor(d, t, 3, 0), anchor(d, t, 0, -1)}) {
    Sticky y;
    Status st = sticky_from_json(sticky_to_json(x), &y);
    INFO(sticky_to_json(x) << ": " << st.message);
    REQUIRE(st.ok);
    CHECK(y.type == x.type);
    CHECK(y.name == x.name);
    CHECK(y.has_element == x.has_element);
    CHECK(y.client == (x.has_element ? x.client : 0));
    CHECK(y.clock == (x.has_element ? x.clock : 0));
    CHECK(y.assoc == x.assoc);
  }
  Sticky y;
  REQUIRE(sticky_from_json(R"( {"a":0.0,"k":1.0,"extra":[1],"c":10,"r":"t","t":"text"} )", &y).ok);
  CHECK(resolve(d, t, y) == 1u);
  REQUIRE(sticky_from_json(R"({"t":"text","r":"t","c":null,"k":null,"a":0})", &y).ok);
  CHECK(!y.has_element);
  CHECK(resolve(d, t, y) == 3u);
}

TEST_CASE("sticky JSON: garbage is a Status, never a crash", "[sticky][json]") {
  const char* invalid[] = {
      "", "null", "[]", "\"t\"", "{}", "{", R"({"t":"text","r":"t","c":1,"k":1,"a":0)",
      R"({"r":"t","a":0})", R"({"t":"map","r":"t","a":0})", R"({"t":1,"r":"t","a":0})",
      R"({"t":"text","a":0})", R"({"t":"text","r":5,"a":0})", R"({"t":"text","r":"\ud800","a":0})",
      R"({"t":"text","r":"t"})", R"({"t":"text","r":"t","a":"0"})", R"({"t":"text","r":"t","a":false})",
      R"({"t":"text","r":"t","c":1,"a":0})", R"({"t":"text","r":"t","k":1,"a":0})",
      R"({"t":"text","r":"t","c":1,"k":null,"a":0})", R"({"t":"text","r":"t","c":"1","k":1,"a":0})",
      R"({"t":"text","r":"t","c":1,"k":[1],"a":0})", "{\"t\":\"text\",\"r\":\"\xff\",\"a\":0}"};
  const char* out_of_range[] = {
      R"({"t":"text","r":"t","a":1})", R"({"t":"text","r":"t","a":-2})", R"({"t":"text","r":"t","a":0.5})",
      R"({"t":"text","r":"t","c":-1,"k":1,"a":0})", R"({"t":"text","r":"t","c":9007199254740992,"k":1,"a":0})",
      R"({"t":"text","r":"t","c":1.5,"k":1,"a":0})", R"({"t":"text","r":"t","c":1e400,"k":1,"a":0})",
      R"({"t":"text","r":"t","c":1,"k":2147483648,"a":0})", R"({"t":"text","r":"t","c":1,"k":-1,"a":0})",
      R"({"t":"text","r":"t","c":18446744073709551615,"k":1,"a":0})"};
  Sticky keep;
  keep.name = "untouched";
  for (const char* s : invalid) {
    INFO(s);
    Sticky out = keep;
    Status st = sticky_from_json(s, &out);
    CHECK(!st.ok);
    CHECK(out.name == "untouched");
  }
  for (const char* s : out_of_range) {
    INFO(s);
    Sticky out = keep;
    Status st = sticky_from_json(s, &out);
    CHECK(!st.ok);
    CHECK((st.code == Status::kRange || st.code == Status::kInvalid));
    CHECK(out.name == "untouched");
  }
  Sticky out;
  CHECK(!sticky_from_json(std::string(100000, '['), &out).ok);
  CHECK(!sticky_from_json(std::string(50000, '[') + std::string(50000, ']'), &out).ok);
  // Random corruptions of a valid anchor: either an anchor that encodes back to itself or an error.
  std::mt19937 rng(12345);
  const std::string good = R"({"t":"text","r":"t","c":10,"k":1,"a":-1})";
  for (int i = 0; i < 20000; ++i) {
    std::string s = good;
    for (int n = 1 + static_cast<int>(rng() % 3); n > 0; --n) {
      size_t at = rng() % s.size();
      switch (rng() % 3) {
        case 0: s[at] = static_cast<char>(rng()); break;
        case 1: s.erase(at, 1); break;
        default: s.insert(at, 1, "{}[]\",:-019.eE\\ntu"[rng() % 18]);
      }
    }
    if (sticky_from_json(s, &out).ok) {
      Sticky again;
      INFO(s);
      REQUIRE(sticky_from_json(sticky_to_json(out), &again).ok);
      CHECK(sticky_to_json(again) == sticky_to_json(out));
    }
  }
}

// --- List roots: the same anchors over elements (JSON values) ---------------------------------

namespace {

void list_push(Doc& d, RootHandle l, uint32_t at, std::vector<std::string_view> values) {
  Status st = d.list_insert(l, at, values);
  INFO("list_insert: " << st.message);
  REQUIRE(st.ok);
}

}  // namespace

TEST_CASE("sticky: list anchors follow their elements; a text's anchor is no list's", "[sticky][list]") {
  Doc d(3);
  RootHandle l = root_of(d, RootType::List, "todos");
  RootHandle t = text_of(d, "todos");
  list_push(d, l, 0, {"1", "\"milk\"", "{\"x\":2}", "null"});
  const Sticky on_milk = anchor(d, l, 1, 0);
  const Sticky after_milk = anchor(d, l, 2, -1);
  const Sticky end = anchor(d, l, 4, 0);
  CHECK(on_milk.type == RootType::List);
  CHECK(sticky_to_json(on_milk) == R"({"t":"list","r":"todos","c":3,"k":1,"a":0})");
  list_push(d, l, 0, {"true", "false"});
  list_push(d, l, 4, {"\"between\""});  // right after milk: after the after-anchor
  CHECK(resolve(d, l, on_milk) == 3u);
  CHECK(resolve(d, l, after_milk) == 4u);
  CHECK(resolve(d, l, end) == 7u);
  CHECK(d.list_get(l, 3) == "\"milk\"");
  REQUIRE(d.list_delete(l, 2, 3).ok);  // 1, milk, between
  CHECK(resolve(d, l, on_milk) == 2u);
  CHECK(resolve(d, l, after_milk) == 2u);
  CHECK(d.list_get(l, 2) == "{\"x\":2}");
  // Text and list of one name are two roots: their anchors do not mix.
  insert(d, t, 0, "abc");
  std::optional<uint32_t> out;
  CHECK(!d.resolve_sticky(t, on_milk, &out).ok);
  CHECK(!d.resolve_sticky(l, anchor(d, t, 1, 0), &out).ok);
  Sticky s;
  CHECK(d.sticky_index(l, 5, 0, &s).code == Status::kRange);
  Sticky from_json;
  REQUIRE(sticky_from_json(sticky_to_json(after_milk), &from_json).ok);
  CHECK(resolve(d, l, from_json) == 2u);
}

TEST_CASE("sticky: list anchors under concurrent edits from 3 replicas in random orders", "[sticky][list][convergence]") {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    auto pick = [&](size_t lo, size_t hi) { return std::uniform_int_distribution<size_t>(lo, hi)(rng); };
    std::vector<std::unique_ptr<Doc>> docs;
    std::vector<RootHandle> lists;
    std::vector<std::vector<Bytes>> sent(3);
    for (int i = 0; i < 3; ++i) {
      docs.push_back(std::make_unique<Doc>(500 + 31 * i));
      docs.back()->set_capture_updates(true);
      lists.push_back(root_of(*docs.back(), RootType::List, "l"));
    }
    list_push(*docs[0], lists[0], 0, {"0", "\"#\"", "1", "\"@\"", "2"});
    const Bytes base = docs[0]->take_last_result().update;
    for (int i = 1; i < 3; ++i) REQUIRE(apply_upd(*docs[i], base).ok);
    const Sticky on_hash = anchor(*docs[1], lists[1], 1, 0);
    const Sticky after_at = anchor(*docs[2], lists[2], 4, -1);
    int next = 10;
    for (int step = 0; step < 60; ++step) {
      const size_t i = pick(0, 2);
      Doc& d = *docs[i];
      const std::vector<std::string> v = d.list_values(lists[i]);
      if (v.size() > 3 && pick(0, 2) == 0) {
        const uint32_t at = static_cast<uint32_t>(pick(0, v.size() - 1));
        if (v[at] == "\"#\"" || v[at] == "\"@\"") continue;
        REQUIRE(d.list_delete(lists[i], at, 1).ok);
      } else {
        const std::string n = std::to_string(next++);
        list_push(d, lists[i], static_cast<uint32_t>(pick(0, v.size())), {n});
      }
      sent[i].push_back(d.take_last_result().update);
    }
    auto check = [&](size_t r) {
      auto h = resolve(*docs[r], lists[r], on_hash);
      auto a = resolve(*docs[r], lists[r], after_at);
      REQUIRE(h.has_value());
      REQUIRE(a.has_value());
      CHECK(docs[r]->list_get(lists[r], *h) == "\"#\"");
      CHECK(docs[r]->list_get(lists[r], *a - 1) == "\"@\"");
    };
    for (size_t dst = 0; dst < 3; ++dst) {
      std::vector<const Bytes*> inbox;
      for (size_t src = 0; src < 3; ++src)
        if (src != dst)
          for (const Bytes& b : sent[src]) inbox.push_back(&b);
      std::shuffle(inbox.begin(), inbox.end(), rng);
      for (const Bytes* b : inbox) {
        REQUIRE(apply_upd(*docs[dst], *b).ok);
        check(dst);
      }
    }
    for (size_t r = 1; r < 3; ++r) {
      REQUIRE(docs[r]->list_content(lists[r]) == docs[0]->list_content(lists[0]));
      CHECK(resolve(*docs[r], lists[r], on_hash) == resolve(*docs[0], lists[0], on_hash));
      CHECK(resolve(*docs[r], lists[r], after_at) == resolve(*docs[0], lists[0], after_at));
    }
  }
}
