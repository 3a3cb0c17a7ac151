// Local edits, reads and transactions. Remote ops live in sync/integrate.cpp, bytes in codec/.
#include "crdt/doc.h"

#include <algorithm>
#include <limits>
#include "codec/json_text.h"
#include "codec/utf.h"
#include "crdt/delta.h"
#include "crdt/doc_impl.h"

namespace roomsync {

namespace {
constexpr size_t kMaxDeltaOps = 4096;  // beyond this an event carries "replace everything"
constexpr size_t kMaxRootName = 1024;
}  // namespace

// --- DocImpl: tables ----------------------------------------------------------------------

DocImpl::DocImpl(ClientId id) { client_index(id); }

uint32_t DocImpl::client_index(ClientId id) {
  auto it = client_ids.find(id);
  if (it != client_ids.end()) return it->second;
  uint32_t idx = static_cast<uint32_t>(clients.size());
  clients.push_back(ClientState{id, 0, {}});
  client_ids.emplace(id, idx);
  pending.emplace_back();
  waiting.emplace_back();
  return idx;
}

const Root* DocImpl::root_of(RootHandle h, RootType t) const {
  if (h >= roots.size() || roots[h].type != t) return nullptr;
  return &roots[h];
}
Root* DocImpl::root_of(RootHandle h, RootType t) {
  if (h >= roots.size() || roots[h].type != t) return nullptr;
  return &roots[h];
}

namespace {
std::string root_key(RootType type, std::string_view name) {
  std::string k(1, static_cast<char>(type));
  k.append(name);
  return k;
}
}  // namespace

std::optional<RootHandle> DocImpl::find_root(RootType type, std::string_view name) const {
  auto it = root_names.find(root_key(type, name));
  if (it == root_names.end()) return std::nullopt;
  return it->second;
}

RootHandle DocImpl::add_root(RootType type, std::string_view name) {
  RootHandle h = static_cast<RootHandle>(roots.size());
  Root r;
  r.type = type;
  r.name = std::string(name);
  if (type == RootType::Text || type == RootType::List) r.text = std::make_unique<TextTree>(&arena);
  roots.push_back(std::move(r));
  root_names.emplace(root_key(type, name), h);
  return h;
}

uint32_t DocImpl::add_string(std::string_view s) {
  strings.emplace_back(s);
  return static_cast<uint32_t>(strings.size() - 1);
}

const Op* DocImpl::op_at(uint32_t client, uint32_t clock) const {
  if (client >= clients.size()) return nullptr;
  const auto& ops = clients[client].ops;
  // The last op first: typing asks about the run it is growing (memory, issue 8).
  if (!ops.empty() && clock >= ops.back().clock) return clock - ops.back().clock < ops.back().len ? &ops.back() : nullptr;
  auto it = std::upper_bound(ops.begin(), ops.end(), clock,
                             [](uint32_t c, const Op& op) { return c < op.clock; });
  if (it == ops.begin()) return nullptr;
  --it;
  return clock - it->clock < it->len ? &*it : nullptr;
}

void DocImpl::log_op(uint32_t client, const Op& op) {
  auto& ops = clients[client].ops;
  if (!ops.empty()) {
    Op& last = ops.back();
    if (last.kind == op.kind && last.root == op.root && last.clock + last.len == op.clock) {
      if (op.kind == OpKind::Insert && op.left == Id{client, op.clock - 1} && op.right == last.right &&
          ((last.content == kNoContent && op.content == kNoContent) ||
           (last.content != kNoContent && last.content + last.len == op.content))) {
        last.len += op.len;
        return;
      }
      if (op.kind == OpKind::Delete && op.left.client == last.left.client) {
        bool single = last.len == 1 && op.len == 1;
        if ((!last.backward || single) && !op.backward && last.left.clock + last.len == op.left.clock) {
          last.backward = false;
          last.len += op.len;
          return;
        }
        if ((last.backward || single) && (op.backward || op.len == 1) &&
            op.left.clock + op.len == last.left.clock) {
          last.backward = true;
          last.left = op.left;
          last.len += op.len;
          return;
        }
      }
      if (op.kind == OpKind::Nop) {
        last.len += op.len;
        return;
      }
    }
  }
  ops.push_back(op);
}

// --- transactions ---------------------------------------------------------------------------

// Not inlined (B4, issue 8): one copy instead of one per edit function.
[[gnu::noinline]] void DocImpl::begin() {
  if (txn.depth++ > 0) return;
  // B4 (issue 8): our own clock only; note_remote() adds the others' if remote ops come in.
  // (assign() is a call per keystroke in wasm; after a local transaction the size is 1 already.)
  if (txn.clocks_before.size() == 1) txn.clocks_before[0] = clients[0].next_clock;
  else txn.clocks_before.assign(1, clients[0].next_clock);
  txn.remote = false;
  txn.changed = false;
  map_priors.clear();  // undo: the previous transaction's writes were captured or dropped
}

TransactionResult DocImpl::commit() {
  TransactionResult res;
  commit_into(res);
  return res;
}

void DocImpl::commit_into(TransactionResult& res) {
  if (txn.depth == 0 || --txn.depth > 0) return;
  // Reuses res's buffers: implicit transactions (one per edit) commit into last_result.
  res.text_events.clear();
  res.map_events.clear();
  res.counter_events.clear();
  res.list_events.clear();
  res.update.clear();
  res.changed = txn.changed;
  // B4: no observed root changed (a keystroke nobody observes): no events to
  // build and no event tables to clear, only the update if someone wants it.
  if (txn.text_deltas.empty() && txn.map_keys.empty() && txn.counters.empty()) {
    if (capture_updates && txn.changed) encode_update(res.update);
    txn.changed = false;
    return;
  }
  for (auto& [h, delta] : txn.text_deltas) {
    if (is_list(h)) {
      list_event(res, h, delta, whole_event(h, delta));
      continue;
    }
    if (whole_event(h, delta)) {  // replace-all is exact and cheaper than a huge delta
      Delta all;
      std::u16string content;
      roots[h].text->append_content(&content);
      if (!content.empty())
        all.push_back({TextDeltaOp::Insert, static_cast<uint32_t>(content.size()), std::move(content)});
      if (txn.text_len_before[h]) all.push_back({TextDeltaOp::Delete, txn.text_len_before[h], {}});
      delta.swap(all);
    }
    if (!delta.empty()) res.text_events.push_back({h, std::move(delta)});
  }
  for (auto& [h, keys] : txn.map_keys)
    res.map_events.push_back({h, std::vector<std::string>(keys.begin(), keys.end())});
  res.counter_events.assign(txn.counters.begin(), txn.counters.end());
  if (capture_updates && txn.changed) encode_update(res.update);
  txn.text_deltas.clear();
  txn.text_len_before.clear();
  txn.map_keys.clear();
  txn.counters.clear();
  txn.changed = false;
}

// B4: a local keystroke goes out in the compact form, without the tables.
void DocImpl::encode_update(std::vector<uint8_t>& out) {
  if (txn.remote || !encode_compact(txn.clocks_before[0], &out)) {
    note_remote();  // the other clients' clocks, unless remote ops noted them already
    txn.clocks_before.resize(clients.size(), 0);  // clients first seen in this transaction: 0
    out = encode_since(txn.clocks_before, false);
  }
}

[[gnu::noinline]] void DocImpl::note_remote() {
  if (txn.remote) return;
  txn.remote = true;
  // Merge speed: only an update someone takes needs the clocks. Capture switched on before this
  // transaction commits finds 0 for the others (encode_update): its update then carries all of
  // their ops, more than needed and still right (applying an update twice changes nothing).
  if (!capture_updates) return;
  txn.clocks_before.resize(clients.size());
  for (size_t i = 1; i < clients.size(); ++i) txn.clocks_before[i] = clients[i].next_clock;
}

// A root empty before the transaction gets "insert everything" at commit (whole_event), not a
// delta built change by change: a late joiner's state arrives as thousands of runs, and
// building its delta run by run cost several times the load itself.
void DocImpl::observe_text_insert(RootHandle h, uint32_t pos, std::u16string_view s) {
  auto [it, fresh] = txn.text_deltas.try_emplace(h);
  const uint32_t before = fresh ? (txn.text_len_before[h] = roots[h].text->length() - static_cast<uint32_t>(s.size()))
                                : txn.text_len_before[h];
  if (before != 0 && it->second.size() <= kMaxDeltaOps) delta_insert(it->second, pos, s);
}

void DocImpl::observe_text_delete(RootHandle h, uint32_t pos, uint32_t len) {
  auto [it, fresh] = txn.text_deltas.try_emplace(h);
  const uint32_t before = fresh ? (txn.text_len_before[h] = roots[h].text->length() + len) : txn.text_len_before[h];
  if (before != 0 && it->second.size() <= kMaxDeltaOps) delta_delete(it->second, pos, len);
}

bool DocImpl::whole_event(RootHandle h, const std::vector<TextDeltaOp>& delta) {
  return delta.size() > kMaxDeltaOps || txn.text_len_before[h] == 0;
}

void DocImpl::note_map_key(RootHandle h, const std::string& key) {
  txn.changed = true;
  if (roots[h].observed) txn.map_keys[h].insert(key);
}

void DocImpl::note_counter(RootHandle h) {
  txn.changed = true;
  if (roots[h].observed) txn.counters.insert(h);
}

// --- local edits shared by Text and List (doc_impl.h) ------------------------------------------

Status clock_exhausted() { return Status::error("client clock space exhausted"); }

void insert_own_run(DocImpl& d, TextTree& t, RootHandle h, uint32_t pos, TreePos before, uint32_t n,
                    uint32_t content) {
  ClientState& self = d.clients[0];
  const uint32_t clock = self.next_clock;
  Id left = kNoId, right = kNoId;
  uint32_t leaf = TextTree::kNone, idx = 0;  // insert after this run (kNone: at the start)
  bool extended = false;
  if (pos == 0) {
    uint32_t fl, fi;
    if (t.first_run(&fl, &fi)) right = t.run(fl, fi).id_at(0);
  } else {
    TreePos p = before;
    const Run& r = t.run(p.leaf, p.idx);
    left = r.id_at(p.off);
    if (p.off + 1 < r.len) {
      right = r.id_at(p.off + 1);
      TreePos q = t.split_at({p.leaf, p.idx, p.off + 1});
      p = {q.leaf, q.idx - 1, 0};  // split_at keeps both halves in one leaf
    } else {
      uint32_t nl = p.leaf, ni = p.idx;
      if (t.next_run(&nl, &ni)) right = t.run(nl, ni).id_at(0);
      // Typing at the end of our own run: grow it instead of adding one.
      if (r.client == 0 && r.clock + r.len == clock && r.content + r.len == content &&
          d.origin_right(r) == right) {
        t.extend_run(p.leaf, p.idx, n);
        extended = true;
      }
    }
    leaf = p.leaf;
    idx = p.idx;
  }
  if (extended) {
    t.note_typing(leaf, idx, pos + n);
  } else {
    TreePos placed = t.insert_after(leaf, idx, Run{0, clock, n, content, false});
    t.note_typing(placed.leaf, placed.idx, pos + n);
  }
  Op op{clock, n, OpKind::Insert};
  op.root = h;
  op.left = left;
  op.right = right;
  op.content = content;
  d.log_op(0, op);
  self.next_clock += n;
}

void delete_own_range(DocImpl& d, TextTree& t, RootHandle h, uint32_t pos, TreePos first, uint32_t len) {
  ClientState& self = d.clients[0];
  uint32_t left_to_delete = len;
  TreePos p = first;
  while (left_to_delete > 0) {
    p = t.split_at(p);
    const Run& r = t.run(p.leaf, p.idx);
    const uint32_t n = std::min(r.len, left_to_delete);
    const Id target = r.id_at(0);
    if (n < r.len) {
      TreePos rest = t.split_at({p.leaf, p.idx, n});
      p = {rest.leaf, rest.idx - 1, 0};
    }
    t.mark_deleted(p.leaf, p.idx);
    Op op{self.next_clock, n, OpKind::Delete};
    op.root = h;
    op.left = target;
    d.log_op(0, op);
    self.next_clock += n;
    left_to_delete -= n;
    if (left_to_delete > 0) p = t.find_visible(pos);
  }
  d.note_text_delete(h, pos, len);
}

// --- typing ----------------------------------------------------------------------------------

namespace {

// Whether inserting at `pos` is the keystroke right after our previous one in this
// text with nothing changed in between (TextTree::typing_run): then it grows the same run (its
// last element in *at) and the same op, found without any lookup.
bool continues_typing(const DocImpl& d, const TextTree& t, uint32_t pos, TreePos* at) {
  TreePos p;
  if (!t.typing_run(pos, &p)) return false;
  const ClientState& self = d.clients[0];
  const Run& r = t.run(p.leaf, p.idx);
  // Nothing else took clocks or arena space since (another root may have), and the character
  // before is no high surrogate (the general path checks pairs).
  if (self.ops.empty() || r.clock + r.len != self.next_clock || r.content + r.len != d.arena.size() ||
      is_high_surrogate(d.arena.back()))
    return false;
  const Op& last = self.ops.back();  // holds the run's last element: its insert, which grows with it
  if (last.kind != OpKind::Insert || last.clock + last.len != self.next_clock) return false;
  *at = p;
  return true;
}

}  // namespace

// --- Doc ------------------------------------------------------------------------------------

namespace {

Status bad_root(const char* what) { return Status::error(std::string("not a ") + what + " root"); }

char16_t char_at(const DocImpl& d, const TextTree& t, uint32_t pos) {
  TreePos p = t.find_visible(pos);
  return d.arena[t.run(p.leaf, p.idx).content + p.off];
}

}  // namespace

Doc::Doc(ClientId client_id) : impl_(std::make_unique<DocImpl>(client_id & kMaxClientId)) {}
Doc::~Doc() = default;
Doc::Doc(Doc&&) noexcept = default;
Doc& Doc::operator=(Doc&&) noexcept = default;

ClientId Doc::client_id() const { return impl_->clients[0].id; }

Status Doc::root(RootType type, std::string_view name, RootHandle* out) {
  if (name.size() > kMaxRootName) return Status::error("root name longer than 1024 bytes");
  if (auto h = impl_->find_root(type, name)) {
    *out = *h;
    return {};
  }
  *out = impl_->add_root(type, name);
  return {};
}

void Doc::begin() { impl_->begin(); }
TransactionResult Doc::commit() { return impl_->commit(); }
bool Doc::in_transaction() const { return impl_->txn.depth > 0; }
void Doc::set_observed(RootHandle root, bool observed) {
  if (root < impl_->roots.size()) impl_->roots[root].observed = observed;
}
void Doc::set_capture_updates(bool capture) { impl_->capture_updates = capture; }
TransactionResult Doc::take_last_result() { return std::move(impl_->last_result); }
TransactionResult& Doc::last_result() { return impl_->last_result; }  // B4 (issue 8)

Status Doc::text_insert(RootHandle h, uint32_t pos, std::u16string_view s) {
  DocImpl& d = *impl_;
  Root* root = d.root_of(h, RootType::Text);
  if (!root) return bad_root("text");
  TextTree& t = *root->text;
  if (pos > t.length())
    return Status::error("insert position " + std::to_string(pos) + " past the end (" +
                         std::to_string(t.length()) + ")", Status::kRange);
  TreePos before{TextTree::kNone, 0, 0};
  const bool typing = continues_typing(d, t, pos, &before);
  if (pos > 0 && !typing) {
    before = t.find_visible(pos - 1);
    const Run& r = t.run(before.leaf, before.idx);
    if (is_high_surrogate(d.arena[r.content + before.off]) && pos < t.length() &&
        is_low_surrogate(char_at(d, t, pos)))
      return Status::error("insert position " + std::to_string(pos) + " splits a surrogate pair",
                           Status::kRange);
  }
  if (s.empty()) return {};
  ClientState& self = d.clients[0];
  if (Status st = check_clock(self, s.size()); !st) return st;
  return in_txn(d, [&] {
    const uint32_t len = static_cast<uint32_t>(s.size());
    const uint32_t content = static_cast<uint32_t>(d.arena.size());
    d.arena.append(s);
    if (typing) {
      t.extend_run(before.leaf, before.idx, len);
      self.ops.back().len += len;
      self.next_clock += len;
      t.note_typing(before.leaf, before.idx, pos + len);
    } else {
      insert_own_run(d, t, h, pos, before, len, content);
    }
    d.note_text_insert(h, pos, s);
    return Status::success();
  });
}

Status Doc::text_delete(RootHandle h, uint32_t pos, uint32_t len) {
  DocImpl& d = *impl_;
  Root* root = d.root_of(h, RootType::Text);
  if (!root) return bad_root("text");
  TextTree& t = *root->text;
  const uint32_t total = t.length();
  if (uint64_t{pos} + len > total)
    return Status::error("delete range " + std::to_string(pos) + "+" + std::to_string(len) +
                         " past the end (" + std::to_string(total) + ")", Status::kRange);
  // Exactly the range asked for, or nothing: a range that would leave half a surrogate pair
  // behind is refused (an editor mirrors its own edits, so the document must not widen them).
  // (Looked up in an order that costs one tree lookup for a one-unit delete of a BMP char.)
  const uint32_t end = pos + len;
  TreePos first{TextTree::kNone, 0, 0};
  bool splits = false;
  if (pos < total) {
    first = t.find_visible(pos);
    const char16_t first_char = d.arena[t.run(first.leaf, first.idx).content + first.off];
    splits = pos > 0 && is_low_surrogate(first_char) && is_high_surrogate(char_at(d, t, pos - 1));
    if (!splits && len > 0 && end < total) {
      const char16_t last_char = len == 1 ? first_char : char_at(d, t, end - 1);
      splits = is_high_surrogate(last_char) && is_low_surrogate(char_at(d, t, end));
    }
  }
  if (splits)
    return Status::error("delete range " + std::to_string(pos) + "+" + std::to_string(len) +
                         " splits a surrogate pair", Status::kRange);
  if (len == 0) return {};
  ClientState& self = d.clients[0];
  if (Status st = check_clock(self, len); !st) return st;
  return in_txn(d, [&] {
    delete_own_range(d, t, h, pos, first, len);
    return Status::success();
  });
}

uint32_t Doc::text_length(RootHandle h) const {
  const Root* r = impl_->root_of(h, RootType::Text);
  return r ? r->text->length() : 0;
}

bool Doc::may_hold_surrogates() const {
  const DocImpl& d = *impl_;
  for (size_t n = d.arena.size(); d.arena_scanned < n; ++d.arena_scanned)
    if ((d.arena[d.arena_scanned] & 0xf800) == 0xd800) return true;  // stays true: not advanced
  return false;
}

uint64_t Doc::clock_headroom() const { return kMaxClock - impl_->clients[0].next_clock; }

std::u16string Doc::text_content(RootHandle h) const {
  std::u16string out;
  if (const Root* r = impl_->root_of(h, RootType::Text)) r->text->append_content(&out);
  return out;
}

// --- Map / Register -------------------------------------------------------------------------

Status set_entry(DocImpl& d, RootHandle h, std::string_view key, std::string_view json, bool del) {
  if (!del && !is_json_value(json)) return Status::error("value is not valid JSON");
  if (key.size() > 0xffff) return Status::error("map key longer than 65535 bytes");
  ClientState& self = d.clients[0];
  if (Status st = check_clock(self, 1); !st) return st;
  Root& root = d.roots[h];
  std::string k(key);
  if (del) {
    auto it = root.entries.find(k);
    if (it == root.entries.end() || it->second.deleted) return {};
  }
  return in_txn(d, [&] {
    Op op{self.next_clock, 1, del ? OpKind::MapDelete : OpKind::MapSet};
    op.root = h;
    op.content = d.add_string(key);
    if (!del) op.value = d.add_string(json);
    // At the bound (only a hostile peer gets there) writes tie and the client id decides.
    d.lamport = std::min(d.lamport + 1, kMaxLamport);
    op.lamport = d.lamport;
    if (d.undo_managers > 0) {  // undo restores what this write overwrites
      auto old = root.entries.find(k);
      const bool found = old != root.entries.end(), live = found && !old->second.deleted;
      d.map_priors.push_back({op.clock, live, found && old->second.client == self.id,
                              found ? old->second.lamport : 0, live ? old->second.value : std::string()});
    }
    d.log_op(0, op);
    self.next_clock += 1;
    auto [it, fresh] = root.entries.try_emplace(k);
    MapEntry& e = it->second;
    // Same rule as for remote writes: only at the lamport cap can a local write lose.
    if (fresh || op.lamport > e.lamport || (op.lamport == e.lamport && self.id > e.client)) {
      e.value = del ? std::string() : std::string(json);
      e.deleted = del;
      e.lamport = op.lamport;
      e.client = self.id;
      d.note_map_key(h, k);
    } else {
      d.txn.changed = true;
    }
    return Status::success();
  });
}

namespace {

const MapEntry* live_entry(const Root* r, std::string_view key) {
  if (!r) return nullptr;
  auto it = r->entries.find(std::string(key));
  if (it == r->entries.end() || it->second.deleted) return nullptr;
  return &it->second;
}

const Root* map_like(const DocImpl& d, RootHandle h) {
  if (const Root* r = d.root_of(h, RootType::Map)) return r;
  return nullptr;
}

}  // namespace

Status Doc::map_set(RootHandle h, std::string_view key, std::string_view json) {
  if (!impl_->root_of(h, RootType::Map)) return bad_root("map");
  return set_entry(*impl_, h, key, json, false);
}

Status Doc::map_delete(RootHandle h, std::string_view key) {
  if (!impl_->root_of(h, RootType::Map)) return bad_root("map");
  return set_entry(*impl_, h, key, {}, true);
}

std::optional<std::string> Doc::map_get(RootHandle h, std::string_view key) const {
  if (const MapEntry* e = live_entry(map_like(*impl_, h), key)) return e->value;
  return std::nullopt;
}

bool Doc::map_has(RootHandle h, std::string_view key) const {
  return live_entry(map_like(*impl_, h), key) != nullptr;
}

std::vector<std::string> Doc::map_keys(RootHandle h) const {
  std::vector<std::string> keys;
  if (const Root* r = map_like(*impl_, h))
    for (const auto& [k, e] : r->entries)
      if (!e.deleted) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  return keys;
}

Status Doc::register_set(RootHandle h, std::string_view json) {
  if (!impl_->root_of(h, RootType::Register)) return bad_root("register");
  return set_entry(*impl_, h, "", json, false);
}

std::optional<std::string> Doc::register_get(RootHandle h) const {
  if (const MapEntry* e = live_entry(impl_->root_of(h, RootType::Register), "")) return e->value;
  return std::nullopt;
}

// --- Counter --------------------------------------------------------------------------------

Status Doc::counter_add(RootHandle h, int64_t delta) {
  DocImpl& d = *impl_;
  Root* root = d.root_of(h, RootType::Counter);
  if (!root) return bad_root("counter");
  if (delta == 0) return {};
  ClientState& self = d.clients[0];
  if (Status st = check_clock(self, 1); !st) return st;
  return in_txn(d, [&] {
    Op op{self.next_clock, 1, OpKind::CounterAdd};
    op.root = h;
    op.delta = delta;
    d.log_op(0, op);
    self.next_clock += 1;
    root->counter += delta;
    d.note_counter(h);
    return Status::success();
  });
}

int64_t Doc::counter_value(RootHandle h) const {
  const Root* r = impl_->root_of(h, RootType::Counter);
  if (!r) return 0;
  if (r->counter > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
  if (r->counter < std::numeric_limits<int64_t>::min()) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(r->counter);
}

double Doc::counter_value_f64(RootHandle h) const {
  const Root* r = impl_->root_of(h, RootType::Counter);
  return r ? static_cast<double>(r->counter) : 0;
}

// --- Sync -----------------------------------------------------------------------------------

std::vector<uint8_t> Doc::encode_state() const { return impl_->encode_since({}, true); }
std::vector<uint8_t> Doc::state_vector() const { return impl_->encode_state_vector(); }

Status Doc::encode_state_since(const uint8_t* sv, size_t len, std::vector<uint8_t>* out) const {
  std::vector<uint32_t> clocks;
  if (Status s = impl_->decode_state_vector(sv, len, &clocks); !s) return s;
  *out = impl_->encode_since(clocks, true);
  return {};
}

Status Doc::apply_update(const uint8_t* data, size_t len) {
  DocImpl* d = impl_.get();
  bool implicit = d->txn.depth == 0;
  if (implicit) d->begin();
  d->note_remote();  // B4 (issue 8)
  Status s;
  // Load speed: into a document that holds nothing, a big update is read once less (a compact
  // one, a single op, goes to apply_keystroke).
  if (len > DocImpl::kKeepOpsBytes && (data[0] & 0x80) == 0 && DocImpl::one_pass_load && d->empty_of_ops()) {
    const size_t roots = d->roots.size();
    const bool changed = d->txn.changed;
    const uint64_t lamport = d->lamport;
    if (!d->load_into_empty(data, len)) {
      empty_again(roots, changed, lamport);
      d = impl_.get();
      s = d->apply_update(data, len);
    }
  } else {
    s = d->apply_update(data, len);
  }
  if (implicit) d->commit_into(d->last_result);
  return s;
}

// A load into an empty document that needs the general path after all: what it integrated goes
// with a fresh document that keeps what the app set up (the first `roots`, which ones are
// observed, update capture, undo managers, the open transaction, as they were before the load).
// Cold; a fresh document costs less code than undoing every table (~2 KB gzip in wasm).
[[gnu::noinline, gnu::cold]] void Doc::empty_again(size_t roots, bool changed, uint64_t lamport) {
  Doc fresh(impl_->clients[0].id);
  const DocImpl& old = *impl_;
  DocImpl& f = *fresh.impl_;
  for (size_t h = 0; h < roots; ++h) {
    const Root& r = old.roots[h];
    f.roots[f.add_root(r.type, r.name)].observed = r.observed;
  }
  f.capture_updates = old.capture_updates;
  f.undo_managers = old.undo_managers;
  f.lamport = lamport;
  f.txn.depth = old.txn.depth;
  f.txn.remote = old.txn.remote;
  f.txn.clocks_before = old.txn.clocks_before;
  f.txn.changed = changed;
  std::swap(impl_, fresh.impl_);  // the partly loaded one goes with `fresh`
}

size_t Doc::pending_ops() const { return impl_->pending_count; }

bool Doc::knows_client(ClientId id) const { return impl_->client_ids.count(id) != 0; }

std::vector<Doc::RootInfo> Doc::roots() const {
  std::vector<RootInfo> out;
  for (RootHandle h = 0; h < impl_->roots.size(); ++h)
    out.push_back({impl_->roots[h].type, impl_->roots[h].name, h});
  return out;
}

// --- memory -------------------------------------------------------------------------------

size_t Doc::memory_bytes() const {
  const DocImpl& d = *impl_;
  size_t n = sizeof(DocImpl) + d.arena.capacity() * sizeof(char16_t) +
             d.clients.capacity() * sizeof(ClientState) + d.roots.capacity() * sizeof(Root) +
             d.strings.capacity() * sizeof(std::string) + d.pending_count * sizeof(RemoteOp) +
             d.client_ids.size() * 32 + d.pending.capacity() * sizeof(d.pending[0]);
  for (const ClientState& c : d.clients) n += c.ops.capacity() * sizeof(Op);
  for (const Root& r : d.roots) {
    if (r.text) n += r.text->memory_bytes();
    n += r.entries.size() * (sizeof(MapEntry) + 48);  // node, key and hash slot, roughly
  }
  return n;
}

namespace {
MemoryCheck g_memory_check = nullptr;
}  // namespace
void set_memory_check(MemoryCheck check) { g_memory_check = check; }
bool memory_available(size_t bytes) { return g_memory_check == nullptr || g_memory_check(bytes); }

size_t Doc::text_runs(RootHandle h) const {
  const Root* r = impl_->root_of(h, RootType::Text);
  return r ? r->text->run_total() : 0;
}


}  // namespace roomsync
