// Undo steps recorded from the op log, and their reverts as local edits (see undo.h).
#include "crdt/undo.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "crdt/doc_impl.h"

namespace roomsync {

namespace {

// Element ids per (root, client), as sorted, disjoint, non-touching spans of clocks. (Sorted
// vectors, not maps: undo is rare, and this keeps the WebAssembly module small.)
class IdRanges {
 public:
  static uint64_t key(RootHandle root, uint32_t client) { return (uint64_t{root} << 32) | client; }

  void add(uint64_t k, uint32_t start, uint32_t end) {
    if (start >= end) return;
    auto it = std::upper_bound(v_.begin(), v_.end(), Span{k, start, 0}, before);
    if (it != v_.begin() && (it - 1)->key == k && (it - 1)->end >= start) {
      --it;
      start = it->start;
      end = std::max(end, it->end);
    }
    auto last = it;
    for (; last != v_.end() && last->key == k && last->start <= end; ++last) end = std::max(end, last->end);
    if (it == last) {
      v_.insert(it, Span{k, start, end});
    } else {
      *it = Span{k, start, end};
      v_.erase(it + 1, last);
    }
  }
  void add(const IdRanges& o) {
    for (const Span& s : o.v_) add(s.key, s.start, s.end);
  }
  void remove(uint64_t k, uint32_t a, uint32_t b) {
    auto it = std::upper_bound(v_.begin(), v_.end(), Span{k, a, 0}, before);
    if (it != v_.begin() && (it - 1)->key == k && (it - 1)->end > a) --it;
    while (it != v_.end() && it->key == k && it->start < b) {
      const Span s = *it;
      if (s.start < a && s.end > b) {  // a hole in the middle
        it->end = a;
        v_.insert(it + 1, Span{k, b, s.end});
        return;
      }
      if (s.start < a) {
        (it++)->end = a;
      } else if (s.end > b) {
        it->start = b;
        return;
      } else {
        it = v_.erase(it);
      }
    }
  }
  void subtract(const IdRanges& o) {
    for (const Span& s : o.v_) remove(s.key, s.start, s.end);
  }
  bool empty() const { return v_.empty(); }
  uint64_t size() const {
    uint64_t n = 0;
    for (const Span& s : v_) n += s.end - s.start;
    return n;
  }
  // fn(root, client, clock, len) for every span.
  template <typename Fn>
  void each(Fn fn) const {
    for (const Span& s : v_)
      fn(static_cast<RootHandle>(s.key >> 32), static_cast<uint32_t>(s.key), s.start, s.end - s.start);
  }
  // fn(start, end) for the parts of [a, b) of `k` that are in the set.
  template <typename Fn>
  void overlaps(uint64_t k, uint32_t a, uint32_t b, Fn fn) const {
    auto it = std::upper_bound(v_.begin(), v_.end(), Span{k, a, 0}, before);
    if (it != v_.begin() && (it - 1)->key == k) --it;
    for (; it != v_.end() && it->key == k && it->start < b; ++it)
      if (it->end > a) fn(std::max(a, it->start), std::min(b, it->end));
  }

 private:
  struct Span {
    uint64_t key;
    uint32_t start, end;
  };
  static bool before(const Span& x, const Span& y) { return x.key < y.key || (x.key == y.key && x.start < y.start); }
  std::vector<Span> v_;
};

bool is_sequence(const Root& r) { return r.text != nullptr; }

}  // namespace

struct UndoStep {
  IdRanges inserted;  // elements the step inserted (and copies of them): undo deletes them
  IdRanges deleted;   // elements it deleted: undo inserts copies after their tombstones
  struct MapWrite {
    RootHandle root;
    std::string key;
    MapPrior before;   // the entry before the step
    uint64_t lamport;  // the step's last write to the key: undo only replaces that
  };
  std::vector<MapWrite> maps;  // in write order; a key may appear more than once
  // Counter steps summed per root; a sum that would leave (-2^63, 2^63) starts another entry, so
  // every entry can be negated.
  std::vector<std::pair<RootHandle, int64_t>> counters;

  bool empty() const { return inserted.empty() && deleted.empty() && maps.empty() && counters.empty(); }
  // A write to a key written shortly before in the step (a slider dragged, a field typed into)
  // updates that entry: the first write keeps the value before the step, the last one counts.
  // The search is bounded, so a step writing many keys stays linear; a key written again
  // after many others gets a second entry, which revert() handles (latest first).
  void note_map(MapWrite&& w) {
    for (size_t i = maps.size(), seen = 0; i-- > 0 && seen++ < 16;) {
      if (maps[i].root == w.root && maps[i].key == w.key) {
        maps[i].lamport = w.lamport;
        return;
      }
    }
    maps.push_back(std::move(w));
  }
  void add_counter(RootHandle h, int64_t delta) {
    for (auto& [root, sum] : counters) {
      int64_t total;
      if (root == h && !__builtin_add_overflow(sum, delta, &total) && total != INT64_MIN) return void(sum = total);
    }
    counters.push_back({h, delta});
  }
  // Appends a later step (captured within the merge interval).
  void merge(UndoStep&& later) {
    inserted.add(later.inserted);
    deleted.add(later.deleted);
    for (MapWrite& w : later.maps) note_map(std::move(w));
    for (const auto& [h, sum] : later.counters) add_counter(h, sum);
  }
};

UndoManager::UndoManager(Doc& doc, std::vector<RootHandle> scope) : doc_(doc), scope_(std::move(scope)) {
  std::sort(scope_.begin(), scope_.end());
  ++impl().undo_managers;
  captured_until_ = impl().clients[0].next_clock;  // changes before the manager are not undoable
}

UndoManager::~UndoManager() { --impl().undo_managers; }

size_t UndoManager::undo_size() const { return undo_.size(); }
size_t UndoManager::redo_size() const { return redo_.size(); }

void UndoManager::clear(bool undo_stack, bool redo_stack) {
  if (undo_stack) undo_.clear();
  if (redo_stack) redo_.clear();
}

bool UndoManager::in_scope(RootHandle h) const {
  return scope_.empty() || std::binary_search(scope_.begin(), scope_.end(), h);
}

// The step made of this replica's ops at clocks [from, to), within scope.
UndoStep UndoManager::record(uint32_t from, uint32_t to) const {
  const DocImpl& d = impl();
  UndoStep step;
  const auto& ops = d.clients[0].ops;
  auto it = std::upper_bound(ops.begin(), ops.end(), from, [](uint32_t c, const Op& op) { return c < op.clock; });
  if (it != ops.begin()) --it;
  for (; it != ops.end() && it->clock < to; ++it) {
    const Op& op = *it;
    // The log merges consecutive typing across transactions: take only this range's part.
    const uint32_t a = std::max(op.clock, from), b = std::min(op.clock + op.len, to);
    if (a >= b || op.kind == OpKind::Nop || !in_scope(op.root)) continue;
    const uint32_t n = b - a, i = a - op.clock;
    switch (op.kind) {
      case OpKind::Insert:
        step.inserted.add(IdRanges::key(op.root, 0), a, b);
        break;
      case OpKind::Delete: {  // clock + i deleted target + i (backward: + len - 1 - i)
        const uint32_t first = op.backward ? op.left.clock + op.len - i - n : op.left.clock + i;
        step.deleted.add(IdRanges::key(op.root, op.left.client), first, first + n);
        break;
      }
      case OpKind::MapSet:
      case OpKind::MapDelete: {
        auto p = std::lower_bound(d.map_priors.begin(), d.map_priors.end(), op.clock,
                                  [](const MapPrior& m, uint32_t c) { return m.clock < c; });
        if (p != d.map_priors.end() && p->clock == op.clock)
          step.note_map({op.root, d.strings[op.content], *p, op.lamport});
        break;
      }
      case OpKind::CounterAdd:
        step.add_counter(op.root, op.delta);
        break;
      default:
        break;
    }
  }
  return step;
}

int UndoManager::capture(bool merge) {
  DocImpl& d = impl();
  if (d.txn.depth > 0) return 0;
  const uint32_t to = d.clients[0].next_clock;
  const uint32_t from = std::max(d.txn.clocks_before.empty() ? 0 : d.txn.clocks_before[0], captured_until_);
  captured_until_ = to;
  if (from >= to) return 0;
  UndoStep step = record(from, to);
  if (step.empty()) return 0;
  int result = 0;
  if (!redo_.empty()) {
    redo_.clear();
    result |= kRedoCleared;
  }
  if (merge && !undo_.empty()) {
    undo_.back().merge(std::move(step));
    result |= kMerged;
  } else {
    undo_.push_back(std::move(step));
    result |= kAdded;
  }
  return result;
}

namespace {

// An upper bound of the clocks revert(step) uses: it deletes at most the step's inserted
// elements, copies at most its deleted ones, writes each key once and adds to a counter once
// per entry (twice for -2^63).
uint64_t clocks_needed(const UndoStep& step) {
  return step.inserted.size() + step.deleted.size() + step.maps.size() + 2 * step.counters.size();
}

}  // namespace

Status UndoManager::apply(bool redo, bool* changed) {
  DocImpl& d = impl();
  auto& from = redo ? redo_ : undo_;
  auto& to = redo ? undo_ : redo_;
  if (changed) *changed = false;
  if (!from.empty() && d.clients[0].next_clock + clocks_needed(from.back()) > kMaxClock)
    return Status::error("client clock space exhausted");
  const bool implicit = d.txn.depth == 0;
  if (implicit) d.begin();
  while (!from.empty()) {
    if (d.clients[0].next_clock + clocks_needed(from.back()) > kMaxClock) break;
    UndoStep step = std::move(from.back());
    from.pop_back();
    const uint32_t c0 = d.clients[0].next_clock;
    revert(step);
    const uint32_t c1 = d.clients[0].next_clock;
    captured_until_ = std::max(captured_until_, c1);  // the revert is recorded here, not by capture()
    if (c1 == c0) continue;  // nothing left to revert: try the next step
    to.push_back(record(c0, c1));
    if (changed) *changed = true;
    break;
  }
  if (implicit) d.commit_into(d.last_result);
  return {};
}

void UndoManager::revert(UndoStep& step) {
  DocImpl& d = impl();
  // Deleted elements come back first, except those the step inserted itself (typed and
  // erased within one step: they were never there before it).
  IdRanges back = step.deleted;
  back.subtract(step.inserted);
  back.each([&](RootHandle h, uint32_t c, uint32_t k, uint32_t n) { restore(h, c, k, n); });
  step.inserted.each([&](RootHandle h, uint32_t c, uint32_t k, uint32_t n) { remove(h, c, k, n); });
  const ClientId self = d.clients[0].id;
  for (size_t i = step.maps.size(); i-- > 0;) {  // latest first: see note_map
    const UndoStep::MapWrite& w = step.maps[i];
    const Root& root = d.roots[w.root];
    auto e = root.entries.find(w.key);
    // Only while the step's own write is the value: a later write by anyone stays.
    if (e == root.entries.end() || e->second.client != self || e->second.lamport != w.lamport) continue;
    if (w.before.live) set_entry(d, w.root, w.key, w.before.value, false);
    else if (!e->second.deleted) set_entry(d, w.root, w.key, {}, true);
    else continue;
    // The value (or deletion) of an own write is back, under a new lamport: the step that made
    // that write owns the key again.
    if (w.before.mine) {
      const uint64_t now = e->second.lamport;
      auto relabel = [&](UndoStep& other) {
        for (UndoStep::MapWrite& o : other.maps)
          if (o.lamport == w.before.lamport) o.lamport = now;
      };
      relabel(step);
      for (UndoStep& other : undo_) relabel(other);
      for (UndoStep& other : redo_) relabel(other);
    }
  }
  for (const auto& [h, sum] : step.counters) {
    if (sum == INT64_MIN) doc_.counter_add(h, 1);  // -(-2^63) = 2^63 - 1 + 1
    doc_.counter_add(h, sum == INT64_MIN ? INT64_MAX : -sum);
  }
}

// Brings back the deleted elements [clock, clock + len) of `client`: each stretch of them that
// is still contiguous in the sequence becomes one new run right after the stretch's last
// tombstone, so it sits exactly where it was, also when peers inserted around or inside it
// (and in the same order as other stretches, whatever order they are brought back in).
void UndoManager::restore(RootHandle h, uint32_t client, uint32_t clock, uint32_t len) {
  DocImpl& d = impl();
  if (h >= d.roots.size() || !is_sequence(d.roots[h])) return;
  TextTree& t = *d.roots[h].text;
  const bool list = d.is_list(h);  // contents index list_values, not the arena
  struct Stretch {
    uint32_t clock, content, len;  // first original element; the copy's content
  };
  std::vector<Stretch> stretches;
  uint32_t prev_leaf = TextTree::kNone, prev_idx = 0;  // run of the previous piece
  for (uint32_t k = clock, end = clock + len; k < end;) {
    TreePos p = t.locate(Id{client, k});
    if (p.leaf == TextTree::kNone) {  // not in this root (cannot happen for recorded deletes)
      prev_leaf = TextTree::kNone;
      ++k;
      continue;
    }
    const Run& r = t.run(p.leaf, p.idx);
    const uint32_t n = std::min(r.clock + r.len, end) - k;
    if (r.deleted && r.content != kNoContent) {
      uint32_t l = prev_leaf, i = prev_idx;
      bool joins = l != TextTree::kNone && p.off == 0 && t.next_run(&l, &i) && l == p.leaf && i == p.idx;
      if (!joins) stretches.push_back({k, static_cast<uint32_t>(list ? d.list_values.size() : d.arena.size()), 0});
      // Both only grow: the copies go there.
      if (!list) d.arena.append(d.arena, r.content + p.off, n);
      for (uint32_t j = 0; list && j < n; ++j) {
        std::string v = d.list_values[r.content + p.off + j];
        d.list_values.push_back(std::move(v));
      }
      stretches.back().len += n;
      prev_leaf = p.leaf;
      prev_idx = p.idx;
    } else {
      prev_leaf = TextTree::kNone;
    }
    k += n;
  }
  ClientState& self = d.clients[0];
  for (const Stretch& s : stretches) {
    // The copy goes right after the stretch's last tombstone, like an insert there would.
    const uint32_t n = s.len;
    const Id left{client, s.clock + n - 1};
    TreePos p = t.locate(left);
    Id right = kNoId;
    if (p.off + 1 < t.run(p.leaf, p.idx).len) {
      right = Id{client, left.clock + 1};
      TreePos q = t.split_at({p.leaf, p.idx, p.off + 1});
      p = {q.leaf, q.idx - 1, 0};  // split_at keeps both halves in one leaf
    } else {
      uint32_t nl = p.leaf, ni = p.idx;
      if (t.next_run(&nl, &ni)) right = t.run(nl, ni).id_at(0);
    }
    const uint32_t own = self.next_clock;
    TreePos placed = t.insert_after(p.leaf, p.idx, Run{0, own, n, s.content, false});
    Op op{own, n, OpKind::Insert};
    op.root = h;
    op.left = left;
    op.right = right;
    op.content = s.content;
    d.log_op(0, op);
    self.next_clock += n;
    const uint32_t pos = d.wants_events(h) ? t.position_of(placed.leaf, placed.idx) : 0;
    if (list) d.note_list_insert(h, pos, n);
    else d.note_text_insert(h, pos, std::u16string_view(d.arena).substr(s.content, n));
    // Steps that inserted these elements now delete the copy when undone.
    const uint64_t orig = IdRanges::key(h, client), mine = IdRanges::key(h, 0);
    std::vector<std::pair<uint32_t, uint32_t>> found;
    for (auto* stack : {&undo_, &redo_}) {
      for (UndoStep& other : *stack) {
        found.clear();
        other.inserted.overlaps(orig, s.clock, s.clock + n, [&](uint32_t a, uint32_t b) { found.push_back({a, b}); });
        for (auto [a, b] : found) other.inserted.add(mine, own + (a - s.clock), own + (b - s.clock));
      }
    }
  }
}

// Deletes the elements [clock, clock + len) of `client` that are still visible.
void UndoManager::remove(RootHandle h, uint32_t client, uint32_t clock, uint32_t len) {
  DocImpl& d = impl();
  if (h >= d.roots.size() || !is_sequence(d.roots[h])) return;
  TextTree& t = *d.roots[h].text;
  for (uint32_t k = clock, end = clock + len; k < end;) {
    TreePos p = t.locate(Id{client, k});
    if (p.leaf == TextTree::kNone) {
      ++k;
      continue;
    }
    const Run& r = t.run(p.leaf, p.idx);
    const uint32_t n = std::min(r.clock + r.len, end) - k;
    if (!r.deleted) {
      const uint32_t pos = t.position_of(p.leaf, p.idx) + p.off;
      (void)(d.is_list(h) ? doc_.list_delete(h, pos, n) : doc_.text_delete(h, pos, n));
    }
    k += n;
  }
}

}  // namespace roomsync
