// Undo steps recorded from the op log, and their reverts as local edits (see undo.h).
#include "crdt/undo.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include "crdt/doc_impl.h"

namespace roomsync {

namespace {

uint64_t id_key(uint32_t client, uint32_t clock) { return (uint64_t{client} << 32) | clock; }

// Element ids per (root, client): disjoint, non-touching clock intervals.
class IdRanges {
 public:
  void add(RootHandle root, uint32_t client, uint32_t clock, uint32_t len) {
    if (len == 0) return;
    auto& s = sets_[key(root, client)];
    uint32_t start = clock, end = clock + len;
    auto it = s.upper_bound(start);
    if (it != s.begin() && std::prev(it)->second >= start) {
      --it;
      start = it->first;
      end = std::max(end, it->second);
      it = s.erase(it);
    }
    while (it != s.end() && it->first <= end) {
      end = std::max(end, it->second);
      it = s.erase(it);
    }
    s.emplace_hint(it, start, end);
  }
  void add(const IdRanges& o) {
    o.each([&](RootHandle r, uint32_t c, uint32_t k, uint32_t n) { add(r, c, k, n); });
  }
  void subtract(const IdRanges& o) {
    o.each([&](RootHandle r, uint32_t c, uint32_t k, uint32_t n) { remove(key(r, c), k, k + n); });
  }
  bool empty() const { return sets_.empty(); }
  uint64_t size() const {
    uint64_t n = 0;
    for (const auto& [k, s] : sets_)
      for (const auto& [a, b] : s) n += b - a;
    return n;
  }
  // fn(root, client, clock, len) for every interval.
  template <typename Fn>
  void each(Fn fn) const {
    for (const auto& [k, s] : sets_)
      for (const auto& [a, b] : s) fn(static_cast<RootHandle>(k >> 32), static_cast<uint32_t>(k), a, b - a);
  }

 private:
  static uint64_t key(RootHandle root, uint32_t client) { return (uint64_t{root} << 32) | client; }
  void remove(uint64_t k, uint32_t a, uint32_t b) {
    auto f = sets_.find(k);
    if (f == sets_.end()) return;
    auto& s = f->second;
    auto it = s.upper_bound(a);
    if (it != s.begin()) --it;
    while (it != s.end() && it->first < b) {
      const uint32_t s0 = it->first, e0 = it->second;
      if (e0 <= a) {
        ++it;
        continue;
      }
      it = s.erase(it);
      if (s0 < a) s.emplace(s0, a);
      if (e0 > b) {
        s.emplace(b, e0);
        break;
      }
    }
    if (s.empty()) sets_.erase(f);
  }
  std::map<uint64_t, std::map<uint32_t, uint32_t>> sets_;
};

bool is_sequence(const Root& r) { return r.text != nullptr; }

}  // namespace

struct UndoStep {
  IdRanges inserted;  // elements the step inserted: undo deletes them (or their copies)
  IdRanges deleted;   // elements it deleted: undo inserts copies after their tombstones
  struct MapWrite {
    MapPrior before;   // the entry before the step
    uint64_t lamport;  // the step's last write to the key: undo only replaces that
  };
  std::map<std::pair<RootHandle, std::string>, MapWrite> maps;
  std::map<RootHandle, CounterSum> counters;

  bool empty() const { return inserted.empty() && deleted.empty() && maps.empty() && counters.empty(); }
  void note_map(RootHandle h, const std::string& key, const MapPrior& prior, uint64_t lamport) {
    auto [it, fresh] = maps.try_emplace({h, key}, MapWrite{prior, lamport});
    if (!fresh) it->second.lamport = lamport;  // the value before the step is the first prior
  }
  // Appends a later step (captured within the merge interval).
  void merge(UndoStep&& later) {
    inserted.add(later.inserted);
    deleted.add(later.deleted);
    for (auto& [k, w] : later.maps) {
      auto [it, fresh] = maps.try_emplace(k, std::move(w));
      if (!fresh) it->second.lamport = w.lamport;
    }
    for (const auto& [h, sum] : later.counters) counters[h] += sum;
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
  if (undo_.empty() && redo_.empty()) {  // nothing can refer to copies any more
    copies_.clear();
    copied_ = 0;
    revived_.clear();
  }
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
        step.inserted.add(op.root, 0, a, n);
        break;
      case OpKind::Delete:  // clock + i deleted target + i (backward: + len - 1 - i)
        step.deleted.add(op.root, op.left.client, op.backward ? op.left.clock + op.len - i - n : op.left.clock + i, n);
        break;
      case OpKind::MapSet:
      case OpKind::MapDelete: {
        auto p = std::lower_bound(d.map_priors.begin(), d.map_priors.end(), op.clock,
                                  [](const MapPrior& m, uint32_t c) { return m.clock < c; });
        if (p != d.map_priors.end() && p->clock == op.clock)
          step.note_map(op.root, d.strings[op.content], *p, op.lamport);
        break;
      }
      case OpKind::CounterAdd:
        step.counters[op.root] += op.delta;
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

// An upper bound of the clocks revert(step) uses: it deletes at most the step's inserted
// elements and copies, copies at most its deleted elements, writes each key once and adds to
// each counter in int64-sized steps.
uint64_t UndoManager::clocks_needed(const UndoStep& step) const {
  uint64_t n = step.inserted.size() + copied_ + step.deleted.size() + step.maps.size();
  for (const auto& [h, sum] : step.counters) {
    const CounterSum mag = sum < 0 ? -sum : sum;
    n += static_cast<uint64_t>(mag / std::numeric_limits<int64_t>::max()) + 1;
  }
  return n;
}

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

void UndoManager::revert(const UndoStep& step) {
  DocImpl& d = impl();
  // Deleted elements come back first, except those the step inserted itself (typed and
  // erased within one step: they were never there before it).
  IdRanges back = step.deleted;
  back.subtract(step.inserted);
  back.each([&](RootHandle h, uint32_t c, uint32_t k, uint32_t n) { restore(h, c, k, n); });
  step.inserted.each([&](RootHandle h, uint32_t c, uint32_t k, uint32_t n) { remove(h, c, k, n); });
  const ClientId self = d.clients[0].id;
  for (const auto& [key, w] : step.maps) {
    const Root& root = d.roots[key.first];
    auto e = root.entries.find(key.second);
    // Only while the step's own write is the value (itself, or an undo here that wrote its
    // value back): a later write by anyone stays.
    if (e == root.entries.end() || e->second.client != self) continue;
    uint64_t cur = e->second.lamport;
    for (auto a = revived_.find(cur); cur != w.lamport && a != revived_.end(); a = revived_.find(cur)) cur = a->second;
    if (cur != w.lamport) continue;
    if (w.before.live) set_entry(d, key.first, key.second, w.before.value, false);
    else if (!e->second.deleted) set_entry(d, key.first, key.second, {}, true);
    else continue;
    if (w.before.mine) revived_[e->second.lamport] = w.before.lamport;
  }
  for (const auto& [h, sum] : step.counters) {
    CounterSum rest = -sum;
    while (rest != 0) {
      const int64_t max = std::numeric_limits<int64_t>::max();
      const int64_t part = rest > max ? max : rest < -max ? -max : static_cast<int64_t>(rest);
      doc_.counter_add(h, part);
      rest -= part;
    }
  }
}

// Brings back the deleted elements [clock, clock + len) of `client`: each stretch of them that
// is still contiguous in the sequence becomes one new run right after the stretch's last
// tombstone, so it sits exactly where it was, also when peers inserted around or inside it.
void UndoManager::restore(RootHandle h, uint32_t client, uint32_t clock, uint32_t len) {
  DocImpl& d = impl();
  if (h >= d.roots.size() || !is_sequence(d.roots[h])) return;
  TextTree& t = *d.roots[h].text;
  struct Stretch {
    uint32_t clock;  // first original element
    std::u16string content;
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
      if (!joins) stretches.push_back({k, {}});
      stretches.back().content.append(d.arena, r.content + p.off, n);
      prev_leaf = p.leaf;
      prev_idx = p.idx;
    } else {
      prev_leaf = TextTree::kNone;
    }
    k += n;
  }
  ClientState& self = d.clients[0];
  for (const Stretch& s : stretches) {
    const uint32_t n = static_cast<uint32_t>(s.content.size());
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
    const uint32_t content = static_cast<uint32_t>(d.arena.size());
    d.arena.append(s.content);
    const uint32_t own = self.next_clock;
    TreePos placed = t.insert_after(p.leaf, p.idx, Run{0, own, n, content, left, right, false});
    Op op{own, n, OpKind::Insert};
    op.root = h;
    op.left = left;
    op.right = right;
    op.content = content;
    d.log_op(0, op);
    self.next_clock += n;
    d.note_text_insert(h, d.wants_events(h) ? t.position_of(placed.leaf, placed.idx) : 0, s.content);
    copies_[id_key(client, s.clock)] = {n, own};
    copied_ += n;
  }
}

// Deletes the elements [clock, clock + len) of `client` that are visible, and, for those that
// are deleted, the copies an undo here made of them (and of those copies, and so on).
void UndoManager::remove(RootHandle h, uint32_t client, uint32_t clock, uint32_t len) {
  DocImpl& d = impl();
  if (h >= d.roots.size() || !is_sequence(d.roots[h])) return;
  TextTree& t = *d.roots[h].text;
  ClientState& self = d.clients[0];
  struct Range {
    uint32_t client, clock, len;
  };
  std::vector<Range> work{{client, clock, len}};
  while (!work.empty()) {
    const Range w = work.back();
    work.pop_back();
    for (uint32_t k = w.clock, end = w.clock + w.len; k < end;) {
      TreePos p = t.locate(Id{w.client, k});
      if (p.leaf == TextTree::kNone) {
        ++k;
        continue;
      }
      const Run& r = t.run(p.leaf, p.idx);
      const uint32_t run_end = r.clock + r.len;
      const uint32_t n = std::min(run_end, end) - k;
      if (!r.deleted) {
        if (p.off > 0) t.split_before(Id{w.client, k});
        if (k + n < run_end) t.split_before(Id{w.client, k + n});
        p = t.locate(Id{w.client, k});
        const uint32_t pos = d.wants_events(h) ? t.position_of(p.leaf, p.idx) : 0;
        t.mark_deleted(p.leaf, p.idx);
        Op op{self.next_clock, n, OpKind::Delete};
        op.root = h;
        op.left = Id{w.client, k};
        d.log_op(0, op);
        self.next_clock += n;
        d.note_text_delete(h, pos, n);
      } else {
        // Copies of deleted elements in [k, k + n): entries start at or before them.
        auto c = copies_.upper_bound(id_key(w.client, k));
        if (c != copies_.begin()) --c;
        for (; c != copies_.end() && c->first < id_key(w.client, k + n); ++c) {
          if (static_cast<uint32_t>(c->first >> 32) != w.client) continue;
          const uint32_t s = static_cast<uint32_t>(c->first), e = s + c->second.first;
          const uint32_t a = std::max(s, k), b = std::min(e, k + n);
          if (a < b) work.push_back({0, c->second.second + (a - s), b - a});
        }
      }
      k += n;
    }
  }
}

}  // namespace roomsync
