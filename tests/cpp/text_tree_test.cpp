// TextTree's id index (crdt/text_tree.h): every id is found where it really is, whether lookups
// come after every edit or only after many leaf splits (the index learns about runs moved by
// splits at the next lookup, not at the split).
#include <catch2/catch.hpp>

#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "crdt/text_tree.h"

using namespace roomsync;

namespace {

// Where every element is, by walking the leaves: the oracle for locate().
struct Placed {
  Id id;
  TreePos pos;
};
std::vector<Placed> walk(const TextTree& t) {
  std::vector<Placed> out;
  uint32_t leaf, idx;
  if (!t.first_run(&leaf, &idx)) return out;
  do {
    const Run& r = t.run(leaf, idx);
    for (uint32_t off = 0; off < r.len; ++off) out.push_back({r.id_at(off), {leaf, idx, off}});
  } while (t.next_run(&leaf, &idx));
  return out;
}

void check_every_id(const TextTree& t) {
  for (const Placed& p : walk(t)) {
    TreePos got = t.locate(p.id);
    INFO("client " << p.id.client << " clock " << p.id.clock);
    REQUIRE(got.leaf == p.pos.leaf);
    REQUIRE(got.idx == p.pos.idx);
    REQUIRE(got.off == p.pos.off);
  }
}

// Random inserts (new runs, or growing a run at its end) and splits by several clients; the
// index is checked after every `check_every` edits (1: after each one).
void run_edits(uint32_t seed, int edits, int check_every) {
  std::mt19937 rng(seed);
  std::u16string arena;
  TextTree t(&arena);
  std::vector<uint32_t> next_clock(4, 0);
  for (int e = 1; e <= edits; ++e) {
    const uint32_t client = rng() % 4;
    const uint32_t n = 1 + rng() % 3;
    const uint32_t content = static_cast<uint32_t>(arena.size());
    arena.append(n, u'x');
    const Run run{client, next_clock[client], n, content, false};
    next_clock[client] += n;
    if (t.length() == 0) {
      t.insert_after(TextTree::kNone, 0, run);
    } else {
      TreePos p = t.find_visible(rng() % t.length());
      if (rng() % 2) p = t.split_at(p);  // also splits runs in the middle
      const Run& at = t.run(p.leaf, p.idx);
      if (at.client == client && at.clock + at.len == run.clock && at.content + at.len == content &&
          rng() % 2)
        t.extend_run(p.leaf, p.idx, n);
      else
        t.insert_after(p.leaf, p.idx, run);
    }
    if (e % check_every == 0) check_every_id(t);
  }
  check_every_id(t);
}

}  // namespace

TEST_CASE("text tree: every id is located after each edit", "[text_tree]") {
  for (uint32_t seed = 1; seed <= 3; ++seed) run_edits(seed, 500, 1);
}

TEST_CASE("text tree: ids moved by many leaf splits are located at the first lookup after them",
          "[text_tree]") {
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    run_edits(seed, 4000, 997);
    run_edits(seed, 4000, 4000);
  }
}

// BlockIndex::assign_in_block against a std::map doing what it stands for (erase the keys in
// (lo, hi), carry the value below hi over to hi when it is of hi's client, map lo), among
// random sets and erasures over enough keys for many blocks; where it declines (a range beyond
// its block, a full block), the three-step way is taken, as TextTree does.
TEST_CASE("block index: assigning a range in its block is the same as erase, carry and set",
          "[text_tree]") {
  for (uint32_t seed = 1; seed <= 4; ++seed) {
    std::mt19937 rng(seed);
    BlockIndex index;
    std::map<uint64_t, uint32_t> ref;
    auto key = [](uint32_t client, uint32_t clock) { return (uint64_t{client} << 32) | clock; };
    int in_block = 0, declined = 0;
    for (int op = 0; op < 20000; ++op) {
      const uint32_t client = rng() % 3, clock = rng() % 2000, v = rng() % 1000;
      const unsigned what = rng() % 10;
      if (what < 6) {
        index.set(key(client, clock), v);
        ref[key(client, clock)] = v;
      } else if (what < 9) {
        const uint64_t lo = key(client, clock), hi = key(client, clock + 1 + rng() % 40);
        auto below = ref.lower_bound(hi);  // the greatest key below hi, unless hi is a key
        if ((below == ref.end() || below->first != hi) && below != ref.begin() &&
            (std::prev(below)->first >> 32) == (hi >> 32))
          ref[hi] = std::prev(below)->second;
        ref.erase(ref.upper_bound(lo), ref.lower_bound(hi));
        ref[lo] = v;
        if (index.assign_in_block(lo, hi, v)) {
          ++in_block;
        } else {
          ++declined;
          uint64_t found = 0;
          uint32_t after = index.floor(hi, &found, ~0u);
          if (after != ~0u && (found >> 32) != (hi >> 32)) after = ~0u;
          index.erase_between(lo, hi);
          if (after != ~0u && index.ceil_key(hi) != hi) index.set(hi, after);
          index.set(lo, v);
        }
      } else {
        const uint64_t lo = key(client, clock), hi = key(client, clock + 1 + rng() % 100);
        index.erase_between(lo, hi);
        ref.erase(ref.upper_bound(lo), ref.lower_bound(hi));
      }
      for (int probe = 0; probe < 8; ++probe) {
        const uint64_t k = key(rng() % 3, rng() % 2050);
        auto it = ref.upper_bound(k);
        uint64_t found = 0;
        const uint32_t got = index.floor(k, &found, ~0u);
        INFO("seed " << seed << " op " << op << " probe " << k);
        if (it == ref.begin()) {
          REQUIRE(got == ~0u);
        } else {
          REQUIRE(got == std::prev(it)->second);
          REQUIRE(found == std::prev(it)->first);
        }
        auto ceil = ref.lower_bound(k);
        REQUIRE(index.ceil_key(k) == (ceil == ref.end() ? BlockIndex::kNoKey : ceil->first));
      }
    }
    // Both ways were taken, many times.
    CHECK(in_block > 1000);
    CHECK(declined > 10);
  }
}
