// The typing fast path (Doc::text_insert: a keystroke right after the previous one grows the same
// run and op without lookups) gives the same document as the general path whatever comes in
// between: edits of another text, a map write, deletes, remote updates, a cursor that moves,
// surrogate pairs. Seeded: every local edit is checked against a plain string, and replicas that
// type concurrently and sync at random moments converge.
#include <random>
#include <string>
#include <vector>

#include "test_util.h"

using namespace roomsync;
using namespace roomsync_test;

namespace {

struct Typist {
  explicit Typist(ClientId id) : doc(id), text(text_of(doc)), other(text_of(doc, "notes")),
                                 map(root_of(doc, RootType::Map, "meta")) {}
  Doc doc;
  RootHandle text, other, map;
  std::u16string model;  // the text as this replica's own edits (and its syncs) make it
  uint32_t cursor = 0;
};

// One step of a typist: mostly a keystroke at the cursor, sometimes something that must end the
// fast path (a move, a backspace, an edit elsewhere).
void step(Typist& t, std::mt19937& rng) {
  const uint32_t r = rng() % 100;
  if (r >= 80 && r < 88) t.cursor = static_cast<uint32_t>(rng() % (t.model.size() + 1));
  // After a move or a sync: inside the text, never between the halves of a pair.
  if (t.cursor > t.model.size()) t.cursor = static_cast<uint32_t>(t.model.size());
  while (t.cursor > 0 && t.cursor < t.model.size() && t.model[t.cursor] >= 0xDC00 && t.model[t.cursor] <= 0xDFFF)
    --t.cursor;
  if (r < 70) {
    const std::u16string s = rng() % 20 == 0 ? U("\xF0\x9F\x98\x80") : std::u16string(1, u'a' + rng() % 26);
    REQUIRE(t.doc.text_insert(t.text, t.cursor, s).ok);
    t.model.insert(t.cursor, s);
    t.cursor += static_cast<uint32_t>(s.size());
  } else if (r < 80 && t.cursor > 0) {
    // Backspace a whole character (a surrogate pair is two units).
    const uint32_t n = t.cursor >= 2 && t.model[t.cursor - 1] >= 0xDC00 && t.model[t.cursor - 1] <= 0xDFFF ? 2 : 1;
    REQUIRE(t.doc.text_delete(t.text, t.cursor - n, n).ok);
    t.model.erase(t.cursor - n, n);
    t.cursor -= n;
  } else if (r < 88) {
    // moved above
  } else if (r < 94) {
    REQUIRE(t.doc.text_insert(t.other, 0, U("n")).ok);
  } else {
    REQUIRE(t.doc.map_set(t.map, "k", "1").ok);
  }
  REQUIRE(t.doc.text_content(t.text) == t.model);
}

void sync(Typist& a, Typist& b) {
  REQUIRE(apply_upd(b.doc, since(a.doc, b.doc.state_vector())).ok);
  REQUIRE(apply_upd(a.doc, since(b.doc, a.doc.state_vector())).ok);
  a.model = a.doc.text_content(a.text);
  b.model = b.doc.text_content(b.text);
  REQUIRE(a.model == b.model);
}

}  // namespace

TEST_CASE("typing fast path: local edits match a plain string, replicas converge", "[typing]") {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    Typist a(1), b(2), c(3);
    Typist* all[] = {&a, &b, &c};
    for (int i = 0; i < 1500; ++i) {
      step(*all[rng() % 3], rng);
      if (rng() % 40 == 0) sync(*all[rng() % 3], *all[rng() % 3]);
    }
    sync(a, b);
    sync(b, c);
    sync(a, b);
    for (Typist* t : {&b, &c}) {
      REQUIRE(t->doc.text_content(t->text) == a.doc.text_content(a.text));
      REQUIRE(t->doc.text_content(t->other) == a.doc.text_content(a.other));
    }
  }
}

TEST_CASE("typing fast path: a keystroke after a remote insert at the same place lands after it",
          "[typing]") {
  Doc a(1), b(2);
  const RootHandle ta = text_of(a), tb = text_of(b);
  REQUIRE(a.text_insert(ta, 0, U("ab")).ok);
  REQUIRE(apply_upd(b, since(a, b.state_vector())).ok);
  REQUIRE(b.text_insert(tb, 2, U("X")).ok);  // b types at a's cursor
  REQUIRE(apply_upd(a, since(b, a.state_vector())).ok);
  REQUIRE(a.text_content(ta) == U("abX"));
  REQUIRE(a.text_insert(ta, 2, U("c")).ok);  // a's cursor did not move: between b and X
  REQUIRE(a.text_content(ta) == U("abcX"));
  REQUIRE(apply_upd(b, since(a, b.state_vector())).ok);
  REQUIRE(b.text_content(tb) == U("abcX"));
}
