// Internal state of a Doc: client table, per-client op logs, roots and the open transaction.
// Shared by doc.cpp (local edits), sync/integrate.cpp (remote ops) and codec/update_codec.cpp.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "crdt/doc.h"
#include "crdt/ids.h"
#include "crdt/text_tree.h"

namespace roomsync {

enum class OpKind : uint8_t { Insert = 1, Delete = 2, MapSet = 3, MapDelete = 4, CounterAdd = 5, Nop = 6 };

// One entry of a client's op log, covering clocks [clock, clock + len). Consecutive typing
// and consecutive deletions extend the last entry instead of adding one.
struct Op {
  Op(uint32_t c = 0, uint32_t l = 0, OpKind k = OpKind::Nop) : clock(c), len(l), kind(k) {}
  uint32_t clock;
  uint32_t len;
  OpKind kind;
  bool backward = false;  // Delete: clock + i deletes the (len - 1 - i)th target element
  uint32_t root = 0;
  uint32_t content = kNoContent;  // Insert: arena offset; Map ops: key string index
  // By kind (issue 8: an op takes 40 bytes, not 56): ids for Insert and Delete, the rest for
  // map and counter ops.
  union {
    Id left = kNoId;   // Insert: origin left of the first element; Delete: first target
    uint64_t lamport;  // Map ops
    int64_t delta;     // CounterAdd
  };
  union {
    Id right = kNoId;  // Insert: origin right
    uint32_t value;    // MapSet: value string index
  };
};

// An op received from a peer, in document terms (client indexes, root handles).
struct RemoteOp {
  uint32_t client;
  uint32_t clock;
  uint32_t len;
  OpKind kind;
  bool backward = false;
  bool has_content = false;  // Insert: false = the sender already knows it deleted
  uint32_t root = 0;
  Id left = kNoId, right = kNoId;
  std::u16string text;
  std::vector<std::string> values;  // Insert into a list: one JSON text per element
  std::string key, value;
  uint64_t lamport = 0;
  int64_t delta = 0;
};

// Drops the first `skip` clocks of `op` (the receiver has them already).
inline void trim_front(RemoteOp& op, uint32_t skip) {
  if (skip == 0) return;
  if (op.kind == OpKind::Insert) {
    op.left = Id{op.client, op.clock + skip - 1};
    if (op.has_content) op.text.erase(0, skip);
    if (!op.values.empty()) op.values.erase(op.values.begin(), op.values.begin() + skip);
  } else if (op.kind == OpKind::Delete && !op.backward) {
    op.left.clock += skip;
  }
  op.clock += skip;
  op.len -= skip;
}

struct ClientState {
  ClientId id;
  uint32_t next_clock = 0;
  std::vector<Op> ops;
};

struct MapEntry {
  std::string value;  // JSON text
  bool deleted = false;
  uint64_t lamport = 0;
  ClientId client = 0;
};

// A counter's exact sum: int64 steps, fewer than 2^64 of them, can never overflow it, so every
// replica holds the same sum whatever order the steps arrive in (int64 would wrap).
__extension__ typedef __int128 CounterSum;

struct Root {
  RootType type;
  std::string name;
  std::unique_ptr<TextTree> text;  // Text and List roots (a list's run.content indexes list_values)
  std::unordered_map<std::string, MapEntry> entries;
  CounterSum counter = 0;
  bool observed = false;
};

// What the open transaction changed, for observers.
struct TxnState {
  int depth = 0;
  std::vector<uint32_t> clocks_before;  // next_clock per client index at begin
  bool remote = false;  // B4 (issue 8): remote ops came in; until then clocks_before is ours only
  // Lists compose here too, with placeholder text (lengths only): see DocImpl::list_event.
  std::map<RootHandle, std::vector<TextDeltaOp>> text_deltas;
  std::map<RootHandle, uint32_t> text_len_before;  // for oversized deltas
  std::map<RootHandle, std::set<std::string>> map_keys;
  std::set<RootHandle> counters;
  bool changed = false;
};

// Buffers the update encoder reuses, so encoding one small transaction allocates only its
// result (the B4 case: an update per keystroke).
struct EncodeScratch {
  std::vector<int32_t> client_slot, root_slot;
  std::vector<ClientId> client_table;
  std::vector<RootHandle> root_table;
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> gone;  // per client index
  std::vector<uint32_t> gone_used;
  std::vector<uint8_t> body, section;
  std::string text;
  std::vector<std::pair<uint32_t, uint32_t>> cursor;  // causal order (issue 8): per client index
};

// --- local edits, shared by Text (doc.cpp) and List (list.cpp) ---------------------------------
// Runs `fn` (returning Status) inside the open transaction, or inside one of its own that commits
// at once.
template <typename Fn>
Status in_txn(DocImpl& d, Fn fn);
[[gnu::cold]] Status clock_exhausted();
inline Status check_clock(const ClientState& self, uint64_t n) {
  return self.next_clock + n > kMaxClock ? clock_exhausted() : Status{};
}
// Places `n` new elements of this replica (clocks from its next clock, content from `content`)
// right after visible element pos - 1 (`before`, found by the caller; ignored when pos == 0),
// growing our own run when typing at its end, then logs the insert and advances the clock.
void insert_own_run(DocImpl& d, TextTree& t, RootHandle h, uint32_t pos, TreePos before, uint32_t n,
                    uint32_t content);
// Deletes the `len` visible elements from `pos` (the first found by the caller: `first`) as this
// replica's ops, and notes the delete for observers (lists compose deltas the same way).
void delete_own_range(DocImpl& d, TextTree& t, RootHandle h, uint32_t pos, TreePos first, uint32_t len);

// --- undo (crdt/undo.cpp) -------------------------------------------------------------------
// What a local map or register write at `clock` overwrote: undo restores it.
struct MapPrior {
  uint32_t clock;
  bool live;          // the key had a value (not absent, not deleted)
  bool mine;          // the overwritten entry (value or deletion) was written here...
  uint64_t lamport;   // ...with this lamport
  std::string value;  // the value (JSON text)
};

// A local map/register write (doc.cpp): `del` deletes the key. Used by undo to restore values.
class DocImpl;
Status set_entry(DocImpl& d, RootHandle h, std::string_view key, std::string_view json, bool del);
// Merge speed: apply_update's working tables (sync/integrate.cpp), kept from
// update to update so that a peer's keystroke allocates nothing.
struct ApplyScratch;
struct ApplyScratchDeleter {
  void operator()(ApplyScratch* s) const;
};
// Memory: the installed MemoryCheck (doc.cpp); true when none is installed.
bool memory_available(size_t bytes);

class DocImpl {
 public:
  explicit DocImpl(ClientId id);

  // --- tables
  uint32_t client_index(ClientId id);  // registers when new
  const Root* root_of(RootHandle h, RootType t) const;
  Root* root_of(RootHandle h, RootType t);
  // Roots are named by type and name together, so two replicas that pick the same name for
  // different types concurrently still converge (they simply get two roots).
  std::optional<RootHandle> find_root(RootType type, std::string_view name) const;
  RootHandle add_root(RootType type, std::string_view name);
  uint32_t add_string(std::string_view s);
  // The op of `client` covering `clock`, or nullptr.
  const Op* op_at(uint32_t client, uint32_t clock) const;
  // Memory: a run's origins, from the op that inserted it (runs do not keep them).
  Id origin_left(const Run& r) const {
    const Op* op = op_at(r.client, r.clock);
    return r.clock == op->clock ? op->left : Id{r.client, r.clock - 1};
  }
  Id origin_right(const Run& r) const { return op_at(r.client, r.clock)->right; }

  // --- transactions
  void begin();
  TransactionResult commit();
  void commit_into(TransactionResult& res);
  bool wants_events(RootHandle h) const { return roots[h].observed; }
  void note_text_insert(RootHandle h, uint32_t pos, std::u16string_view s) {
    txn.changed = true;  // inline: typing pays one store when nobody observes
    if (roots[h].observed) observe_text_insert(h, pos, s);
  }
  void note_text_delete(RootHandle h, uint32_t pos, uint32_t len) {
    txn.changed = true;
    if (roots[h].observed) observe_text_delete(h, pos, len);
  }
  void observe_text_insert(RootHandle h, uint32_t pos, std::u16string_view s);
  void observe_text_delete(RootHandle h, uint32_t pos, uint32_t len);
  // The event of root h replaces everything (a huge delta, or a root empty before): its delta
  // was not built.
  bool whole_event(RootHandle h, const std::vector<TextDeltaOp>& delta);
  void note_map_key(RootHandle h, const std::string& key);
  void note_counter(RootHandle h);
  // --- lists (crdt/list.cpp)
  Root* seq_root(RootHandle h);  // a Text or List root, or nullptr
  bool is_list(RootHandle h) const { return roots[h].type == RootType::List; }
  void note_list_insert(RootHandle h, uint32_t pos, uint32_t n);
  void append_list_values(const TextTree& t, uint32_t pos, uint32_t n, std::vector<std::string>* out) const;
  void list_event(TransactionResult& res, RootHandle h, std::vector<TextDeltaOp>& delta, bool oversized);

  // --- op log
  void log_op(uint32_t client, const Op& op);

  // --- remote (sync/integrate.cpp)
  Status apply_update(const uint8_t* data, size_t len);
  Status check_own_op(const RemoteOp& op, const std::vector<uint32_t>& doc_client,
                      const std::vector<RootHandle>& doc_root) const;
  void integrate(RemoteOp& op);
  void drain(std::vector<uint32_t> work);
  // Merge speed: a peer's keystroke that arrives in order, applied without the
  // general path's tables; false (nothing changed) when the update needs the general path.
  bool apply_keystroke(const uint8_t* data, size_t len);
  // Load speed: a big update (a saved state, a late joiner's snapshot) into a document that
  // holds nothing yet (empty_of_ops), integrated as it is read. False when it needs the general
  // path (an error, an op of our own id or one that would wait, memory): the document must
  // then be emptied again (Doc::apply_update makes a fresh one).
  bool load_into_empty(const uint8_t* data, size_t len);
  bool empty_of_ops() const;
  // apply_update keeps the decoded ops of an update up to this size for its second pass;
  // bigger ones are decoded twice, or once less by load_into_empty.
  static constexpr size_t kKeepOpsBytes = 4096;
  void reserve_for(const std::vector<uint32_t>& doc_client, const std::vector<uint32_t>& adds, size_t units,
                   size_t values);
  static bool one_pass_load;  // tests compare the two paths

  // --- encoding (codec/update_codec.cpp)
  // Ops after `clocks` (per client index); with_pending adds ops waiting for parents.
  std::vector<uint8_t> encode_since(const std::vector<uint32_t>& clocks, bool with_pending) const;
  // B4: the update of a local transaction that made one text insert or one
  // delete since our clock `from`, in the compact form, into `out`; false when it does not fit.
  bool encode_compact(uint32_t from, std::vector<uint8_t>* out) const;
  // Anything that integrates remote ops inside a transaction calls this first: begin() notes
  // only our own clock, this notes the others' (so a keystroke walks no client table).
  void note_remote();
  // The update of the transaction being committed (compact when it can be), into `out`.
  void encode_update(std::vector<uint8_t>& out);
  std::vector<uint8_t> encode_state_vector() const;
  Status decode_state_vector(const uint8_t* data, size_t len, std::vector<uint32_t>* clocks) const;

  std::vector<ClientState> clients;  // index 0 is this replica
  std::unordered_map<ClientId, uint32_t> client_ids;
  std::vector<Root> roots;
  std::unordered_map<std::string, RootHandle> root_names;  // key: type byte + name
  std::u16string arena;               // all inserted text, append-only
  mutable size_t arena_scanned = 0;   // may_hold_surrogates: arena[0, arena_scanned) has none
  std::vector<std::string> strings;   // map keys and values
  std::vector<std::string> list_values;  // all inserted list elements (JSON), append-only
  uint64_t lamport = 0;
  TxnState txn;
  mutable EncodeScratch scratch;
  bool capture_updates = false;
  TransactionResult last_result;

  // Ops waiting for causal parents: per client index, by clock.
  std::vector<std::map<uint32_t, RemoteOp>> pending;
  // Per client index: clients whose next pending op waits for this client's clocks.
  std::vector<std::vector<uint32_t>> waiting;
  size_t pending_count = 0;
  // apply_update: a small update's ops, decoded once and kept for the integrating pass (a peer's
  // keystrokes arrive one update each; decoding them twice was a third of their cost).
  std::vector<RemoteOp> small_update_ops;
  // Merge speed: made by the first apply_update
  std::unique_ptr<ApplyScratch, ApplyScratchDeleter> apply_scratch;

  // --- undo (crdt/undo.cpp): while an UndoManager lives, local map writes note what they
  // overwrote (the op log has the rest: inserted and deleted ids, counter steps). Cleared when
  // a transaction begins, so it holds the last transaction's writes.
  int undo_managers = 0;
  std::vector<MapPrior> map_priors;
};

template <typename Fn>
Status in_txn(DocImpl& d, Fn fn) {
  const bool implicit = d.txn.depth == 0;
  if (implicit) d.begin();
  Status s = fn();
  if (implicit) d.commit_into(d.last_result);
  return s;
}

}  // namespace roomsync
