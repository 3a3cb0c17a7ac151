// Undo and redo (crdt/undo.h): every root type, merged steps, redo, and concurrency: an undo
// is an ordinary local change, so replicas that undo while peers edit still converge, and an
// undo reverts only this replica's own changes, in place.
#include <algorithm>
#include <memory>
#include <random>

#include "crdt/undo.h"
#include "test_util.h"

using namespace roomsync;
using namespace roomsync_test;

namespace {

// A replica with an undo manager over the whole document; every local edit is tracked.
struct Rep {
  std::unique_ptr<Doc> doc;
  std::unique_ptr<UndoManager> um;
  RootHandle text = 0, map = 0, reg = 0, ctr = 0, list = 0;

  explicit Rep(ClientId id) : doc(std::make_unique<Doc>(id)) {
    text = text_of(*doc, "text");
    list = root_of(*doc, RootType::List, "list");
    map = root_of(*doc, RootType::Map, "map");
    reg = root_of(*doc, RootType::Register, "reg");
    ctr = root_of(*doc, RootType::Counter, "ctr");
    um = std::make_unique<UndoManager>(*doc);
  }
  std::u16string str() const { return doc->text_content(text); }
  // A tracked edit: the edit, then capture (a new step, or merged into the top one).
  template <typename Fn>
  void edit(Fn fn, bool merge = false) {
    REQUIRE(fn(*doc).ok);
    um->capture(merge);
  }
  void ins(uint32_t pos, const char* s, bool merge = false) {
    edit([&](Doc& d) { return d.text_insert(text, pos, U(s)); }, merge);
  }
  void del(uint32_t pos, uint32_t len, bool merge = false) {
    edit([&](Doc& d) { return d.text_delete(text, pos, len); }, merge);
  }
  bool undo() {
    bool changed = false;
    REQUIRE(um->undo(&changed).ok);
    return changed;
  }
  bool redo() {
    bool changed = false;
    REQUIRE(um->redo(&changed).ok);
    return changed;
  }
  std::optional<std::string> get(const char* key) const { return doc->map_get(map, key); }
  void lins(uint32_t pos, std::vector<std::string_view> values, bool merge = false) {
    edit([&](Doc& d) { return d.list_insert(list, pos, values); }, merge);
  }
  void ldel(uint32_t pos, uint32_t n, bool merge = false) {
    edit([&](Doc& d) { return d.list_delete(list, pos, n); }, merge);
  }
  std::string items() const { return doc->list_content(list); }
};

// Sends everything `from` has that `to` lacks.
void sync(Rep& from, Rep& to) { REQUIRE(apply_upd(*to.doc, since(*from.doc, to.doc->state_vector())).ok); }
void sync_both(Rep& a, Rep& b) {
  sync(a, b);
  sync(b, a);
}

}  // namespace

TEST_CASE("undo/redo: text inserts and deletes, step by step", "[undo]") {
  Rep a(1);
  a.ins(0, "hello");
  a.ins(5, " world");
  a.del(0, 1);
  CHECK(a.str() == U("ello world"));
  CHECK(a.um->undo_size() == 3);
  CHECK(a.undo());
  CHECK(a.str() == U("hello world"));
  CHECK(a.undo());
  CHECK(a.str() == U("hello"));
  CHECK(a.undo());
  CHECK(a.str() == U(""));
  CHECK_FALSE(a.undo());  // nothing left
  CHECK(a.um->redo_size() == 3);
  CHECK(a.redo());
  CHECK(a.str() == U("hello"));
  CHECK(a.redo());
  CHECK(a.str() == U("hello world"));
  CHECK(a.redo());
  CHECK(a.str() == U("ello world"));
  CHECK_FALSE(a.redo());
  // And all the way back again: copies made by undo are followed.
  CHECK(a.undo());
  CHECK(a.undo());
  CHECK(a.undo());
  CHECK(a.str() == U(""));
  CHECK(a.redo());
  CHECK(a.redo());
  CHECK(a.str() == U("hello world"));
}

TEST_CASE("undo: changes made before the manager existed, or not captured, stay", "[undo]") {
  Doc doc(7);
  RootHandle t = text_of(doc);
  REQUIRE(doc.text_insert(t, 0, U("base")).ok);
  UndoManager um(doc);
  CHECK(um.capture(false) == 0);  // the insert above is older than the manager
  REQUIRE(doc.text_insert(t, 4, U("!")).ok);
  CHECK(um.capture(false) == UndoManager::kAdded);
  CHECK(um.capture(false) == 0);  // captured already
  REQUIRE(doc.text_insert(t, 0, U(">")).ok);  // an untracked change: no capture
  bool changed = false;
  REQUIRE(um.undo(&changed).ok);
  CHECK(changed);
  CHECK(doc.text_content(t) == U(">base"));
}

TEST_CASE("undo: steps merged by capture(merge) revert together", "[undo]") {
  Rep a(1);
  a.ins(0, "a");
  a.ins(1, "b", true);
  a.ins(2, "c", true);
  a.ins(3, "d");  // a new step
  CHECK(a.um->undo_size() == 2);
  a.undo();
  CHECK(a.str() == U("abc"));
  a.undo();
  CHECK(a.str() == U(""));
  a.redo();
  CHECK(a.str() == U("abc"));
}

TEST_CASE("undo: text typed and erased within one step does not come back", "[undo]") {
  Rep a(1);
  a.ins(0, "xy");
  a.ins(1, "abc");              // xabcy
  a.del(2, 1, true);            // xacy, same step as the insert
  a.undo();
  CHECK(a.str() == U("xy"));
  a.redo();
  CHECK(a.str() == U("xacy"));
  a.undo();
  a.undo();
  CHECK(a.str() == U(""));
}

TEST_CASE("undo: a deleted range typed by others comes back in place", "[undo]") {
  Rep a(1), b(2);
  REQUIRE(b.doc->text_insert(b.text, 0, U("one two three")).ok);
  sync(b, a);
  a.del(3, 4);  // "one three"
  a.del(0, 3);  // " three"
  a.undo();
  CHECK(a.str() == U("one three"));
  a.undo();
  CHECK(a.str() == U("one two three"));
  sync_both(a, b);
  CHECK(b.str() == U("one two three"));
}

TEST_CASE("undo: a new tracked change clears the redo stack", "[undo]") {
  Rep a(1);
  a.ins(0, "ab");
  a.undo();
  CHECK(a.um->redo_size() == 1);
  REQUIRE(a.doc->text_insert(a.text, 0, U("x")).ok);
  CHECK(a.um->capture(false) == (UndoManager::kAdded | UndoManager::kRedoCleared));
  CHECK(a.um->redo_size() == 0);
  CHECK_FALSE(a.redo());
  CHECK(a.str() == U("x"));
}

TEST_CASE("undo: maps get their previous value back, or lose the key", "[undo]") {
  Rep a(1);
  a.edit([&](Doc& d) { return d.map_set(a.map, "k", "1"); });
  a.edit([&](Doc& d) { return d.map_set(a.map, "k", "{\"v\":2}"); });
  a.edit([&](Doc& d) { return d.map_delete(a.map, "k"); });
  a.edit([&](Doc& d) { return d.map_set(a.map, "j", "true"); });
  a.edit([&](Doc& d) { return d.map_set(a.map, "j", "false"); }, true);  // merged: one step
  a.undo();
  CHECK_FALSE(a.doc->map_has(a.map, "j"));  // j did not exist before the merged step
  a.undo();
  CHECK(a.get("k") == "{\"v\":2}");
  a.undo();
  CHECK(a.get("k") == "1");
  a.undo();
  CHECK_FALSE(a.doc->map_has(a.map, "k"));
  a.redo();
  a.redo();
  CHECK(a.get("k") == "{\"v\":2}");
  a.redo();
  CHECK_FALSE(a.doc->map_has(a.map, "k"));
  a.redo();
  CHECK(a.get("j") == "false");
}

TEST_CASE("undo: a key written again after many others in one step", "[undo]") {
  // The step keeps two entries for "k" (its duplicate search is bounded); undo still restores
  // the value from before the step, redo the last one.
  Rep a(1);
  a.edit([&](Doc& d) { return d.map_set(a.map, "k", "0"); });
  a.edit([&](Doc& d) { return d.map_set(a.map, "k", "1"); });
  for (int i = 0; i < 20; ++i)
    a.edit([&](Doc& d) { return d.map_set(a.map, "x" + std::to_string(i), "1"); }, true);
  a.edit([&](Doc& d) { return d.map_set(a.map, "k", "2"); }, true);
  a.edit([&](Doc& d) { return d.map_delete(a.map, "x3"); }, true);
  CHECK(a.um->undo_size() == 2);
  a.undo();
  CHECK(a.get("k") == "0");
  CHECK(a.doc->map_keys(a.map) == std::vector<std::string>{"k"});
  a.redo();
  CHECK(a.get("k") == "2");
  CHECK(a.doc->map_keys(a.map).size() == 20);
  a.undo();
  a.undo();
  CHECK(a.doc->map_keys(a.map).empty());
}

TEST_CASE("undo: registers and counters", "[undo]") {
  Rep a(1);
  a.edit([&](Doc& d) { return d.register_set(a.reg, "\"first\""); });
  a.edit([&](Doc& d) { return d.register_set(a.reg, "\"second\""); });
  a.edit([&](Doc& d) { return d.counter_add(a.ctr, 5); });
  a.edit([&](Doc& d) { return d.counter_add(a.ctr, -2); }, true);
  a.edit([&](Doc& d) { return d.counter_add(a.ctr, 10); });
  a.undo();
  CHECK(a.doc->counter_value(a.ctr) == 3);
  a.undo();
  CHECK(a.doc->counter_value(a.ctr) == 0);
  a.undo();
  CHECK(a.doc->register_get(a.reg) == "\"first\"");
  a.undo();
  CHECK_FALSE(a.doc->register_get(a.reg).has_value());
  a.redo();
  CHECK(a.doc->register_get(a.reg) == "\"first\"");
  // Other replicas see the same: the undo is an ordinary change.
  Rep b(2);
  sync(a, b);
  CHECK(view_of(*b.doc) == view_of(*a.doc));
  a.redo();
  a.redo();
  CHECK(a.doc->counter_value(a.ctr) == 3);
}

TEST_CASE("undo: counter steps at the ends of the int64 range", "[undo]") {
  Rep a(1);
  a.edit([&](Doc& d) { return d.counter_add(a.ctr, 7); });
  a.edit([&](Doc& d) { return d.counter_add(a.ctr, INT64_MIN); });
  a.edit([&](Doc& d) { return d.counter_add(a.ctr, -5); }, true);  // would overflow the step's sum
  a.edit([&](Doc& d) { return d.counter_add(a.ctr, INT64_MAX); }, true);
  a.edit([&](Doc& d) { return d.counter_add(a.ctr, INT64_MIN); }, true);
  a.undo();
  CHECK(a.doc->counter_value(a.ctr) == 7);
  a.redo();
  CHECK(a.doc->counter_value(a.ctr) == INT64_MIN + 1);  // 7 - 2^63 - 5 + 2^63 - 1 - 2^63
  a.undo();
  a.undo();
  CHECK(a.doc->counter_value(a.ctr) == 0);
}

TEST_CASE("undo: lists, step by step and under concurrency", "[undo]") {
  Rep a(1), b(2);
  a.lins(0, {"1", "2", "3"});
  a.lins(3, {"{\"x\":4}"});
  a.ldel(0, 1);
  CHECK(a.items() == "[2,3,{\"x\":4}]");
  a.undo();
  CHECK(a.items() == "[1,2,3,{\"x\":4}]");
  a.undo();
  CHECK(a.items() == "[1,2,3]");
  a.redo();
  CHECK(a.items() == "[1,2,3,{\"x\":4}]");
  // A peer inserts inside what a inserted: undoing deletes only a's values.
  sync_both(a, b);
  REQUIRE(b.doc->list_insert(b.list, 2, {"\"b\""}).ok);
  sync(b, a);
  a.undo();  // the {"x":4} push
  a.undo();  // 1, 2, 3
  CHECK(a.items() == "[\"b\"]");
  sync_both(a, b);
  CHECK(b.items() == a.items());
  a.redo();
  a.redo();
  CHECK(a.items() == "[1,2,\"b\",3,{\"x\":4}]");
  // A deleted range comes back in place around concurrent inserts.
  sync_both(a, b);
  a.ldel(1, 3);  // 2, "b", 3
  REQUIRE(b.doc->list_insert(b.list, 3, {"\"in\""}).ok);   // between "b" and 3
  REQUIRE(b.doc->list_insert(b.list, 6, {"\"end\""}).ok);  // at the end
  sync_both(a, b);
  CHECK(a.items() == "[1,\"in\",{\"x\":4},\"end\"]");
  a.undo();
  CHECK(a.items() == "[1,2,\"b\",\"in\",3,{\"x\":4},\"end\"]");
  sync_both(a, b);
  CHECK(b.items() == a.items());
}

TEST_CASE("undo: a scoped manager tracks only its roots", "[undo]") {
  Doc doc(3);
  RootHandle t = text_of(doc), m = root_of(doc, RootType::Map, "m");
  UndoManager um(doc, {t});
  REQUIRE(doc.map_set(m, "k", "1").ok);
  CHECK(um.capture(false) == 0);
  doc.begin();
  REQUIRE(doc.map_set(m, "k", "2").ok);
  REQUIRE(doc.text_insert(t, 0, U("hi")).ok);
  doc.commit();
  CHECK(um.capture(false) == UndoManager::kAdded);
  REQUIRE(um.undo().ok);
  CHECK(doc.text_content(t) == U(""));
  CHECK(doc.map_get(m, "k") == "2");
}

TEST_CASE("undo: remote changes are never captured", "[undo]") {
  Rep a(1), b(2);
  b.ins(0, "remote");
  sync(b, a);
  CHECK(a.um->capture(false) == 0);
  CHECK(a.um->undo_size() == 0);
}

TEST_CASE("undo concurrency: undoing an insert deletes only this replica's characters", "[undo]") {
  Rep a(1), b(2);
  a.ins(0, "hello");
  sync(a, b);
  REQUIRE(b.doc->text_insert(b.text, 2, U("XY")).ok);  // heXYllo
  REQUIRE(b.doc->text_insert(b.text, 7, U("!")).ok);
  sync(b, a);
  CHECK(a.str() == U("heXYllo!"));
  a.undo();
  CHECK(a.str() == U("XY!"));
  sync_both(a, b);
  CHECK(b.str() == U("XY!"));
  a.redo();
  sync_both(a, b);
  CHECK(a.str() == b.str());
  CHECK(a.str().size() == 8);
}

TEST_CASE("undo concurrency: a deleted range comes back at its place around concurrent inserts", "[undo]") {
  Rep a(1), b(2);
  REQUIRE(b.doc->text_insert(b.text, 0, U("abcdefgh")).ok);
  sync(b, a);
  a.del(2, 4);  // ab|cdef|gh -> abgh
  // Concurrently b types inside the range, right before it, and right after it.
  REQUIRE(b.doc->text_insert(b.text, 4, U("X")).ok);  // abcdXefgh
  REQUIRE(b.doc->text_insert(b.text, 2, U("<")).ok);  // ab<cdXefgh
  REQUIRE(b.doc->text_insert(b.text, 8, U(">")).ok);  // ab<cdXef>gh
  sync_both(a, b);
  CHECK(a.str() == U("ab<X>gh"));
  CHECK(b.str() == a.str());
  a.undo();
  CHECK(a.str() == U("ab<cdXef>gh"));
  sync_both(a, b);
  CHECK(b.str() == U("ab<cdXef>gh"));
  // A peer deleting some of the restored text meanwhile does not bother redo.
  REQUIRE(b.doc->text_delete(b.text, 3, 1).ok);
  a.redo();
  sync_both(a, b);
  CHECK(a.str() == U("ab<X>gh"));
  CHECK(b.str() == a.str());
}

TEST_CASE("undo concurrency: a key a peer wrote since keeps the peer's value", "[undo]") {
  Rep a(1), b(2);
  a.edit([&](Doc& d) { return d.map_set(a.map, "k", "1"); });
  a.edit([&](Doc& d) { return d.map_set(a.map, "k", "2"); });
  a.edit([&](Doc& d) { return d.map_set(a.map, "other", "1"); });
  sync(a, b);
  REQUIRE(b.doc->map_set(b.map, "k", "\"b\"").ok);
  sync(b, a);
  a.undo();  // "other" goes
  CHECK_FALSE(a.doc->map_has(a.map, "other"));
  bool changed = true;
  REQUIRE(a.um->undo(&changed).ok);  // both k steps are b's now: nothing to revert
  CHECK_FALSE(changed);
  CHECK(a.get("k") == "\"b\"");
  CHECK(a.um->undo_size() == 0);
}

TEST_CASE("undo: observers get a delta that describes the undo", "[undo]") {
  Rep a(1), b(2);
  REQUIRE(b.doc->text_insert(b.text, 0, U("0123456789")).ok);
  sync(b, a);
  a.doc->set_observed(a.text, true);
  a.del(3, 3);
  a.ins(1, "ab");
  a.del(5, 3, true);
  (void)a.doc->take_last_result();
  for (int i = 0; i < 4; ++i) {
    std::u16string seen = a.str();
    if (i < 2) a.undo();
    else a.redo();
    TransactionResult res = a.doc->take_last_result();
    REQUIRE(res.text_events.size() == 1);
    CHECK(apply_delta(seen, res.text_events[0].delta));
    CHECK(seen == a.str());
  }
}

TEST_CASE("undo: undo inside an open transaction joins it", "[undo]") {
  Rep a(1);
  a.doc->set_capture_updates(true);
  a.ins(0, "abc");
  a.doc->begin();
  REQUIRE(a.um->undo().ok);
  REQUIRE(a.doc->text_insert(a.text, 0, U("z")).ok);
  (void)a.doc->commit();
  Rep b(2);
  sync(a, b);
  CHECK(b.str() == U("z"));
  CHECK(a.um->redo_size() == 1);
}

// Several replicas edit every root type, undo and redo at random while a random network
// delivers their updates in any order; at the end every replica holds the same document.
TEST_CASE("undo convergence: random edits, undos and redos under concurrency", "[undo][convergence]") {
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    auto pick = [&](size_t lo, size_t hi) { return std::uniform_int_distribution<size_t>(lo, hi)(rng); };
    const size_t n = pick(2, 4);
    std::vector<std::unique_ptr<Rep>> reps;
    for (size_t i = 0; i < n; ++i) {
      reps.push_back(std::make_unique<Rep>(100 + i));
      reps[i]->doc->set_capture_updates(true);
      reps[i]->doc->set_observed(reps[i]->text, true);
    }
    std::vector<Bytes> log;
    std::vector<std::vector<size_t>> inbox(n);  // per replica: updates not delivered yet
    std::vector<std::u16string> seen(n);        // text as told by observer deltas
    auto after = [&](size_t r) {
      TransactionResult res = reps[r]->doc->take_last_result();
      for (const auto& e : res.text_events) REQUIRE(apply_delta(seen[r], e.delta));
      CHECK(seen[r] == reps[r]->str());
      seen[r] = reps[r]->str();
      if (res.update.empty()) return;
      log.push_back(std::move(res.update));
      for (size_t o = 0; o < n; ++o)
        if (o != r) inbox[o].push_back(log.size() - 1);
    };
    const char* words[] = {"a", "bc", "def", "é", "😀", "xyz!"};
    for (int step = 0; step < 300; ++step) {
      const size_t r = pick(0, n - 1);
      Rep& x = *reps[r];
      const int roll = static_cast<int>(pick(0, 99));
      const bool merge = pick(0, 2) == 0;
      if (roll < 30) {
        const uint32_t len = x.doc->text_length(x.text);
        uint32_t pos = static_cast<uint32_t>(pick(0, len));
        std::u16string s = x.str();
        if (pos > 0 && pos < len && s[pos] >= 0xDC00 && s[pos] <= 0xDFFF) --pos;
        x.ins(pos, words[pick(0, 5)], merge);
      } else if (roll < 45) {
        const uint32_t len = x.doc->text_length(x.text);
        if (len == 0) continue;
        std::u16string s = x.str();
        uint32_t pos = static_cast<uint32_t>(pick(0, len - 1));
        uint32_t cnt = static_cast<uint32_t>(pick(1, std::min<uint32_t>(len - pos, 6)));
        if (s[pos] >= 0xDC00 && s[pos] <= 0xDFFF) --pos, ++cnt;
        if (pos + cnt < len && s[pos + cnt] >= 0xDC00 && s[pos + cnt] <= 0xDFFF) ++cnt;
        x.del(pos, cnt, merge);
      } else if (roll < 52) {
        const std::string key(1, static_cast<char>('a' + pick(0, 3)));
        if (pick(0, 3) == 0) x.edit([&](Doc& d) { return d.map_delete(x.map, key); }, merge);
        else x.edit([&](Doc& d) { return d.map_set(x.map, key, std::to_string(step)); }, merge);
      } else if (roll < 56) {
        x.edit([&](Doc& d) { return d.register_set(x.reg, std::to_string(step)); }, merge);
      } else if (roll < 60) {
        x.edit([&](Doc& d) { return d.counter_add(x.ctr, static_cast<int64_t>(pick(0, 20)) - 10); }, merge);
      } else if (roll < 66) {
        const uint32_t len = x.doc->list_length(x.list);
        if (len > 0 && pick(0, 2) == 0) {
          const uint32_t pos = static_cast<uint32_t>(pick(0, len - 1));
          x.ldel(pos, static_cast<uint32_t>(pick(1, std::min<uint32_t>(len - pos, 4))), merge);
        } else {
          const std::string v = std::to_string(step);
          std::vector<std::string_view> vals(pick(1, 3), v);
          x.lins(static_cast<uint32_t>(pick(0, len)), vals, merge);
        }
      } else if (roll < 76) {
        x.undo();
      } else if (roll < 82) {
        x.redo();
      } else {
        // Deliver some of the replica's inbox, in random order.
        auto& box = inbox[r];
        std::shuffle(box.begin(), box.end(), rng);
        const size_t k = pick(0, box.size());
        for (size_t i = 0; i < k; ++i) {
          REQUIRE(apply_upd(*x.doc, log[box.back()]).ok);
          box.pop_back();
          after(r);
        }
        continue;
      }
      after(r);
    }
    for (size_t r = 0; r < n; ++r) {
      std::shuffle(inbox[r].begin(), inbox[r].end(), rng);
      for (size_t u : inbox[r]) REQUIRE(apply_upd(*reps[r]->doc, log[u]).ok);
      CHECK(reps[r]->doc->pending_ops() == 0);
    }
    const DocView v0 = view_of(*reps[0]->doc);
    for (size_t r = 1; r < n; ++r) CHECK(view_of(*reps[r]->doc) == v0);
    CHECK(view_of_loaded(reps[0]->doc->encode_state()) == v0);
  }
}
