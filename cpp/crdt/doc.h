// The roomsync document: named roots (Text, Map, Register, Counter) replicated as CRDTs.
//
// Error policy (decided once): the core never throws. Anything that can fail on input
// (positions from the app, bytes from the network) returns a Status; on failure the document
// is exactly as it was before the call. This keeps the WASM build exception-free (smaller,
// faster) and the boundary simple: the JS glue turns a failed Status into a thrown Error.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace roomsync {

using ClientId = uint64_t;  // random, below 2^53 so JS numbers hold it exactly
constexpr ClientId kMaxClientId = (uint64_t{1} << 53) - 1;

enum class RootType : uint8_t { Text = 1, Map = 2, Register = 3, Counter = 4, List = 5 };
using RootHandle = uint32_t;

struct Status {
  // What kind of failure, for callers that react differently (JS picks the Error class).
  enum Code : uint8_t {
    kOk = 0,
    kInvalid = 1,            // malformed or inconsistent input (bytes, JSON, root types)
    kRange = 2,              // a text position or length out of range or inside a pair
    kClientIdCollision = 3,  // an update carries ops of this document's own client id that
                             // it never made: two replicas share one client id
    kOutOfMemory = 4,  // the call would need more memory than may be used: nothing changed
                       // (set by the WebAssembly glue's memory guard, never by the core itself)
  };
  bool ok = true;
  std::string message;  // names what is wrong, e.g. "update truncated in insert content"
  Code code = kOk;
  static Status success() { return {}; }
  static Status error(std::string m, Code c = kInvalid) { return {false, std::move(m), c}; }
  explicit operator bool() const { return ok; }
};

// One Quill-style delta operation on a text root, in UTF-16 code units.
struct TextDeltaOp {
  enum Kind : uint8_t { Retain, Insert, Delete } kind;
  uint32_t length;        // Retain/Delete: count; Insert: text.size()
  std::u16string text;    // Insert only
};

struct TextEvent {
  RootHandle root;
  std::vector<TextDeltaOp> delta;
};

// One Yjs-style delta operation on a list root: counts of elements; Insert carries the values
// (JSON texts, values.size() == length).
struct ListDeltaOp {
  TextDeltaOp::Kind kind;
  uint32_t length;
  std::vector<std::string> values;  // Insert only
};

struct ListEvent {
  RootHandle root;
  std::vector<ListDeltaOp> delta;
};

struct MapEvent {  // also used for registers (key "")
  RootHandle root;
  std::vector<std::string> changed_keys;
};

// What one committed transaction changed; collected only for roots marked observed and only
// when update bytes are requested, so unobserved documents pay nothing.
struct TransactionResult {
  std::vector<TextEvent> text_events;
  std::vector<MapEvent> map_events;
  std::vector<RootHandle> counter_events;
  std::vector<ListEvent> list_events;
  std::vector<uint8_t> update;  // the ops this transaction integrated (if capture_updates)
  bool changed = false;
};

class DocImpl;
struct Sticky;  // crdt/sticky.h
class UndoManager;

class Doc {
 public:
  explicit Doc(ClientId client_id);
  ~Doc();
  Doc(Doc&&) noexcept;
  Doc& operator=(Doc&&) noexcept;
  Doc(const Doc&) = delete;
  Doc& operator=(const Doc&) = delete;

  ClientId client_id() const;

  // Roots are created on first use and named by type and name together: a Text "x" and a
  // Map "x" are two roots, so replicas that pick one name for two types still converge.
  Status root(RootType type, std::string_view name, RootHandle* out);

  // --- transactions -------------------------------------------------------------------
  // Local edits outside begin()/commit() form a transaction of their own.
  void begin();
  TransactionResult commit();
  bool in_transaction() const;
  void set_observed(RootHandle root, bool observed);  // collect events for this root
  void set_capture_updates(bool capture);             // fill TransactionResult::update
  // The result of the last implicit (auto-committed) transaction.
  TransactionResult take_last_result();
  // B4: that result in place, for a caller that takes it after every edit and
  // swaps its update buffer for one of its own (wasm/bindings.cpp: no allocation per keystroke).
  // The next implicit transaction clears it.
  TransactionResult& last_result();

  // --- Text (positions and lengths in UTF-16 code units) --------------------------------
  // An edit happens exactly as asked or not at all (Status::kRange, nothing changed): an
  // insert position must be in [0, length], a deleted range [pos, pos + len) within
  // [0, length]; and neither may fall between the two halves of a surrogate pair (the ends of a
  // range included). Empty edits change nothing but are checked the same way.
  Status text_insert(RootHandle text, uint32_t pos, std::u16string_view s);
  Status text_delete(RootHandle text, uint32_t pos, uint32_t len);
  uint32_t text_length(RootHandle text) const;
  std::u16string text_content(RootHandle text) const;
  // Whether any text of this document ever held a surrogate code unit (amortized O(1): the
  // text arena only grows). While false, no position splits a pair, so a caller that knows a
  // text's length can check positions itself (the JS command queue does).
  bool may_hold_surrogates() const;
  // Clocks this replica may still use (every inserted or deleted element takes one).
  uint64_t clock_headroom() const;

  // --- Sticky positions (crdt/sticky.h; Text, and every other sequence root) ------------
  // An anchor at `index` of sequence root `root`, tied to an element: assoc >= 0 to the element
  // at `index` (the anchor stays before it; index == length: the end of the root), assoc < 0 to
  // the element at index - 1 (stays after it; index 0: the start of the root). kRange when
  // index > length or, in a Text, falls between the halves of a surrogate pair.
  Status sticky_index(RootHandle root, uint32_t index, int assoc, Sticky* out) const;
  // The anchor's current index, after any edits: where the element is now (just after it for
  // assoc < 0); where its tombstone sits once deleted. Unknown (nullopt, not an error) while
  // this replica lacks the element. An anchor naming no sequence root, or with a client id or
  // clock no replica can have, is an error. The first form resolves in the root the anchor
  // names; the second requires that root to be `root` (an anchor of text "a" is an error in "b").
  Status resolve_sticky(const Sticky& s, std::optional<uint32_t>* index) const;
  Status resolve_sticky(RootHandle root, const Sticky& s, std::optional<uint32_t>* index) const;

  // --- Map / Register: values are JSON texts (validated) -------------------------------
  Status map_set(RootHandle map, std::string_view key, std::string_view json);
  Status map_delete(RootHandle map, std::string_view key);
  std::optional<std::string> map_get(RootHandle map, std::string_view key) const;
  bool map_has(RootHandle map, std::string_view key) const;
  std::vector<std::string> map_keys(RootHandle map) const;  // sorted

  Status register_set(RootHandle reg, std::string_view json);
  std::optional<std::string> register_get(RootHandle reg) const;

  // --- List: an ordered sequence of JSON values (validated like map values), on the same
  // sequence CRDT as Text. Indexes count elements. Like Text, an edit happens exactly as asked
  // or not at all (Status::kRange, nothing changed): an insert index in [0, length], a deleted
  // range within [0, length]. An invalid value inserts nothing (kInvalid).
  Status list_insert(RootHandle list, uint32_t index, const std::vector<std::string_view>& values);
  Status list_delete(RootHandle list, uint32_t index, uint32_t count);
  uint32_t list_length(RootHandle list) const;
  std::optional<std::string> list_get(RootHandle list, uint32_t index) const;  // JSON text
  std::vector<std::string> list_values(RootHandle list) const;                 // JSON texts
  std::string list_content(RootHandle list) const;  // the whole list as one JSON array text

  // --- Counter (PN, integer) --------------------------------------------------------------
  // The core keeps the exact sum of every step (128-bit: it never wraps, so replicas agree in
  // any order). counter_value() saturates it to the int64 range; counter_value_f64() is the
  // nearest double (what JS reads: exact while |sum| <= 2^53 - 1).
  Status counter_add(RootHandle counter, int64_t delta);
  int64_t counter_value(RootHandle counter) const;
  double counter_value_f64(RootHandle counter) const;

  // --- Sync -------------------------------------------------------------------------------
  // Everything, loadable into an empty doc, including ops still waiting for their parents.
  std::vector<uint8_t> encode_state() const;
  std::vector<uint8_t> state_vector() const;   // version vector: client -> next clock
  // Exactly the ops a peer with state vector `sv` lacks (plus any ops held back here).
  Status encode_state_since(const uint8_t* sv, size_t len, std::vector<uint8_t>* out) const;
  // Idempotent and commutative. Ops whose causal parents are missing are held and applied
  // when the parents arrive. A malformed update changes nothing and returns an error.
  // Client ids must be unique per replica: an update carrying ops of this document's own
  // client id that it did not make itself (clocks beyond its own, or its clocks with other
  // content) changes nothing and fails with code kClientIdCollision. So a saved state loads
  // only into a document with another client id (persist the state, never the id).
  Status apply_update(const uint8_t* data, size_t len);
  size_t pending_ops() const;  // ops held back waiting for missing parents
  // Whether `id` is this document's own client id or appears in anything it has received
  // (integrated or pending ops, origins). A replica joining under such an id would collide.
  bool knows_client(ClientId id) const;

  // --- memory ----------------------------------------------------------------------------
  // Bytes this document holds on the heap (capacities of its containers; approximate, cheap:
  // O(clients + roots)). The WebAssembly glue bounds what one call may allocate by it.
  size_t memory_bytes() const;
  // Runs in a Text root's tree (0 for other roots): memory per run is measured with it.
  size_t text_runs(RootHandle text) const;

  // Roots in creation order (for inspection/tests).
  struct RootInfo { RootType type; std::string name; RootHandle handle; };
  std::vector<RootInfo> roots() const;

 private:
  void empty_again(size_t roots, bool changed, uint64_t lamport);  // after a refused one-pass load (doc.cpp)
  friend class UndoManager;  // reads the op log and makes the inverse edits (crdt/undo.cpp)
  std::unique_ptr<DocImpl> impl_;
};

// A check the embedding may install (the WebAssembly glue does): apply_update asks it, once the
// update is decoded and before anything changes, with the bytes integrating it may take; false
// makes the call fail with Status::kOutOfMemory, the document unchanged. None by default.
using MemoryCheck = bool (*)(size_t bytes);
void set_memory_check(MemoryCheck check);

// UTF conversions used at the edges (tests, JSON, traces). WTF-8 keeps lone surrogates.
std::u16string utf8_to_utf16(std::string_view s);
std::string utf16_to_utf8(std::u16string_view s);

}  // namespace roomsync
