// Applying remote ops: validation, causal buffering and YATA-style integration of inserts.
#include <algorithm>
#include <optional>

#include "codec/update_codec.h"
#include "crdt/doc_impl.h"

namespace roomsync {
namespace {

constexpr size_t kMaxUpdateBytes = size_t{256} << 20;

// The first client whose clocks `op` needs but this document does not have yet.
uint32_t missing_dependency(const DocImpl& d, const RemoteOp& op) {
  auto missing = [&](Id id) { return !is_none(id) && id.clock >= d.clients[id.client].next_clock; };
  if (op.kind == OpKind::Insert) {
    if (missing(op.left)) return op.left.client;
    if (missing(op.right)) return op.right.client;
  } else if (op.kind == OpKind::Delete) {
    if (missing(Id{op.left.client, op.left.clock + op.len - 1})) return op.left.client;
  }
  return kNoClient;
}

// Load: what references are checked against, without keeping the update's ops.
// The update's own ops as clock segments per client (update terms). Consecutive ops of one
// class merge, so a burst of typing costs one segment, not one per op.
struct Segments {
  enum Class : uint8_t { kNop, kInsert, kOther };
  struct Seg {
    uint32_t begin, end;
    uint32_t root;  // kInsert: update root index
    Class cls;
  };
  std::vector<std::vector<Seg>> by_client;

  // merge speed (issue 8): empties the lists of clients 0..n-1, keeping their capacity.
  void reset(size_t n) {
    if (by_client.size() < n) by_client.resize(n);
    for (size_t i = 0; i < n; ++i) by_client[i].clear();
  }

  // False when `op` overlaps ops added before: one client's ops in an update never overlap
  // (otherwise ops could wait for themselves forever).
  bool add(const RemoteOp& op) {
    const Class cls = op.kind == OpKind::Nop ? kNop : op.kind == OpKind::Insert ? kInsert : kOther;
    const Seg s{op.clock, op.clock + op.len, cls == kInsert ? op.root : 0, cls};
    auto& v = by_client[op.client];
    if (!v.empty() && v.back().end == s.begin && v.back().cls == cls && v.back().root == s.root) {
      v.back().end = s.end;
    } else if (v.empty() || v.back().end <= s.begin) {
      v.push_back(s);
    } else {  // sections out of clock order (rare): keep the list sorted
      auto it = std::upper_bound(v.begin(), v.end(), s.begin, [](uint32_t k, const Seg& x) { return k < x.begin; });
      if ((it != v.begin() && (it - 1)->end > s.begin) || (it != v.end() && it->begin < s.end)) return false;
      v.insert(it, s);
    }
    return true;
  }
  // The segment holding `clock` of `client`, or nullptr.
  const Seg* find(uint32_t client, uint32_t clock) const {
    const auto& v = by_client[client];
    auto it = std::upper_bound(v.begin(), v.end(), clock, [](uint32_t k, const Seg& x) { return k < x.begin; });
    if (it == v.begin() || clock >= (it - 1)->end) return nullptr;
    return &*(it - 1);
  }
};

// Does every clock in [id, id + len) belong to an insert into `root`, as far as the document
// and the update tell? Clocks known to neither are fine (they wait as pending) once the whole
// update has been seen (`final`); before, they are kUnknown: asked again at the end.
struct RefChecker {
  enum Result { kBad, kGood, kUnknown };
  const DocImpl& d;
  const Segments& segs;
  const std::vector<uint32_t>& doc_client;   // update client index -> doc index or kNoClient
  const std::vector<RootHandle>& doc_root;   // update root index -> doc handle

  // The clocks of [clock, end) of document client `c` that the document has all belong to
  // inserts into `root`: false when one does not; else *k is the first clock it lacks (or end).
  static bool doc_has_inserts(const DocImpl& d, uint32_t c, uint32_t* k, uint32_t end, RootHandle root) {
    while (*k < end && *k < d.clients[c].next_clock) {
      const Op* op = d.op_at(c, *k);
      if (!op) return false;
      // Clocks kept as no-ops were already nonsense here: ops building on them become
      // no-ops too when integrated, as they would have if they had arrived first.
      if (op->kind != OpKind::Nop && (op->kind != OpKind::Insert || op->root != root)) return false;
      *k = op->clock + op->len;
    }
    return true;
  }

  Result check(Id id, uint32_t len, RootHandle root, bool final) const {
    uint32_t k = id.clock, end = id.clock + len;
    uint32_t c = doc_client[id.client];
    if (c != kNoClient && !doc_has_inserts(d, c, &k, end, root)) return kBad;
    while (k < end) {
      const Segments::Seg* s = segs.find(id.client, k);
      if (!s) return final ? kGood : kUnknown;  // unknown: will wait
      if (s->cls != Segments::kNop && (s->cls != Segments::kInsert || doc_root[s->root] != root)) return kBad;
      k = s->end;
    }
    return kGood;
  }
};

// RefChecker's test when the document has every clock of [id, id + n) (document terms): each
// is an insert into `root`, or a no-op.
bool all_inserts_here(const DocImpl& d, Id id, uint32_t n, RootHandle root) {
  uint32_t k = id.clock;
  return RefChecker::doc_has_inserts(d, id.client, &k, id.clock + n, root) && k >= id.clock + n;
}

// References that pass 1 could not check yet (into ops later in the update).
struct Deferred {
  Id target;  // update terms
  uint32_t len;
  RootHandle root;
  uint32_t client, clock;  // the op, for the message
};

// The document-side id an element of `op` (update terms) at `clock` targets (Delete only).
uint32_t delete_target_clock(const RemoteOp& op, uint32_t clock) {
  uint32_t i = clock - op.clock;
  return op.left.clock + (op.backward ? op.len - 1 - i : i);
}
uint32_t delete_target_clock(const Op& op, uint32_t clock) {
  uint32_t i = clock - op.clock;
  return op.left.clock + (op.backward ? op.len - 1 - i : i);
}

// A document has few clients and roots, mostly: scanning them beats building a key and
// hashing it, for every update.
constexpr size_t kScanTable = 16;
uint32_t known_client(const DocImpl& d, ClientId id) {
  if (d.clients.size() <= kScanTable) {
    for (size_t i = 0; i < d.clients.size(); ++i)
      if (d.clients[i].id == id) return static_cast<uint32_t>(i);
    return kNoClient;
  }
  auto it = d.client_ids.find(id);
  return it == d.client_ids.end() ? kNoClient : it->second;
}
std::optional<RootHandle> known_root(const DocImpl& d, RootType type, const std::string& name) {
  if (d.roots.size() <= kScanTable) {
    for (RootHandle h = 0; h < d.roots.size(); ++h)
      if (d.roots[h].type == type && d.roots[h].name == name) return h;
    return std::nullopt;
  }
  return d.find_root(type, name);
}

}  // namespace

// Merge speed: apply_update's tables, kept in the document from one small update
// to the next (emptied, capacity kept: a peer's keystroke allocates none). Those of a big update
// (a state) are freed when it returns, applied or refused: the document never keeps big tables.
struct ApplyScratch {
  bool big = false;
  DecodedUpdate u;
  std::vector<RootHandle> doc_root;
  std::vector<uint32_t> doc_client, adds, touched;
  Segments segs;
  std::vector<Deferred> deferred;
  RemoteOp keystroke;  // apply_keystroke's op
};
void ApplyScratchDeleter::operator()(ApplyScratch* s) const { delete s; }

// An op of this document's own client id (index 0) in an update: it must be one this document
// made, i.e. at clocks it has, with the same content. Anything else means another replica
// writes under the same client id; integrating it would make the two diverge for good.
Status DocImpl::check_own_op(const RemoteOp& op, const std::vector<uint32_t>& doc_client,
                             const std::vector<RootHandle>& doc_root) const {
  const ClientState& self = clients[0];
  const uint32_t end = op.clock + op.len;
  auto collision = [&](const char* what) {
    return Status::error("client id collision: the update carries ops " + std::to_string(self.id) + "@" +
                             std::to_string(op.clock) + ".." + std::to_string(end - 1) + " of this document's own client id " +
                             what + " (two replicas share client id " + std::to_string(self.id) +
                             "; give every replica its own, e.g. the random default)",
                         Status::kClientIdCollision);
  };
  if (end > self.next_clock) return collision("that it never made");
  if (op.kind == OpKind::Nop) return {};
  for (uint32_t k = op.clock; k < end;) {
    const Op* mine = op_at(0, k);
    if (!mine) return collision("that it never made");
    const uint32_t n = std::min(mine->clock + mine->len, end) - k;
    bool same = mine->kind == OpKind::Nop ||
                (mine->kind == op.kind && mine->root == doc_root[op.root]);
    if (same && mine->kind == OpKind::Insert && !op.values.empty() && mine->content != kNoContent) {
      for (uint32_t i = 0; same && i < n; ++i)  // a list insert: the same values
        same = op.values[k - op.clock + i] == list_values[mine->content + (k - mine->clock) + i];
    } else if (same && mine->kind == OpKind::Insert && op.has_content && mine->content != kNoContent) {
      same = std::u16string_view(op.text).substr(k - op.clock, n) ==
             std::u16string_view(arena).substr(mine->content + (k - mine->clock), n);
    } else if (same && mine->kind == OpKind::Delete) {
      same = doc_client[op.left.client] == mine->left.client;
      for (uint32_t i = k; same && i < k + n; ++i)
        same = delete_target_clock(op, i) == delete_target_clock(*mine, i);
    } else if (same && (mine->kind == OpKind::MapSet || mine->kind == OpKind::MapDelete)) {
      same = op.lamport == mine->lamport && op.key == strings[mine->content] &&
             (mine->kind == OpKind::MapDelete || op.value == strings[mine->value]);
    } else if (same && mine->kind == OpKind::CounterAdd) {
      same = op.delta == mine->delta;
    }
    if (!same) return collision("with other content than it made");
    k += n;
  }
  return {};
}

// Merge speed: what most remote updates are, a peer's keystroke arriving in order
// (compact, of a known client other than ours, into a known root, at the client's next clock,
// with every element it refers to here and nothing of that client held back). It is applied
// as the general path below would apply it, without that path's tables and second pass:
// merging a keystroke cost about twice as much through them. Anything else, including every
// error, goes the general way, which reports it.
bool DocImpl::apply_keystroke(const uint8_t* data, size_t len) {
  if (!apply_scratch) apply_scratch.reset(new ApplyScratch);
  DecodedUpdate& u = apply_scratch->u;
  RemoteOp& op = apply_scratch->keystroke;
  if (!decode_compact_update(data, len, &u, &op)) return false;
  const std::optional<RootHandle> root = known_root(*this, u.roots[0].type, u.roots[0].name);
  uint32_t ids[3];  // update client index -> document client index (a compact update names 1 to 3)
  for (size_t i = 0; i < u.clients.size(); ++i)
    if ((ids[i] = known_client(*this, u.clients[i])) == kNoClient) return false;
  const uint32_t c = ids[0];
  if (!root || roots[*root].type != u.roots[0].type || c == 0 || op.clock != clients[c].next_clock ||
      !pending[c].empty())
    return false;
  op.client = c;
  op.root = *root;
  if (!is_none(op.left)) op.left.client = ids[op.left.client];
  if (!is_none(op.right)) op.right.client = ids[op.right.client];
  // Every element it refers to is here and is an element of this root (RefChecker's test).
  auto here = [&](Id id, uint32_t n) { return all_inserts_here(*this, id, n, *root); };
  const bool refs_here = op.kind == OpKind::Insert
                             ? (is_none(op.left) || here(op.left, 1)) && (is_none(op.right) || here(op.right, 1))
                             : here(op.left, op.len);
  if (!refs_here || !memory_available(192 + op.text.size() * 6)) return false;
  integrate(op);
  if (op.text.capacity() > 1024) std::u16string().swap(op.text);  // a paste's text is not kept
  if (!waiting[c].empty()) {
    std::vector<uint32_t> work;
    work.swap(waiting[c]);
    drain(std::move(work));
  }
  return true;
}

// Room for what an update adds (ops per update client, text units, list values) at once:
// growing by doubling would leave up to half unused, with the old and new arrays alive together
// at the peak.
void DocImpl::reserve_for(const std::vector<uint32_t>& doc_client, const std::vector<uint32_t>& adds, size_t units,
                          size_t values) {
  std::vector<size_t> need(clients.size(), 0);
  for (size_t i = 0; i < doc_client.size(); ++i) need[doc_client[i]] += adds[i];
  for (size_t c = 0; c < clients.size(); ++c) {
    auto& ops = clients[c].ops;
    if (ops.size() + need[c] > ops.capacity()) ops.reserve(std::max(ops.size() + need[c], ops.capacity() + ops.capacity() / 2));
  }
  if (arena.size() + units > arena.capacity()) arena.reserve(std::max(arena.size() + units, arena.capacity() + arena.capacity() / 2));
  if (list_values.size() + values > list_values.capacity())
    list_values.reserve(std::max(list_values.size() + values, list_values.capacity() + list_values.capacity() / 2));
}

bool DocImpl::one_pass_load = true;

bool DocImpl::empty_of_ops() const {
  return clients.size() == 1 && clients[0].next_clock == 0 && clients[0].ops.empty() && pending_count == 0 &&
         arena.empty() && strings.empty() && list_values.empty() && txn.text_deltas.empty() &&
         txn.text_len_before.empty() && txn.map_keys.empty() && txn.counters.empty();
}

// Load speed: the general path below reads a big update twice (check everything, then
// integrate) so that a refused update changes nothing. A document that holds nothing can
// instead be emptied again: here the update is decoded once to count and once to integrate
// every op as it is read, checked as the general path checks it. Anything that path would not
// integrate at once (an error, an op of our own client id or one that would wait for another)
// returns false with part of the update integrated; Doc::apply_update then empties the document
// and lets the general path refuse or hold the update.
bool DocImpl::load_into_empty(const uint8_t* data, size_t len) {
  // A first pass only counts, so that the op logs and the arena are sized once, as the general
  // path sizes them (grown op by op, they kept up to half their room unused: +45% memory after
  // loading automerge-paper, and a higher peak).
  DecodedUpdate u;
  std::vector<uint32_t> adds;  // ops per update client
  size_t n_ops = 0, units = 0, values = 0;
  auto count = [&](RemoteOp& op) -> Status {
    if (adds.size() < u.clients.size()) adds.resize(u.clients.size(), 0);
    ++adds[op.client];
    ++n_ops;
    units += op.text.size();
    values += op.values.size();
    return {};
  };
  if (!decode_update(data, len, &u, count) || !memory_available(n_ops * 192 + units * 6)) return false;
  adds.resize(u.clients.size(), 0);
  std::vector<RootHandle> doc_root;
  std::vector<uint32_t> doc_client;
  bool resolved = false;
  // The update's roots and clients, added in the order the general path adds them.
  auto resolve = [&] {
    resolved = true;
    doc_root.resize(u.roots.size());
    for (size_t i = 0; i < u.roots.size(); ++i) {
      const std::optional<RootHandle> h = known_root(*this, u.roots[i].type, u.roots[i].name);
      doc_root[i] = h ? *h : add_root(u.roots[i].type, u.roots[i].name);
    }
    doc_client.resize(u.clients.size());
    for (size_t i = 0; i < u.clients.size(); ++i) doc_client[i] = client_index(u.clients[i]);
    if (n_ops > 64) reserve_for(doc_client, adds, units, values);
  };
  auto visit = [&](RemoteOp& op) -> Status {
    if (!resolved) resolve();
    const uint32_t c = doc_client[op.client];
    const bool continues = op.left == Id{op.client, op.clock - 1};  // as in the general check
    if (c == 0 || op.clock != clients[c].next_clock) return Status::error("general path");
    op.client = c;
    if (op.kind != OpKind::Nop) op.root = doc_root[op.root];
    if (!is_none(op.left)) op.left.client = doc_client[op.left.client];
    if (!is_none(op.right)) op.right.client = doc_client[op.right.client];
    if (missing_dependency(*this, op) != kNoClient) return Status::error("general path");
    const OpKind kind = op.kind;
    const Id left = op.left, right = op.right;
    const uint32_t n = op.len;
    const RootHandle root = op.root;
    integrate(op);
    // An insert or delete that took effect found every element it refers to in its root's
    // tree, so it passes the general check; one that became a no-op is checked as there.
    if ((kind == OpKind::Insert || kind == OpKind::Delete) && clients[c].ops.back().kind == OpKind::Nop) {
      const bool good = kind == OpKind::Insert
                            ? (continues || is_none(left) || all_inserts_here(*this, left, 1, root)) &&
                                  (is_none(right) || all_inserts_here(*this, right, 1, root))
                            : all_inserts_here(*this, left, n, root);
      if (!good) return Status::error("general path");
    }
    return {};
  };
  DecodedUpdate again;  // the tables again (the same bytes decode the same way)
  if (decode_update(data, len, &again, visit)) {
    if (!resolved) resolve();  // no ops
    return true;
  }
  return false;  // Doc::apply_update empties the document again
}

// Load: two passes over the bytes, neither of which holds the decoded ops. The
// first checks everything and changes nothing; the second integrates op by op, so loading a
// state peaks at about the loaded document (plus the bytes), and a bad update changes nothing.
Status DocImpl::apply_update(const uint8_t* data, size_t len) {
  if (len > kMaxUpdateBytes) return Status::error("bad update: larger than 256 MiB");
  if (len > 0 && (data[0] & 0x80) && apply_keystroke(data, len)) return {};  // merge speed (issue 8)
  // Small updates keep their ops for the second pass instead of decoding the bytes again (the
  // peak stays bounded: at most kKeepOpsBytes of update are held decoded).
  const bool keep = len <= kKeepOpsBytes;
  // Merge speed: the tables (decode_update and resolve() empty theirs; the rest
  // a refused update may have left)
  if (!apply_scratch) apply_scratch.reset(new ApplyScratch);
  ApplyScratch& x = *apply_scratch;
  x.big = !keep;
  struct FreeBig {
    std::unique_ptr<ApplyScratch, ApplyScratchDeleter>& p;
    ~FreeBig() {
      if (p->big) p.reset();
    }
  } free_big{apply_scratch};
  DecodedUpdate& u = x.u;
  std::vector<RootHandle>& doc_root = x.doc_root;
  std::vector<uint32_t>& doc_client = x.doc_client;
  Segments& segs = x.segs;
  std::vector<Deferred>& deferred = x.deferred;
  std::vector<uint32_t>& adds = x.adds;  // ops per update client, to size the op logs
  std::vector<uint32_t>& touched = x.touched;
  deferred.clear();
  touched.clear();
  bool resolved = false;  // the tables below are this update's
  size_t n_ops = 0, units = 0, values = 0;
  size_t n_new = 0;  // merge speed (issue 8): ops with clocks this document lacks
  auto bad_ref = [&](uint32_t client, uint32_t clock) {
    return Status::error("bad update: op " + std::to_string(u.clients[client]) + "@" + std::to_string(clock) +
                         " refers to something that is not text (or list elements) in its root");
  };
  // Resolves roots and clients without touching the document (once the tables are decoded).
  auto resolve = [&] {
    resolved = true;
    doc_root.resize(u.roots.size());  // every entry is set below
    RootHandle next_root = static_cast<RootHandle>(roots.size());
    for (size_t i = 0; i < u.roots.size(); ++i) {
      if (auto h = known_root(*this, u.roots[i].type, u.roots[i].name)) doc_root[i] = *h;  // merge speed
      else doc_root[i] = next_root++;
    }
    doc_client.resize(u.clients.size());
    adds.resize(u.clients.size());
    for (size_t i = 0; i < u.clients.size(); ++i) {
      doc_client[i] = known_client(*this, u.clients[i]);  // merge speed
      adds[i] = 0;
    }
    segs.reset(u.clients.size());
  };
  const RefChecker refs{*this, segs, doc_client, doc_root};
  auto check = [&](RemoteOp& op) -> Status {
    if (!resolved) resolve();
    if (!segs.add(op))
      return Status::error("bad update: ops of client " + std::to_string(u.clients[op.client]) + " overlap at clock " +
                           std::to_string(op.clock));
    ++n_ops;
    ++adds[op.client];
    units += op.text.size();
    values += op.values.size();
    if (doc_client[op.client] == 0)
      if (Status st = check_own_op(op, doc_client, doc_root); !st) return st;
    // Only what will be applied is checked: clocks this document has are skipped later,
    // so delivering an accepted update again is accepted again.
    uint32_t known = doc_client[op.client] == kNoClient ? 0 : clients[doc_client[op.client]].next_clock;
    if (op.clock + op.len <= known) return {};
    ++n_new;
    uint32_t skip = known > op.clock ? known - op.clock : 0;
    auto ref = [&](Id target, uint32_t n) {
      const RootHandle root = doc_root[op.root];
      RefChecker::Result r = refs.check(target, n, root, false);
      if (r == RefChecker::kUnknown) deferred.push_back({target, n, root, op.client, op.clock});
      return r != RefChecker::kBad;
    };
    bool good = true;
    if (op.kind == OpKind::Insert) {
      // A left origin at the clock just before is the op's own run continuing (ops split
      // where they were trimmed); if that clock is something else here, the op becomes a
      // no-op when integrated instead of refusing the update.
      bool continues = op.left == Id{op.client, op.clock - 1};
      good = (skip > 0 || continues || is_none(op.left) || ref(op.left, 1)) && (is_none(op.right) || ref(op.right, 1));
    } else if (op.kind == OpKind::Delete) {
      Id target = op.left;
      if (!op.backward) target.clock += skip;
      good = ref(target, op.len - skip);
    }
    return good ? Status{} : bad_ref(op.client, op.clock);
  };
  std::vector<RemoteOp>& kept = small_update_ops;
  kept.clear();  // a refused update may have left some
  auto check_and_keep = [&](RemoteOp& op) -> Status {
    Status st = check(op);
    if (st && keep) kept.push_back(op);
    return st;
  };
  Status s = decode_update(data, len, &u, check_and_keep);
  if (!s) return s;
  for (const Deferred& d : deferred)
    if (refs.check(d.target, d.len, d.root, true) == RefChecker::kBad) return bad_ref(d.client, d.clock);
  if (!resolved) resolve();  // no ops
  // Merge speed: an update this document has entirely (a state merged again, a
  // re-delivered update) changes nothing, unless it names a new client or root: no second pass.
  if (n_new == 0 && std::find(doc_client.begin(), doc_client.end(), kNoClient) == doc_client.end() &&
      std::all_of(doc_root.begin(), doc_root.end(), [&](RootHandle h) { return h < roots.size(); }))
    return {};

  // Memory: what integrating the decoded ops may take (op log entry, run, leaf
  // space and index entry, or a pending entry; text in the arena, which may double, and in
  // events), asked of the embedding's check before anything changes.
  if (!memory_available(n_ops * 192 + units * 6))
    return Status::error("out of memory", Status::kOutOfMemory);

  // Valid: from here on the update is applied.
  for (size_t i = 0; i < u.roots.size(); ++i)
    if (doc_root[i] == roots.size()) add_root(u.roots[i].type, u.roots[i].name);
  for (size_t i = 0; i < u.clients.size(); ++i)
    if (doc_client[i] == kNoClient) doc_client[i] = client_index(u.clients[i]);  // merge speed: new ones only
  if (n_ops > 64) reserve_for(doc_client, adds, units, values);
  if (!keep) {  // a big update's lists go before its ops integrate (the peak)
    std::vector<Deferred>().swap(deferred);
    std::vector<uint32_t>().swap(adds);
    segs.by_client.clear();
    segs.by_client.shrink_to_fit();
  }
  DecodedUpdate again;
  auto apply = [&](RemoteOp& op) -> Status {
    op.client = doc_client[op.client];
    if (op.kind != OpKind::Nop) op.root = doc_root[op.root];
    if (!is_none(op.left)) op.left.client = doc_client[op.left.client];
    if (!is_none(op.right)) op.right.client = doc_client[op.right.client];
    const uint32_t have = clients[op.client].next_clock;
    if (op.clock + op.len <= have) return {};  // already have it
    auto& q = pending[op.client];
    // The common case (in-order delivery, loading a saved state): integrate at once, without
    // a detour through the pending queue. Whoever waited for this client gets another look.
    // Held ops are stored trimmed to what is known, so a re-delivered op lands on the same key.
    if (op.clock < have) trim_front(op, have - op.clock);
    if (q.empty() && op.clock == have) {
      if (missing_dependency(*this, op) == kNoClient) {
        integrate(op);
        auto& waiters = waiting[op.client];
        touched.insert(touched.end(), waiters.begin(), waiters.end());
        waiters.clear();
        return {};
      }
    }
    auto [it, fresh] = q.try_emplace(op.clock, std::move(op));  // moves op only when fresh
    if (fresh) {
      ++pending_count;
    } else if (op.len > it->second.len) {
      it->second = std::move(op);
    }
    if (touched.empty() || touched.back() != it->second.client) touched.push_back(it->second.client);  // merge speed
    return {};
  };
  // The bytes decoded once already: the second pass cannot fail.
  if (keep) {
    for (RemoteOp& op : kept) apply(op);
    kept.clear();
    if (kept.capacity() > 64) std::vector<RemoteOp>().swap(kept);  // keystrokes need one op
  } else {
    decode_update(data, len, &again, apply);
  }
  if (touched.empty()) return {};  // merge speed (issue 8): nothing waits, nothing to drain
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  drain(touched);
  return {};
}

// merge speed (issue 8): the clients to look at are a stack, not a queue: causally ready ops
// integrate to the same document in any order, and a std::deque cost about 1 KB of wasm.
void DocImpl::drain(std::vector<uint32_t> work) {
  while (!work.empty()) {
    uint32_t c = work.back();
    work.pop_back();
    auto& q = pending[c];
    bool advanced = false;
    while (!q.empty()) {
      auto it = q.begin();
      uint32_t have = clients[c].next_clock;
      if (it->second.clock + it->second.len <= have) {
        q.erase(it);
        --pending_count;
        continue;
      }
      if (it->second.clock > have) break;  // a gap: waits for this client's earlier ops
      trim_front(it->second, have - it->second.clock);
      uint32_t dep = missing_dependency(*this, it->second);
      if (dep != kNoClient) {
        waiting[dep].push_back(c);
        break;
      }
      integrate(it->second);  // merge speed (issue 8): in place (integrate leaves pending alone)
      q.erase(it);
      --pending_count;
      advanced = true;
    }
    if (advanced && !waiting[c].empty()) {
      for (uint32_t w : waiting[c]) work.push_back(w);
      waiting[c].clear();
    }
  }
}

namespace {

struct Scanned {
  uint32_t client, clock, len;
};

// Index of the scanned run holding `id`, or -1.
int find_scanned(const std::vector<Scanned>& s, Id id) {
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i].client == id.client && id.clock >= s[i].clock && id.clock - s[i].clock < s[i].len)
      return static_cast<int>(i);
  return -1;
}

}  // namespace

void DocImpl::integrate(RemoteOp& op) {
  ClientState& author = clients[op.client];
  // Where a change lands, for observers only (kNoContent when nobody listens).
  auto observed_position = [&](const TextTree& t, uint32_t leaf, uint32_t idx, RootHandle h,
                               uint32_t extra) -> uint32_t {
    return roots[h].observed ? t.position_of(leaf, idx) + extra : kNoContent;
  };
  Op logged{op.clock, op.len, op.kind};
  logged.root = op.root;
  bool effective = false;

  switch (op.kind) {
    case OpKind::Insert: {
      Root* root = seq_root(op.root);  // text or list
      if (!root) break;
      TextTree& t = *root->text;
      // Merge speed: each origin is located once; the left one again only if
      // the split at the right one happened (a split may move runs to a new leaf).
      TreePos pl{TextTree::kNone, 0, 0}, pr{TextTree::kNone, 0, 0};
      if (!is_none(op.left) && (pl = t.locate(op.left)).leaf == TextTree::kNone) break;
      if (!is_none(op.right) && (pr = t.locate(op.right)).leaf == TextTree::kNone) break;
      effective = true;
      const bool split_right = pr.off > 0;
      if (split_right) t.split_at(pr);
      uint32_t anchor_leaf = TextTree::kNone, anchor_idx = 0;  // insert after this run
      uint32_t ol = 0, oi = 0;
      bool more;
      if (is_none(op.left)) {
        more = t.first_run(&ol, &oi);
      } else {
        // Merge speed: the left origin's run is cut after it (unless it ends
        // there: then the next clock, if anywhere, starts a run of its own)
        if (split_right) pl = t.locate(op.left);
        if (pl.off + 1 < t.run(pl.leaf, pl.idx).len) {
          TreePos q = t.split_at(TreePos{pl.leaf, pl.idx, pl.off + 1});
          pl = TreePos{q.leaf, q.idx - 1, pl.off};
        }
        TreePos p = pl;
        anchor_leaf = ol = p.leaf;
        anchor_idx = oi = p.idx;
        more = t.next_run(&ol, &oi);
      }
      // YATA: walk the runs between the origins and place the new run among concurrent ones.
      const ClientId me = author.id;
      std::vector<Scanned> scanned;
      size_t conflict_start = 0;
      while (more) {
        const Run& o = t.run(ol, oi);
        if (!is_none(op.right) && o.contains(op.right)) break;
        scanned.push_back({o.client, o.clock, o.len});
        bool take = false;
        const Id o_left = origin_left(o);
        if (o_left == op.left) {
          if (clients[o.client].id < me) take = true;
          else if (origin_right(o) == op.right) break;
        } else if (!is_none(o_left)) {
          int j = find_scanned(scanned, o_left);
          if (j < 0) break;
          take = static_cast<size_t>(j) < conflict_start;
        } else {
          break;
        }
        if (take) {
          anchor_leaf = ol;
          anchor_idx = oi;
          conflict_start = scanned.size();
        }
        more = t.next_run(&ol, &oi);
      }
      uint32_t content = kNoContent;
      const bool list = root->type == RootType::List;
      if (op.has_content && list) {  // a list's content: its values, one per element
        content = static_cast<uint32_t>(list_values.size());
        for (std::string& v : op.values) list_values.push_back(std::move(v));
      } else if (op.has_content) {
        content = static_cast<uint32_t>(arena.size());
        arena.append(op.text);
      }
      auto note_insert = [&](uint32_t pos) {
        if (list) note_list_insert(op.root, pos, op.len);
        else note_text_insert(op.root, pos, op.text);
      };
      // Typing that arrives keystroke by keystroke grows the author's run, as local typing does.
      bool extended = false;
      if (anchor_leaf != TextTree::kNone) {
        const Run& a = t.run(anchor_leaf, anchor_idx);
        if (op.has_content && a.client == op.client && a.clock + a.len == op.clock && !a.deleted &&
            a.content + a.len == content && op.left == a.id_at(a.len - 1) && origin_right(a) == op.right) {
          uint32_t pos = observed_position(t, anchor_leaf, anchor_idx, op.root, a.len);
          t.extend_run(anchor_leaf, anchor_idx, op.len);
          if (pos != kNoContent) note_insert(pos);
          extended = true;
        }
      }
      if (!extended) {
        TreePos placed = t.insert_after(anchor_leaf, anchor_idx,
                                        Run{op.client, op.clock, op.len, content, !op.has_content});
        uint32_t pos = op.has_content ? observed_position(t, placed.leaf, placed.idx, op.root, 0) : kNoContent;
        if (pos != kNoContent) note_insert(pos);
      }
      txn.changed = true;
      logged.left = op.left;
      logged.right = op.right;
      logged.content = content;
      break;
    }
    case OpKind::Delete: {
      Root* root = seq_root(op.root);  // text or list
      if (!root) break;
      TextTree& t = *root->text;
      const uint32_t c = op.left.client, end = op.left.clock + op.len;
      bool all_here = true;
      for (uint32_t k = op.left.clock; k < end && all_here;) {
        TreePos p = t.locate(Id{c, k});
        if (p.leaf == TextTree::kNone) all_here = false;
        else k = t.run(p.leaf, p.idx).clock + t.run(p.leaf, p.idx).len;
      }
      if (!all_here) break;
      effective = true;
      for (uint32_t k = op.left.clock; k < end;) {
        TreePos p = t.locate(Id{c, k});
        const Run& r = t.run(p.leaf, p.idx);
        const uint32_t run_end = r.clock + r.len;
        const uint32_t n = std::min(run_end, end) - k;
        if (!r.deleted) {
          if (p.off > 0) t.split_before(Id{c, k});
          if (k + n < run_end) t.split_before(Id{c, k + n});
          p = t.locate(Id{c, k});
          uint32_t pos = observed_position(t, p.leaf, p.idx, op.root, 0);
          t.mark_deleted(p.leaf, p.idx);
          if (pos != kNoContent) note_text_delete(op.root, pos, n);
          txn.changed = true;
        }
        k += n;
      }
      logged.left = op.left;
      logged.backward = op.backward;
      break;
    }
    case OpKind::MapSet:
    case OpKind::MapDelete: {
      Root& root = roots[op.root];
      if (root.type != RootType::Map && root.type != RootType::Register) break;
      effective = true;
      lamport = std::max(lamport, op.lamport);
      logged.content = add_string(op.key);
      if (op.kind == OpKind::MapSet) logged.value = add_string(op.value);
      logged.lamport = op.lamport;
      auto [it, fresh] = root.entries.try_emplace(op.key);
      MapEntry& e = it->second;
      if (fresh || op.lamport > e.lamport || (op.lamport == e.lamport && author.id > e.client)) {
        bool was_live = !fresh && !e.deleted;
        bool del = op.kind == OpKind::MapDelete;
        e.value = del ? std::string() : std::move(op.value);
        e.deleted = del;
        e.lamport = op.lamport;
        e.client = author.id;
        if (was_live || !del) note_map_key(op.root, op.key);
      }
      txn.changed = true;
      break;
    }
    case OpKind::CounterAdd: {
      Root* root = root_of(op.root, RootType::Counter);
      if (!root) break;
      effective = true;
      // The sum is exact (128 bits never overflow here), so it is the same in any order.
      root->counter += op.delta;
      logged.delta = op.delta;
      note_counter(op.root);
      break;
    }
    case OpKind::Nop:
      break;
  }
  if (!effective) {  // an op we cannot make sense of still occupies its clocks
    logged = Op{op.clock, op.len, OpKind::Nop};
    txn.changed = true;
  }
  log_op(op.client, logged);
  author.next_clock = op.clock + op.len;
}

}  // namespace roomsync
