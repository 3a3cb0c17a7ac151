// WebAssembly bindings for roomsync::Doc. Marshalling only: no CRDT logic lives here.
//
// Two kinds of entry points:
//  * Hot paths (text edits, reads, update bytes, transactions) are plain C exports taking the
//    DocHandle pointer and integers only. JS calls them straight on the wasm instance, with no
//    embind conversion in between. Text crosses as UTF-16 code units: JS writes charCodeAt()
//    values into a scratch buffer in wasm memory (rs_scratch) and passes (pointer, length).
//    Results (strings, bytes, events) stay in buffers the handle owns; JS reads them through
//    typed-array views and copies them out before the next call.
//    Maps, registers and counters take the same road (keys and JSON values as UTF-16).
//  * The rest (creating handles and roots, key lists, errors) goes through the embind class
//    DocHandle: those calls are rare.
//
// Status: every fallible call returns 0 on success and 1 on failure; the core's message is then
// available from DocHandle::error() and JS throws it as an Error. The core never throws, so the
// module is built without exception support.
#include <emscripten/bind.h>
#include <emscripten/emscripten.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crdt/doc.h"
#include "crdt/sticky.h"
#include "crdt/undo.h"
#include "memory_guard.h"

using roomsync::Doc;
using roomsync::RootHandle;
using roomsync::RootType;
using roomsync::Status;
using roomsync::TransactionResult;

namespace {

// Event stream layout (uint32 words), decoded by js/index.js (Doc._decodeEvents):
//   text event:    kEvText,    root, nOps, then nOps × (kind, length)
//                  (inserted text of every Insert op follows in event_text, in order)
//   map event:     kEvMap,     root, nKeys, then nKeys × length (keys as UTF-16 in event_text)
//   counter event: kEvCounter, root
//   list event:    kEvList,    root, nOps, then nOps × (kind, length), an Insert followed by
//                  the length of its values as one JSON array text in event_text
enum : uint32_t { kEvText = 1, kEvMap = 2, kEvCounter = 3, kEvList = 4 };

// Result flags of a transaction, returned by rs_commit and rs_take_last_result.
enum : int { kChanged = 1, kHasUpdate = 2, kHasEvents = 4 };

std::string utf8(const char16_t* s, uint32_t len) {
  return roomsync::utf16_to_utf8(std::u16string_view(s, len));
}

class DocHandle {
 public:
  // B4: the last transaction's update bytes as (address, length), first in the
  // handle so that JS reads them from wasm memory at the handle's own address (js/index.js,
  // Doc._dispatch) instead of making two calls per keystroke. Set by keep().
  uint32_t update_at[2] = {0, 0};
  explicit DocHandle(double client_id) : doc(static_cast<roomsync::ClientId>(client_id)) {
    roomsync::set_memory_check(&rs_memory::available);  // idempotent: one check for every doc
  }

  Doc doc;
  std::string error_message;
  int error_code = 0;  // Status::Code of the last failure
  std::u16string text_out;        // last string result (text content)
  std::vector<uint8_t> bytes_out;  // last byte result (state, state vector, diff)
  std::vector<uint32_t> events;    // last transaction's events (layout above)
  std::u16string event_text;       // inserted text and keys referenced by `events`
  std::vector<uint8_t> update;     // last transaction's update bytes
  roomsync::Sticky sticky;         // last anchor made by rs_sticky_index
  // Undo managers of this document (js/undo.js), by slot; declared after `doc`, so they go
  // first when the handle is deleted. A freed slot stays null.
  std::vector<std::unique_ptr<roomsync::UndoManager>> undo_managers;

  int fail(Status& s) {
    if (s.code == Status::kOutOfMemory) return out_of_memory(rs_memory::last_need());
    error_message = std::move(s.message);
    error_code = s.code;
    return 1;
  }
  int check(Status s) { return s.ok ? 0 : fail(s); }
  // B4: a text edit that JS asks to `take` (someone listens, no transact() open)
  // returns its transaction's result flags too, shifted past the failure bit: one call per
  // keystroke instead of an edit and rs_take_last_result. (One copy: size.)
  [[gnu::noinline]] int edited(Status s, bool take) { return !s.ok ? fail(s) : take ? keep(doc.last_result()) << 1 : 0; }
  // Memory: a call refused by the memory guard (wasm/memory_guard.h)
  // The message is the bytes needed: JS words it (js/index.js, oomError).
  int out_of_memory(size_t need) {
    error_message = std::to_string(need);
    error_code = Status::kOutOfMemory;
    return 1;
  }
  // 0 when a call with `input_bytes` of input (expanding at most `factor` times) may run here.
  size_t refused(size_t input_bytes, size_t factor) const { return rs_memory::refused(&doc, input_bytes, factor); }

  // Keeps what JS needs from a transaction result and returns its flags. B4 (issue 8): the
  // update buffers are swapped, not moved, so a document's last_result() keeps one to encode
  // the next keystroke into (no allocation per keystroke); the events are taken.
  int keep(TransactionResult& r) {
    events.clear();
    event_text.clear();
    // B4 (issue 8): a keystroke no observer sees has no events; their tables are skipped.
    if (!r.text_events.empty() || !r.map_events.empty() || !r.counter_events.empty() || !r.list_events.empty())
      take_events(r);
    update.swap(r.update);
    update_at[0] = reinterpret_cast<uintptr_t>(update.data());
    update_at[1] = static_cast<uint32_t>(update.size());
    r.update.clear();
    return (r.changed ? kChanged : 0) | (update.empty() ? 0 : kHasUpdate) |
           (events.empty() ? 0 : kHasEvents);
  }
  // The events of `r` into `events` and `event_text` (layout above); clears them in `r`.
  void take_events(TransactionResult& r) {
    for (const auto& e : r.text_events) {
      events.push_back(kEvText);
      events.push_back(e.root);
      events.push_back(static_cast<uint32_t>(e.delta.size()));
      for (const auto& op : e.delta) {
        events.push_back(op.kind);
        events.push_back(op.length);
        if (op.kind == roomsync::TextDeltaOp::Insert) event_text += op.text;
      }
    }
    for (const auto& e : r.map_events) {
      events.push_back(kEvMap);
      events.push_back(e.root);
      events.push_back(static_cast<uint32_t>(e.changed_keys.size()));
      for (const auto& k : e.changed_keys) {
        std::u16string k16 = roomsync::utf8_to_utf16(k);
        events.push_back(static_cast<uint32_t>(k16.size()));
        event_text += k16;
      }
    }
    for (RootHandle root : r.counter_events) {
      events.push_back(kEvCounter);
      events.push_back(root);
    }
    for (const auto& e : r.list_events) {
      events.push_back(kEvList);
      events.push_back(e.root);
      events.push_back(static_cast<uint32_t>(e.delta.size()));
      for (const auto& op : e.delta) {
        events.push_back(op.kind);
        events.push_back(op.length);
        if (op.kind != roomsync::TextDeltaOp::Insert) continue;
        std::string json = "[";
        for (const auto& v : op.values) (json += v) += ',';
        json.back() = ']';
        std::u16string j16 = roomsync::utf8_to_utf16(json);
        events.push_back(static_cast<uint32_t>(j16.size()));
        event_text += j16;
      }
    }
    r.text_events.clear();
    r.map_events.clear();
    r.counter_events.clear();
    r.list_events.clear();
  }

  // Puts a JSON text (UTF-8 in the core) into text_out as UTF-16; returns its length, or -1.
  int give(const std::optional<std::string>& json) {
    if (!json) return -1;
    text_out = roomsync::utf8_to_utf16(*json);
    return static_cast<int>(text_out.size());
  }

  // --- embind methods (not on hot paths) ---------------------------------------------------
  uintptr_t ptr() { return reinterpret_cast<uintptr_t>(this); }
  double clientId() const { return static_cast<double>(doc.client_id()); }
  std::string error() const { return error_message; }
  int errorCode() const { return error_code; }
  bool knowsClient(double id) const { return doc.knows_client(static_cast<roomsync::ClientId>(id)); }

  // Returns the root handle, or -1 with error() set.
  int root(int type, const std::string& name) {
    RootHandle h = 0;
    Status s = doc.root(static_cast<RootType>(type), name, &h);
    if (!s) {
      fail(s);
      return -1;
    }
    return static_cast<int>(h);
  }

  // Bit (1 << type) is set for every root type that has a root called `name` (local or remote).
  int rootTypes(const std::string& name) const {
    int mask = 0;
    for (const auto& r : doc.roots()) {
      if (r.name == name) mask |= 1 << static_cast<int>(r.type);
    }
    return mask;
  }

  // The keys as one JSON array text (JS parses it): no emscripten::val, so the glue carries
  // no emval method calls (-936 B gzip).
  std::string mapKeys(RootHandle m) const {
    std::string out = "[";
    for (const auto& k : doc.map_keys(m)) {
      if (out.size() > 1) out += ',';
      append_json_string(out, k);
    }
    out += ']';
    return out;
  }
  // The whole map as one JSON object text (values are JSON texts already), so JS parses once.
  std::string mapJson(RootHandle m) const {
    std::string out = "{";
    for (const auto& k : doc.map_keys(m)) {
      auto v = doc.map_get(m, k);
      if (!v) continue;
      if (out.size() > 1) out += ',';
      append_json_string(out, k);
      out += ':';
      out += *v;
    }
    out += '}';
    return out;
  }

  double pendingOps() const { return static_cast<double>(doc.pending_ops()); }

 private:
  static void append_json_string(std::string& out, const std::string& s) {
    static const char hex[] = "0123456789abcdef";
    out += '"';
    for (unsigned char c : s) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (c < 0x20) {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
          } else {
            out += static_cast<char>(c);
          }
      }
    }
    out += '"';
  }
};

// B4 (issue 8): JS reads DocHandle::update_at at the handle's address.
static_assert(offsetof(DocHandle, update_at) == 0);

// One scratch buffer for inputs (text, update bytes), shared by all handles: JS is single
// threaded and every call consumes its input before returning.
uint8_t* g_scratch = nullptr;
// Upper bound of what decoding an update takes per byte of it (issue 8): every op takes 2 bytes
// at least and decodes to 88. What integrating it takes is checked once it is decoded
// (roomsync::set_memory_check, installed below).
constexpr size_t kUpdateExpansion = 48;
size_t g_scratch_cap = 0;

}  // namespace

extern "C" {

// Makes the scratch buffer hold at least `bytes` and returns it (8-byte aligned).
EMSCRIPTEN_KEEPALIVE uint8_t* rs_scratch(size_t bytes) {
  if (bytes > g_scratch_cap) {
    if (rs_memory::refused(nullptr, bytes, 1)) return nullptr;  // the old buffer stays
    std::free(g_scratch);
    g_scratch = static_cast<uint8_t*>(std::malloc(bytes));
    g_scratch_cap = g_scratch ? bytes : 0;
  }
  return g_scratch;
}

// --- text --------------------------------------------------------------------------------
// `take` (B4, issue 8): see DocHandle::edited; only for an edit that makes a transaction.
EMSCRIPTEN_KEEPALIVE int rs_text_insert(DocHandle* h, RootHandle root, uint32_t pos,
                                        const char16_t* s, uint32_t len, int take) {
  if (size_t need = h->refused(size_t{len} * 2, 8)) return h->out_of_memory(need);
  return h->edited(h->doc.text_insert(root, pos, std::u16string_view(s, len)), take);
}
EMSCRIPTEN_KEEPALIVE int rs_text_delete(DocHandle* h, RootHandle root, uint32_t pos, uint32_t len, int take) {
  if (size_t need = h->refused(0, 0)) return h->out_of_memory(need);
  return h->edited(h->doc.text_delete(root, pos, len), take);
}
// --- the command queue (js/index.js, queueEdit): text edits of a document nobody listens to
// are written by JS into one buffer in wasm memory and run here in one call, when anything else
// touches that document. JS has checked every position against the length and surrogate-free
// state rs_text_plain_length gave it, and the memory headroom with rs_queue_open, so the core
// takes each command as a direct call would. Layout (uint32 words): root * 2 + (1: delete),
// pos, len, then for an insert its len UTF-16 code units, two per word.
EMSCRIPTEN_KEEPALIVE void* rs_queue_buffer(size_t bytes) {
  static void* buffer = rs_memory::refused(nullptr, bytes, 1) ? nullptr : std::malloc(bytes);
  return buffer;
}
// How many clocks (elements inserted or deleted) a batch of `words` of commands may take on
// this document, or 0 when the memory guard would not let a batch that large run (then JS
// edits directly, and each call is checked on its own).
EMSCRIPTEN_KEEPALIVE double rs_queue_open(DocHandle* h, uint32_t words) {
  return h->refused(size_t{words} * 4, 8) ? 0 : static_cast<double>(h->doc.clock_headroom());
}
// The text's length, or -1 when positions need the core's surrogate checks.
EMSCRIPTEN_KEEPALIVE int32_t rs_text_plain_length(DocHandle* h, RootHandle root) {
  return h->doc.may_hold_surrogates() ? -1 : static_cast<int32_t>(h->doc.text_length(root));
}
EMSCRIPTEN_KEEPALIVE int rs_run_queue(DocHandle* h, const uint32_t* q, uint32_t words) {
  Doc& doc = h->doc;
  doc.begin();  // one transaction: nobody listens, so only the cost of one is visible
  Status st;
  for (uint32_t i = 0; i < words && st.ok;) {
    const RootHandle root = q[i] >> 1;
    const uint32_t pos = q[i + 1], len = q[i + 2];
    if (q[i] & 1) {
      st = doc.text_delete(root, pos, len);
      i += 3;
    } else {
      st = doc.text_insert(root, pos, std::u16string_view(reinterpret_cast<const char16_t*>(q + i + 3), len));
      i += 3 + (len + 1) / 2;
    }
  }
  doc.commit();
  return h->check(std::move(st));
}

EMSCRIPTEN_KEEPALIVE uint32_t rs_text_length(DocHandle* h, RootHandle root) {
  return h->doc.text_length(root);
}
// Content goes to the handle's text buffer: returns its length; rs_text_out gives the pointer.
EMSCRIPTEN_KEEPALIVE uint32_t rs_text_content(DocHandle* h, RootHandle root) {
  h->text_out = h->doc.text_content(root);
  return static_cast<uint32_t>(h->text_out.size());
}
EMSCRIPTEN_KEEPALIVE const char16_t* rs_text_out(DocHandle* h) { return h->text_out.data(); }

// --- maps, registers, counters -------------------------------------------------------------
// Keys and JSON values cross as UTF-16 (like text) and become UTF-8 here. Results that may be
// absent return -1, else the length of the UTF-16 JSON text left at rs_text_out.
EMSCRIPTEN_KEEPALIVE int rs_map_set(DocHandle* h, RootHandle map, const char16_t* key,
                                    uint32_t key_len, const char16_t* json, uint32_t json_len) {
  if (size_t need = h->refused((size_t{key_len} + json_len) * 2, 8)) return h->out_of_memory(need);
  return h->check(h->doc.map_set(map, utf8(key, key_len), utf8(json, json_len)));
}
EMSCRIPTEN_KEEPALIVE int rs_map_delete(DocHandle* h, RootHandle map, const char16_t* key,
                                       uint32_t key_len) {
  if (size_t need = h->refused(size_t{key_len} * 2, 8)) return h->out_of_memory(need);
  return h->check(h->doc.map_delete(map, utf8(key, key_len)));
}
EMSCRIPTEN_KEEPALIVE int rs_map_get(DocHandle* h, RootHandle map, const char16_t* key,
                                    uint32_t key_len) {
  return h->give(h->doc.map_get(map, utf8(key, key_len)));
}
EMSCRIPTEN_KEEPALIVE int rs_map_has(DocHandle* h, RootHandle map, const char16_t* key,
                                    uint32_t key_len) {
  return h->doc.map_has(map, utf8(key, key_len)) ? 1 : 0;
}
EMSCRIPTEN_KEEPALIVE int rs_register_set(DocHandle* h, RootHandle reg, const char16_t* json,
                                         uint32_t json_len) {
  if (size_t need = h->refused(size_t{json_len} * 2, 8)) return h->out_of_memory(need);
  return h->check(h->doc.register_set(reg, utf8(json, json_len)));
}
EMSCRIPTEN_KEEPALIVE int rs_register_get(DocHandle* h, RootHandle reg) {
  return h->give(h->doc.register_get(reg));
}
// Counter steps and values cross as doubles (JS numbers); JS checks steps are safe integers.
// The value is the nearest double of the exact sum (exact while |sum| <= 2^53 - 1).
EMSCRIPTEN_KEEPALIVE int rs_counter_add(DocHandle* h, RootHandle counter, double delta) {
  if (size_t need = h->refused(0, 0)) return h->out_of_memory(need);
  return h->check(h->doc.counter_add(counter, static_cast<int64_t>(delta)));
}
EMSCRIPTEN_KEEPALIVE double rs_counter_value(DocHandle* h, RootHandle counter) {
  return h->doc.counter_value_f64(counter);
}

// --- lists ---------------------------------------------------------------------------------
// Inserted values cross as `n` JSON texts (UTF-16) joined by '\n', which JSON.stringify never
// writes raw; each is validated by the core. Reads return the length of the UTF-16 JSON text
// left at rs_text_out (rs_list_get: -1 past the end).
EMSCRIPTEN_KEEPALIVE int rs_list_insert(DocHandle* h, RootHandle list, uint32_t pos,
                                        const char16_t* s, uint32_t len, uint32_t n) {
  const std::string all = utf8(s, len);
  std::vector<std::string_view> values;
  for (size_t start = 0; values.size() < n && start <= all.size();) {
    const size_t end = values.size() + 1 == n ? all.size() : std::min(all.find('\n', start), all.size());
    values.emplace_back(all.data() + start, end - start);
    start = end + 1;
  }
  while (values.size() < n) values.emplace_back();  // fewer texts than announced: "" is invalid
  return h->check(h->doc.list_insert(list, pos, values));
}
EMSCRIPTEN_KEEPALIVE int rs_list_delete(DocHandle* h, RootHandle list, uint32_t pos, uint32_t n) {
  return h->check(h->doc.list_delete(list, pos, n));
}
EMSCRIPTEN_KEEPALIVE uint32_t rs_list_length(DocHandle* h, RootHandle list) {
  return h->doc.list_length(list);
}
EMSCRIPTEN_KEEPALIVE int rs_list_get(DocHandle* h, RootHandle list, uint32_t index) {
  return h->give(h->doc.list_get(list, index));
}
EMSCRIPTEN_KEEPALIVE int rs_list_content(DocHandle* h, RootHandle list) {
  return h->give(h->doc.list_content(list));
}

// --- sticky positions --------------------------------------------------------------------
// rs_sticky_index: -1 on failure; 0 for an anchor at the start or end of the root; 1 for an
// anchor to an element, whose id rs_sticky_client/rs_sticky_clock then give. JS knows the rest
// (root type and name, assoc).
EMSCRIPTEN_KEEPALIVE int rs_sticky_index(DocHandle* h, RootHandle root, uint32_t index, int assoc) {
  if (h->check(h->doc.sticky_index(root, index, assoc, &h->sticky))) return -1;
  return h->sticky.has_element ? 1 : 0;
}
EMSCRIPTEN_KEEPALIVE double rs_sticky_client(DocHandle* h) {
  return static_cast<double>(h->sticky.client);
}
EMSCRIPTEN_KEEPALIVE uint32_t rs_sticky_clock(DocHandle* h) { return h->sticky.clock; }
// Resolves the anchor (root type and name as UTF-16 at name/name_len) in `root`: the index,
// -1 while unknown, -2 on failure. The client id crosses as a double (a safe integer).
EMSCRIPTEN_KEEPALIVE double rs_resolve_sticky(DocHandle* h, RootHandle root, int type,
                                              const char16_t* name, uint32_t name_len,
                                              int has_element, double client, uint32_t clock,
                                              int assoc) {
  roomsync::Sticky s;
  s.type = static_cast<RootType>(type);
  s.name = utf8(name, name_len);
  s.has_element = has_element != 0;
  s.client = static_cast<roomsync::ClientId>(client);
  s.clock = clock;
  s.assoc = assoc;
  std::optional<uint32_t> index;
  if (h->check(h->doc.resolve_sticky(root, s, &index))) return -2;
  return index ? static_cast<double>(*index) : -1.0;
}

// --- bytes -------------------------------------------------------------------------------
// Results go to the handle's byte buffer: these return its length; rs_bytes_out the pointer.
EMSCRIPTEN_KEEPALIVE uint32_t rs_encode_state(DocHandle* h) {
  h->bytes_out = h->doc.encode_state();
  return static_cast<uint32_t>(h->bytes_out.size());
}
EMSCRIPTEN_KEEPALIVE uint32_t rs_state_vector(DocHandle* h) {
  h->bytes_out = h->doc.state_vector();
  return static_cast<uint32_t>(h->bytes_out.size());
}
// Returns 0 and fills the byte buffer, or 1 with error() set.
EMSCRIPTEN_KEEPALIVE int rs_encode_state_since(DocHandle* h, const uint8_t* sv, uint32_t len) {
  h->bytes_out.clear();
  if (size_t need = h->refused(len, 8)) return h->out_of_memory(need);
  return h->check(h->doc.encode_state_since(sv, len, &h->bytes_out));
}
EMSCRIPTEN_KEEPALIVE const uint8_t* rs_bytes_out(DocHandle* h) { return h->bytes_out.data(); }
EMSCRIPTEN_KEEPALIVE uint32_t rs_bytes_out_len(DocHandle* h) {
  return static_cast<uint32_t>(h->bytes_out.size());
}
EMSCRIPTEN_KEEPALIVE int rs_apply_update(DocHandle* h, const uint8_t* data, uint32_t len) {
  if (size_t need = h->refused(len, kUpdateExpansion)) return h->out_of_memory(need);
  return h->check(h->doc.apply_update(data, len));
}
// Ops held back for missing parents: for the room core's document port only (not exported).
uint32_t rs_pending_ops(DocHandle* h) { return static_cast<uint32_t>(h->doc.pending_ops()); }
// The last failure's Status::Code and message, for C callers (the room core's document port).
EMSCRIPTEN_KEEPALIVE int rs_error_code(DocHandle* h) { return h->error_code; }
EMSCRIPTEN_KEEPALIVE const char* rs_error_message(DocHandle* h) { return h->error_message.c_str(); }

// --- memory -------------------------------------------------------------------------------
// For calls that return a result instead of a status (encodeState, toString, new documents):
// JS asks first. 0 when a call on `h` (may be null) with `input_bytes` of input expanding at
// most `factor` times may run; else the bytes it may need (memoryRefusal() names the cause).
EMSCRIPTEN_KEEPALIVE double rs_memory_refused(DocHandle* h, uint32_t input_bytes, uint32_t factor) {
  return static_cast<double>(rs_memory::refused(h ? &h->doc : nullptr, input_bytes, factor));
}
// Runs in a text root and the document's bytes (memory per run in the benchmark).
EMSCRIPTEN_KEEPALIVE double rs_text_runs(DocHandle* h, RootHandle root) {
  return static_cast<double>(h->doc.text_runs(root));
}
// Frees the handle's result buffers once JS has copied a large result out: otherwise every
// document keeps its last text, state or update (a 20,000-character text: 40 KB a document).
EMSCRIPTEN_KEEPALIVE void rs_release_out(DocHandle* h) {
  std::u16string().swap(h->text_out);
  std::vector<uint8_t>().swap(h->bytes_out);
  std::vector<uint8_t>().swap(h->update);
  h->update_at[0] = h->update_at[1] = 0;  // B4 (issue 8)
  std::vector<uint32_t>().swap(h->events);
  std::u16string().swap(h->event_text);
}
EMSCRIPTEN_KEEPALIVE double rs_doc_memory_bytes(DocHandle* h) {
  return static_cast<double>(h->doc.memory_bytes());
}
// The limit (<= 0: the default); returns the limit in force.
EMSCRIPTEN_KEEPALIVE double rs_memory_set_limit(double bytes) {
  return static_cast<double>(rs_memory::set_limit(bytes));
}
// what: 0 the limit in force, 1 the hard ceiling, 2 the bytes allocated (walks the heap).
EMSCRIPTEN_KEEPALIVE double rs_memory_info(int what) {
  return static_cast<double>(what == 0 ? rs_memory::limit() : what == 1 ? rs_memory::heap_max() : rs_memory::in_use());
}

// --- transactions and events -------------------------------------------------------------
EMSCRIPTEN_KEEPALIVE void rs_begin(DocHandle* h) { h->doc.begin(); }
EMSCRIPTEN_KEEPALIVE int rs_commit(DocHandle* h) {
  TransactionResult r = h->doc.commit();
  return h->keep(r);
}
EMSCRIPTEN_KEEPALIVE int rs_take_last_result(DocHandle* h) { return h->keep(h->doc.last_result()); }
EMSCRIPTEN_KEEPALIVE void rs_set_observed(DocHandle* h, RootHandle root, int observed) {
  h->doc.set_observed(root, observed != 0);
}
EMSCRIPTEN_KEEPALIVE void rs_set_capture_updates(DocHandle* h, int capture) {
  h->doc.set_capture_updates(capture != 0);
}
EMSCRIPTEN_KEEPALIVE const uint32_t* rs_events(DocHandle* h) { return h->events.data(); }
EMSCRIPTEN_KEEPALIVE uint32_t rs_events_len(DocHandle* h) {
  return static_cast<uint32_t>(h->events.size());
}
EMSCRIPTEN_KEEPALIVE const char16_t* rs_event_text(DocHandle* h) { return h->event_text.data(); }

// --- undo managers (js/undo.js) ----------------------------------------------------------
// One entry point for the rare undo calls (one export is smaller than six embind methods).
// kUndoNew: a = pointer to b root handles (b < 0: the whole document); returns the slot.
// Else `slot` picks the manager (a freed or unknown slot does nothing and returns 0):
// kUndoCapture (a = merge): UndoManager::capture's bits; kUndoApply (a = redo): 1 if the
// document changed, 0 if not, -1 on failure (error() says why); kUndoSize (a = redo);
// kUndoClear (a = undo stack, b = redo stack); kUndoFree.
enum : int { kUndoNew = 0, kUndoCapture = 1, kUndoApply = 2, kUndoSize = 3, kUndoClear = 4, kUndoFree = 5 };
EMSCRIPTEN_KEEPALIVE int rs_undo(DocHandle* h, int op, int slot, uintptr_t a, int b) {
  auto& ums = h->undo_managers;
  if (op == kUndoNew) {
    std::vector<RootHandle> scope;
    if (b >= 0) scope.assign(reinterpret_cast<const RootHandle*>(a), reinterpret_cast<const RootHandle*>(a) + b);
    ums.push_back(std::make_unique<roomsync::UndoManager>(h->doc, std::move(scope)));
    return static_cast<int>(ums.size() - 1);
  }
  roomsync::UndoManager* um = slot >= 0 && static_cast<size_t>(slot) < ums.size() ? ums[slot].get() : nullptr;
  if (!um) return 0;
  bool changed = false;
  switch (op) {
    case kUndoCapture: return um->capture(a != 0);
    case kUndoApply:
      if (Status s = a ? um->redo(&changed) : um->undo(&changed); !s) return h->fail(s), -1;
      return changed ? 1 : 0;
    case kUndoSize: return static_cast<int>(a ? um->redo_size() : um->undo_size());
    case kUndoClear: um->clear(a != 0, b != 0); return 0;
    case kUndoFree: ums[slot].reset(); return 0;
  }
  return 0;
}

}  // extern "C"

EMSCRIPTEN_BINDINGS(roomsync) {
  emscripten::class_<DocHandle>("DocHandle")
      .constructor<double>()
      .function("ptr", &DocHandle::ptr)
      .function("clientId", &DocHandle::clientId)
      .function("error", &DocHandle::error)
      .function("errorCode", &DocHandle::errorCode)
      .function("knowsClient", &DocHandle::knowsClient)
      .function("root", &DocHandle::root)
      .function("rootTypes", &DocHandle::rootTypes)
      .function("mapKeys", &DocHandle::mapKeys)
      .function("mapJson", &DocHandle::mapJson)
      .function("pendingOps", &DocHandle::pendingOps);
}
