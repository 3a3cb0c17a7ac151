#include "codec/update_codec.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "codec/json_text.h"
#include "codec/utf.h"
#include "codec/varint.h"

namespace roomsync {
namespace {

enum Tag : uint8_t {
  kNop = 0, kInsert = 1, kInsertGone = 2, kDeleteFwd = 3, kDeleteBwd = 4,
  kMapSet = 5, kMapDelete = 6, kCounter = 7
};
constexpr uint32_t kRootEscape = 15;
// Tag bit 7: on an insert, it continues the previous insert of its section (same root and
// right origin, left origin = the clock before): no root or origins follow. On a delete, its
// length is 1 and is not written.
constexpr uint8_t kContinues = 0x80;

// Half-open clock ranges per client, sorted and merged: what an update's deletes remove.
using RangeSet = std::vector<std::pair<uint32_t, uint32_t>>;

void normalize_ranges(RangeSet& r) {
  std::sort(r.begin(), r.end());
  size_t n = 0;
  for (const auto& x : r) {
    if (n > 0 && x.first <= r[n - 1].second) r[n - 1].second = std::max(r[n - 1].second, x.second);
    else r[n++] = x;
  }
  r.resize(n);
}

class Encoder {
 public:
  explicit Encoder(const DocImpl& d)
      : d_(d),
        s_(d.scratch),
        client_slot_(s_.client_slot),
        client_table_(s_.client_table),
        root_slot_(s_.root_slot),
        root_table_(s_.root_table),
        text_(s_.text),
        body_(std::move(s_.body)),
        section_ops_(std::move(s_.section)) {
    client_slot_.assign(d.clients.size(), -1);
    root_slot_.assign(d.roots.size(), -1);
    client_table_.clear();
    root_table_.clear();
    s_.gone.resize(d.clients.size());
  }
  ~Encoder() {
    for (uint32_t c : s_.gone_used) s_.gone[c].clear();
    s_.gone_used.clear();
    s_.body = std::move(body_.buffer());
    s_.section = std::move(section_ops_.buffer());
  }

  std::vector<uint8_t> encode(const std::vector<uint32_t>& from, bool with_pending) {
    collect_deletes(from);
    // Causal order: every op after the ops it refers to (below)
    uint32_t sections = write_causal(from);
    // Ops still waiting for their parents travel too, so a saved state loses nothing.
    for (uint32_t c = 0; with_pending && c < d_.clients.size(); ++c) {
      // Sections of one client must not overlap: skip what the log or an earlier op covers.
      uint32_t floor = std::max(c < from.size() ? from[c] : 0, d_.clients[c].next_clock);
      uint32_t first = 0, next = 0;
      bool open = false;
      for (const auto& [clock, pending_op] : d_.pending[c]) {
        if (pending_op.clock + pending_op.len <= floor) continue;
        RemoteOp op = pending_op;
        trim_front(op, floor > op.clock ? floor - op.clock : 0);
        floor = op.clock + op.len;
        if (open && op.clock != next) {
          end_section(c, first);
          ++sections;
          open = false;
        }
        if (!open) {
          begin_section();
          first = op.clock;
          open = true;
        }
        write_pending(c, op);
        next = op.clock + op.len;
      }
      if (open) {
        end_section(c, first);
        ++sections;
      }
    }
    ByteWriter out;
    out.buffer().reserve(body_.buffer().size() + 16 + 10 * client_table_.size() + 16 * root_table_.size());
    out.byte(kUpdateMagic);
    out.byte(kUpdateVersion);
    out.varint(client_table_.size());
    for (ClientId id : client_table_) out.varint(id);
    out.varint(root_table_.size());
    for (RootHandle h : root_table_) {
      out.byte(static_cast<uint8_t>(d_.roots[h].type));
      out.string(d_.roots[h].name);
    }
    out.varint(sections);
    auto& b = body_.buffer();
    out.bytes(b.data(), b.size());
    return out.take();
  }

 private:
  // Causal order: the logs of several writers are written so that every op comes
  // after the ops it refers to (origins, delete targets). A document loading the update then
  // integrates op by op; in one section per client, most ops of a concurrent session referred to
  // later sections and waited as pending. A client's log is cut into sections only where it
  // must wait for another's, so sections stay as long as causality allows.
  // Per client (s_.cursor): the index in its log of the next op to write, and the next clock.
  bool done(uint32_t c) const { return s_.cursor[c].first == d_.clients[c].ops.size(); }

  // The first clock of client `c` not written yet (UINT32_MAX once all are).
  uint32_t written_to(uint32_t c) const { return done(c) ? UINT32_MAX : s_.cursor[c].second; }

  // The client whose unwritten clocks the next op of `x` refers to, or kNoClient.
  uint32_t waits_for(uint32_t c) const {
    const Op& op = d_.clients[c].ops[s_.cursor[c].first];
    const uint32_t k = s_.cursor[c].second;
    auto unwritten = [&](Id id) { return !is_none(id) && id.clock >= written_to(id.client); };
    if (op.kind == OpKind::Insert) {
      if (k == op.clock && unwritten(op.left)) return op.left.client;  // else: our own clock before
      if (unwritten(op.right)) return op.right.client;
    } else if (op.kind == OpKind::Delete) {  // its last target (a trimmed backward delete ends earlier)
      const uint32_t skip = op.backward ? k - op.clock : 0;
      if (unwritten(Id{op.left.client, op.left.clock + op.len - 1 - skip})) return op.left.client;
    }
    return kNoClient;
  }

  // A client writes until its next op waits for another; then the one it waits for writes,
  // or the one that one waits for, and so on: such a chain reaches a client that can write
  // within n steps, as an op's references were integrated before it (no cycle). Should a log
  // ever hold one, the op is written anyway (and waits as pending when loaded). One writer
  // gives one section, as before. Returns the section count.
  uint32_t write_causal(const std::vector<uint32_t>& from) {
    const uint32_t n = static_cast<uint32_t>(d_.clients.size());
    s_.cursor.resize(n);
    for (uint32_t c = 0; c < n; ++c) {
      const uint32_t start = c < from.size() ? from[c] : 0;
      const auto& log = d_.clients[c].ops;
      s_.cursor[c] = {static_cast<uint32_t>(log.size()), 0};
      if (d_.clients[c].next_clock > start) {
        auto it = first_op(log, start);
        s_.cursor[c] = {static_cast<uint32_t>(it - log.begin()), std::max(start, it->clock)};
      }
    }
    uint32_t sections = 0, open = kNoClient, first = 0, steps = 0;
    for (uint32_t c = 0, undone = 0;;) {
      if (done(c)) {  // on with the first client that is not
        while (undone < n && done(undone)) ++undone;
        if (undone == n) break;
        c = undone;
      }
      const uint32_t w = waits_for(c);
      if (w != kNoClient && ++steps <= n) {
        c = w;
        continue;
      }
      auto& [i, k] = s_.cursor[c];
      if (open != c) {
        if (open != kNoClient) end_section(open, first), ++sections;
        begin_section();
        open = c;
        first = k;
      }
      const auto& log = d_.clients[c].ops;
      write_op(c, log[i], k);
      if (++i < log.size()) k = log[i].clock;
      steps = 0;
    }
    if (open != kNoClient) end_section(open, first), ++sections;
    return sections;
  }

  // First op of `log` that has clocks at or after `start`.
  static std::vector<Op>::const_iterator first_op(const std::vector<Op>& log, uint32_t start) {
    // A transaction's update wants the last op or two: look there before searching.
    for (size_t back = 1; back <= 2 && back <= log.size(); ++back) {
      const Op& op = log[log.size() - back];
      if (op.clock <= start) return op.clock + op.len > start ? log.end() - back : log.end() - back + 1;
    }
    auto it = std::upper_bound(log.begin(), log.end(), start,
                               [](uint32_t k, const Op& op) { return k < op.clock; });
    if (it != log.begin() && (it - 1)->clock + (it - 1)->len > start) --it;
    return it;
  }

  void collect_deletes(const std::vector<uint32_t>& from) {
    for (uint32_t c = 0; c < d_.clients.size(); ++c) {
      uint32_t start = c < from.size() ? from[c] : 0;
      const auto& log = d_.clients[c].ops;
      for (auto it = first_op(log, start); it != log.end(); ++it) {
        const Op& op = *it;
        if (op.kind != OpKind::Delete) continue;
        uint32_t skip = op.clock < start ? start - op.clock : 0;
        uint32_t t = op.backward ? op.left.clock : op.left.clock + skip;
        auto& ranges = s_.gone[op.left.client];
        if (ranges.empty()) s_.gone_used.push_back(op.left.client);
        ranges.push_back({t, t + op.len - skip});
      }
    }
    for (uint32_t c : s_.gone_used) normalize_ranges(s_.gone[c]);
  }

  void begin_section() {
    section_ops_.buffer().clear();
    ops_ = &section_ops_;
    count_ = 0;
    last_was_insert_ = false;
  }

  void end_section(uint32_t c, uint32_t first) {
    flush_held();  // coalescing (issue 8)
    body_.varint(client(c));
    body_.varint(first);
    body_.varint(count_);
    auto& b = section_ops_.buffer();
    body_.bytes(b.data(), b.size());
  }

  void write_pending(uint32_t c, const RemoteOp& op) {
    switch (op.kind) {
      case OpKind::Insert:
        tag(op.has_content ? kInsert : kInsertGone, op.root);
        id(op.left, c, op.clock);
        right_id(op.right, op.left, c, op.clock);
        if (!op.values.empty()) {
          write_list_values(op.values.data(), op.values.size());
        } else if (op.has_content) {
          text_.clear();
          utf16_to_wtf8(op.text, &text_);
          ops_->string(text_);
        } else {
          ops_->varint(op.len);
        }
        break;
      case OpKind::Delete:
        write_delete(c, op.clock, op.root, op.backward, op.left, op.len);
        break;
      case OpKind::MapSet:
      case OpKind::MapDelete:
        write_map(op.kind, op.root, op.key, op.value, op.lamport);
        break;
      case OpKind::CounterAdd:
        write_counter(op.root, op.delta);
        break;
      case OpKind::Nop:
        write_nop(op.len);
        break;
    }
  }

  void write_delete(uint32_t c, uint32_t clock, RootHandle root, bool backward, Id target, uint32_t n) {
    tag(backward ? kDeleteBwd : kDeleteFwd, root, n == 1 ? kContinues : 0);
    id(target, c, clock);
    if (n != 1) ops_->varint(n);
  }

  void write_map(OpKind kind, RootHandle root, std::string_view key, std::string_view value, uint64_t lamport) {
    tag(kind == OpKind::MapSet ? kMapSet : kMapDelete, root);
    ops_->string(key);
    if (kind == OpKind::MapSet) ops_->string(value);
    ops_->varint(lamport);
  }

  // A list insert's content: the element count, then each element's JSON text.
  void write_list_values(const std::string* values, size_t n) {
    ops_->varint(n);
    for (size_t i = 0; i < n; ++i) ops_->string(values[i]);
  }

  void write_counter(RootHandle root, int64_t delta) {
    tag(kCounter, root);
    ops_->zigzag(delta);
  }

  void write_nop(uint32_t len) {
    flush_held();  // coalescing (issue 8)
    ops_->byte(kNop);
    ++count_;
    last_was_insert_ = false;
    ops_->varint(len);
  }

  uint32_t client(uint32_t idx) {
    if (client_slot_[idx] < 0) {
      client_slot_[idx] = static_cast<int32_t>(client_table_.size());
      client_table_.push_back(d_.clients[idx].id);
    }
    return static_cast<uint32_t>(client_slot_[idx]);
  }

  void tag(uint8_t kind, RootHandle h, uint8_t flags = 0) {
    flush_held();  // coalescing (issue 8)
    if (root_slot_[h] < 0) {
      root_slot_[h] = static_cast<int32_t>(root_table_.size());
      root_table_.push_back(h);
    }
    uint32_t r = static_cast<uint32_t>(root_slot_[h]);
    ops_->byte(static_cast<uint8_t>(kind | flags | (std::min(r, kRootEscape) << 3)));
    if (r >= kRootEscape) ops_->varint(r - kRootEscape);
    ++count_;
    last_was_insert_ = false;
  }

  // `shift` is added to the code of a non-empty id (the right origin reserves code 1).
  void id(Id id, uint32_t op_client, uint32_t op_clock, uint64_t shift = 0) {
    if (is_none(id)) {
      ops_->varint(0);
    } else if (id.client == op_client && id.clock < op_clock) {
      ops_->varint(shift + 1 + 2 * uint64_t{op_clock - 1 - id.clock});
    } else {
      ops_->varint(shift + 2 + 2 * uint64_t{client(id.client)});
      ops_->varint(id.clock);
    }
  }

  // Inserting inside earlier text is common: then the right origin follows the left one.
  void right_id(Id right, Id left, uint32_t op_client, uint32_t op_clock) {
    if (!is_none(right) && !is_none(left) && right.client == left.client && right.clock == left.clock + 1)
      ops_->varint(1);
    else
      id(right, op_client, op_clock, 1);
  }

  // Coalescing: a text insert continuing the previous one of the section (its own
  // run typed on, logged apart because other text came in between) is written as part of it:
  // the same elements with the same origins, one op fewer to decode and integrate. So the
  // previous insert's text (or gone length) is held until something else is written.
  uint8_t held_ = 0;           // kInsert (text in text_), kInsertGone (length in held_len_) or 0
  uint32_t held_len_ = 0;
  char16_t held_last_ = 0;     // the held text's last unit
  void flush_held() {
    if (held_ == kInsert) ops_->string(text_);
    else if (held_ == kInsertGone) ops_->varint(held_len_);
    held_ = 0;
  }

  void write_insert_piece(uint32_t c, const Op& op, uint32_t k, uint32_t e, bool gone) {
    Id left = k == op.clock ? op.left : Id{c, k - 1};
    uint8_t kind = gone ? kInsertGone : kInsert;
    const bool list = d_.roots[op.root].type == RootType::List;
    const char16_t* units = gone || list ? nullptr : d_.arena.data() + op.content + (k - op.clock);
    if (last_was_insert_ && last_root_ == op.root && last_right_ == op.right && left == Id{c, k - 1}) {
      // Coalescing, but not across a surrogate pair (its halves in WTF-8 one after the
      // other would not be WTF-8)
      if (held_ == kind && (gone || !(is_high_surrogate(held_last_) && is_low_surrogate(units[0])))) {
        if (gone) held_len_ += e - k;
        else utf16_to_wtf8(std::u16string_view(units, e - k), &text_), held_last_ = units[e - k - 1];
        return;
      }
      flush_held();
      ops_->byte(kind | kContinues);
      ++count_;
    } else {
      tag(kind, op.root);
      id(left, c, k);
      right_id(op.right, left, c, k);
    }
    last_was_insert_ = true;
    last_root_ = op.root;
    last_right_ = op.right;
    if (gone) {
      held_ = kInsertGone, held_len_ = e - k;  // coalescing (issue 8): written by flush_held
    } else if (list) {
      write_list_values(d_.list_values.data() + op.content + (k - op.clock), e - k);
    } else {
      text_.clear();
      utf16_to_wtf8(std::u16string_view(units, e - k), &text_);
      held_ = kInsert, held_last_ = units[e - k - 1];  // coalescing (issue 8): written by flush_held
    }
  }

  void write_op(uint32_t c, const Op& op, uint32_t k) {
    const uint32_t end = op.clock + op.len, skip = k - op.clock;
    switch (op.kind) {
      case OpKind::Insert: {
        if (op.content == kNoContent) {
          write_insert_piece(c, op, k, end, true);
          break;
        }
        // Content of elements this update also deletes does not travel.
        if (!s_.gone[c].empty()) {
          const RangeSet& r = s_.gone[c];
          auto it = std::upper_bound(r.begin(), r.end(), std::make_pair(k, UINT32_MAX));
          if (it != r.begin() && (it - 1)->second > k) --it;
          for (; it != r.end() && it->first < end && k < end; ++it) {
            uint32_t gs = std::max(it->first, k), ge = std::min(it->second, end);
            if (gs > k) write_insert_piece(c, op, k, gs, false);
            write_insert_piece(c, op, gs, ge, true);
            k = ge;
          }
        }
        if (k < end) write_insert_piece(c, op, k, end, false);
        break;
      }
      case OpKind::Delete: {
        Id target = op.left;
        if (!op.backward) target.clock += skip;
        write_delete(c, k, op.root, op.backward, target, op.len - skip);
        break;
      }
      case OpKind::MapSet:
      case OpKind::MapDelete:
        write_map(op.kind, op.root, d_.strings[op.content],
                  op.kind == OpKind::MapSet ? std::string_view(d_.strings[op.value]) : std::string_view(), op.lamport);
        break;
      case OpKind::CounterAdd:
        write_counter(op.root, op.delta);
        break;
      case OpKind::Nop:
        write_nop(op.len - skip);
        break;
    }
  }

  const DocImpl& d_;
  EncodeScratch& s_;
  std::vector<int32_t>& client_slot_;
  std::vector<ClientId>& client_table_;
  std::vector<int32_t>& root_slot_;
  std::vector<RootHandle>& root_table_;
  std::string& text_;
  ByteWriter body_;
  ByteWriter section_ops_;
  ByteWriter* ops_ = nullptr;
  uint32_t count_ = 0;
  bool last_was_insert_ = false;  // for kContinues
  RootHandle last_root_ = 0;
  Id last_right_ = kNoId;
};

Id read_id_code(ByteReader& r, uint64_t code, uint32_t op_client, uint32_t op_clock, size_t n_clients) {
  if (!r.ok() || code == 0) return kNoId;
  if (code & 1) {
    uint64_t back = (code - 1) / 2;
    if (back >= op_clock) {
      r.fail("id refers to a clock before 0");
      return kNoId;
    }
    return Id{op_client, static_cast<uint32_t>(op_clock - 1 - back)};
  }
  uint64_t k = code / 2 - 1;
  if (k >= n_clients) {
    r.fail("id refers to client index " + std::to_string(k) + " of " + std::to_string(n_clients));
    return kNoId;
  }
  return Id{static_cast<uint32_t>(k), static_cast<uint32_t>(r.bounded("id clock", kMaxClock))};
}

Id read_id(ByteReader& r, uint32_t op_client, uint32_t op_clock, size_t n_clients) {
  return read_id_code(r, r.varint("id"), op_client, op_clock, n_clients);
}

Id read_right_id(ByteReader& r, Id left, uint32_t op_client, uint32_t op_clock, size_t n_clients) {
  uint64_t code = r.varint("right origin");
  if (code != 1) return read_id_code(r, code == 0 ? 0 : code - 1, op_client, op_clock, n_clients);
  if (is_none(left) || left.clock >= kMaxClock) {
    r.fail("right origin follows a missing left origin");
    return kNoId;
  }
  return Id{left.client, left.clock + 1};
}

bool root_accepts(RootType t, uint8_t kind) {
  switch (kind) {
    case kInsert: case kInsertGone: case kDeleteFwd: case kDeleteBwd: return t == RootType::Text || t == RootType::List;
    case kMapSet: case kMapDelete: return t == RootType::Map || t == RootType::Register;
    case kCounter: return t == RootType::Counter;
    default: return true;
  }
}

bool valid_text(std::string_view s) {
  // merge speed (issue 8): ASCII (a root name, nearly always) is valid without converting
  if (std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) return true;
  std::u16string scratch;
  return wtf8_to_utf16(s, &scratch);
}

// Merge speed: checks of an update's tables without an allocation per update
// Was `key` listed before? `before` holds the entries read so far; short tables are scanned,
// a long one gets the hash set `set` (filled on first use), so a hostile table stays linear.
constexpr size_t kScanEntries = 16;
bool client_listed(const std::vector<ClientId>& before, ClientId key, std::unordered_set<ClientId>& set) {
  if (before.size() < kScanEntries) return std::find(before.begin(), before.end(), key) != before.end();
  if (set.empty())
    for (ClientId c : before) set.insert(c);
  return !set.insert(key).second;
}
bool root_listed(const std::vector<DecodedUpdate::RootDecl>& before, uint8_t type, std::string_view name,
                 std::unordered_set<std::string>& set) {
  auto key = [](uint8_t t, std::string_view n) { return static_cast<char>(t) + std::string(n); };
  if (before.size() < kScanEntries) {
    for (const auto& r : before)
      if (static_cast<uint8_t>(r.type) == type && r.name == name) return true;
    return false;
  }
  if (set.empty())
    for (const auto& r : before) set.insert(key(static_cast<uint8_t>(r.type), r.name));
  return !set.insert(key(type, name)).second;
}

// Load: causality, checked op by op while decoding (nothing kept per op).
// An op can only refer to clocks before its own (otherwise ops could wait for themselves
// forever).
bool refers_ahead(const RemoteOp& op) {
  auto ahead = [&](Id id, uint32_t len) {
    return !is_none(id) && id.client == op.client && uint64_t{id.clock} + len > op.clock;
  };
  return op.kind == OpKind::Insert ? ahead(op.left, 1) || ahead(op.right, 1)
       : op.kind == OpKind::Delete ? ahead(op.left, op.len)
       : false;
}

// Compact single-op updates (below; layout in update_codec.h):
constexpr int kFlagShift = 53;  // the op's form and "length follows" ride in the client id's spare bits

}  // namespace

// A varint at `p`, which has room for it; returns the end (issue 8: the compact update's
// rewrite to version 1 and the compact encoder write through pointers).
[[gnu::noinline]] static uint8_t* put_varint(uint8_t* p, uint64_t v) {
  for (; v >= 0x80; v >>= 7) *p++ = static_cast<uint8_t>(v) | 0x80;
  *p++ = static_cast<uint8_t>(v);
  return p;
}

// Rewritten as the version-1 update of the same op. The decoder reads the compact form itself
// (decode_compact_update below); this rewrite is the reference it is held to, by the tests and the
// update fuzzer, which decode every compact input both ways and compare.
Status compact_update_as_v1(const uint8_t* data, size_t len, std::vector<uint8_t>* v1) {
  ByteReader r(data + 1, len - 1);
  uint64_t name_len = data[0] & 15;
  if (name_len == 15) name_len += r.bounded("root name length", 1024 - 15);
  const std::string_view name = r.raw(name_len, "root name");
  const uint64_t c = r.client7("client id");
  const unsigned form = (c >> kFlagShift) & 3;
  const bool more = c >> (kFlagShift + 2), insert = form < 2;
  const uint64_t clock = r.varint("clock");
  // Codes as in version 1 (a right origin's is one more), but 2 = an inline id here.
  uint64_t left = form == 0 ? 1 : 0, code = r.varint("op code");  // form 0: our clock - 1
  if (form == 1) left = r.varint("left origin");
  auto bad = [](uint64_t id) { return id > 2 && !(id & 1); };
  const bool bad_code = bad(left) || bad(code - (insert && code > 0));
  // Inline ids (the left origin's, then the code's): the client joins the table, the code
  // becomes version 1's 2 + 2 * index (+ 1 for a right origin).
  ClientId clients[3] = {c & kMaxClientId};
  size_t n_clients = 1;
  uint64_t* ids[2] = {&left, &code};
  uint64_t clocks[2] = {0, 0};
  bool inlined[2] = {left == 2, code == 2u + insert};
  for (int k = 0; k < 2; ++k) {
    if (!inlined[k]) continue;
    const ClientId client = r.client7("id client");
    size_t i = 0;
    while (i < n_clients && clients[i] != client) ++i;
    if (i == n_clients) clients[n_clients++] = client;
    *ids[k] = 2 + 2 * i + (k == 1 && insert);
    clocks[k] = r.varint("id clock");
  }
  std::string_view content;
  uint64_t n = 1;
  if (insert) content = more ? r.string("insert content") : r.raw(r.remaining(), "insert content");
  else if (more) n = r.varint("delete length");
  const uint8_t type = ((data[0] >> 4) & 7) + 1;
  // Without a length, one UTF-16 unit: a UTF-8 sequence of 1 to 3 bytes (version 1 checks it).
  const uint8_t lead = content.empty() ? 0 : static_cast<uint8_t>(content[0]);
  const size_t one = lead < 0x80 ? 1 : lead < 0xc0 ? 0 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 0;
  if (r.ok() && (bad_code || !r.at_end() || (insert && type != static_cast<uint8_t>(RootType::Text)) ||
                 (insert && !more && content.size() != one)))
    r.fail("malformed compact update (id code, trailing bytes, root type or text length)");
  if (!r.ok()) return Status::error("bad update: " + r.error());

  // Merge speed: written straight into the caller's buffer, no growth checks.
  // Version 1 is at most about 20 bytes longer than the compact form (its tables, 8-byte client
  // ids, lengths); every other number is copied from a number of the compact form.
  v1->resize(len + 64);
  uint8_t* p = v1->data();
  auto bytes = [&p](const void* b, size_t count) {
    memcpy(p, b, count);
    p += count;
  };
  auto var = [&p](uint64_t v) { p = put_varint(p, v); };
  const uint8_t head[3] = {kUpdateMagic, kUpdateVersion, static_cast<uint8_t>(n_clients)};
  bytes(head, 3);
  for (size_t i = 0; i < n_clients; ++i) var(clients[i]);
  const uint8_t root[2] = {1, type};  // one root
  bytes(root, 2);
  var(name.size());
  bytes(name.data(), name.size());
  bytes("\1\0", 2);  // one section, of client index 0
  var(clock);
  const uint8_t tag[2] = {1, static_cast<uint8_t>(insert ? kInsert : (form == 3 ? kDeleteBwd : kDeleteFwd) | (more ? 0 : kContinues))};
  bytes(tag, 2);  // one op
  if (insert) {
    var(left);
    if (inlined[0]) var(clocks[0]);
  }
  var(code);
  if (inlined[1]) var(clocks[1]);
  if (insert) {
    var(content.size());
    bytes(content.data(), content.size());
  } else if (more) {
    var(n);
  }
  v1->resize(p - v1->data());
  return {};
}

// Merge speed: a compact update decoded straight into its one op, with every check
// the version-1 decoder makes of the rewritten form (the same tables and op; the messages may
// differ). Rewriting and decoding twice was about half of what merging a keystroke cost.
[[gnu::noinline]] Status decode_compact_update(const uint8_t* data, size_t len, DecodedUpdate* out, RemoteOp* op) {
  out->clients.clear();
  out->roots.clear();
  ByteReader r(data + 1, len - 1);
  const char* why = nullptr;  // the first thing wrong that the reader itself cannot see
  auto check = [&why](bool good, const char* what) {
    if (!good && !why) why = what;
  };
  uint64_t name_len = data[0] & 15;
  if (name_len == 15) name_len += r.bounded("root name length", 1024 - 15);
  const std::string_view name = r.raw(name_len, "root name");
  const uint64_t c = r.client7("client id");
  const unsigned form = (c >> kFlagShift) & 3;
  const bool more = c >> (kFlagShift + 2), insert = form < 2;
  const uint64_t clock = r.bounded("clock", kMaxClock);
  uint64_t left = form == 0 ? 1 : 0, code = r.varint("op code");  // c-id codes (update_codec.h)
  if (form == 1) left = r.varint("left origin");
  const uint64_t right = insert ? code : 0;  // a right-id: 0 none, 1 after the left origin, c-id + 1
  if (!insert) left = code;                  // a delete's first target
  auto bad = [](uint64_t id) { return id > 2 && !(id & 1); };
  check(!bad(left) && !(right > 1 && bad(right - 1)), "an id code that does not exist");
  out->clients.push_back(c & kMaxClientId);
  // An id of the op's client (own: odd code, `back` clocks before the op) or inline (code 2):
  // its client joins the table unless listed, then its clock follows.
  auto id = [&](uint64_t c_id) -> Id {
    if (c_id == 0) return kNoId;
    if (c_id & 1) {
      const uint64_t back = (c_id - 1) / 2;
      check(back < clock, "an id before clock 0");
      return Id{0, static_cast<uint32_t>(clock - 1 - back)};
    }
    const ClientId client = r.client7("id client");
    check(client <= kMaxClientId, "an id's client out of range");
    const auto it = std::find(out->clients.begin(), out->clients.end(), client);
    const auto k = static_cast<uint32_t>(it - out->clients.begin());
    if (it == out->clients.end()) out->clients.push_back(client);
    return Id{k, static_cast<uint32_t>(r.bounded("id clock", kMaxClock))};
  };
  op->client = 0;
  op->clock = static_cast<uint32_t>(clock);
  op->kind = insert ? OpKind::Insert : OpKind::Delete;
  op->backward = form == 3;
  op->root = 0;
  op->left = id(left);
  op->right = right != 1 ? id(right == 0 ? 0 : right - 1) : Id{op->left.client, op->left.clock + 1};
  check(right != 1 || (!is_none(op->left) && op->left.clock < kMaxClock), "a right origin after no left origin");
  op->has_content = insert;
  op->text.clear();
  op->values.clear();
  op->len = 1;
  const uint8_t type = ((data[0] >> 4) & 7) + 1;
  if (insert) {
    const std::string_view content = more ? r.string("insert content") : r.raw(r.remaining(), "insert content");
    // Without a length, one UTF-16 unit: a UTF-8 sequence of 1 to 3 bytes.
    const uint8_t lead = content.empty() ? 0 : static_cast<uint8_t>(content[0]);
    const size_t one = lead < 0x80 ? 1 : lead < 0xc0 ? 0 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 0;
    if (!more && one == 1 && content.size() == 1) op->text.assign(1, static_cast<char16_t>(lead));  // typed ASCII
    else check((more || content.size() == one) && wtf8_to_utf16(content, &op->text), "insert content that is not one UTF-16 unit of UTF-8");
    op->len = static_cast<uint32_t>(op->text.size());
  } else if (more) {
    op->len = static_cast<uint32_t>(r.bounded("delete length", kMaxClock));
  }
  check(r.at_end(), "trailing bytes");
  check(type == static_cast<uint8_t>(RootType::Text) || (!insert && type == static_cast<uint8_t>(RootType::List)),
        "a root type that cannot take the op");
  check(valid_text(name), "a root name that is not UTF-8");
  check(op->len > 0, "an empty op");
  check(insert || !is_none(op->left), "a delete without a target");
  check(clock + op->len <= kMaxClock && (insert || uint64_t{op->left.clock} + op->len <= kMaxClock), "a clock out of range");
  check(!refers_ahead(*op), "an op that refers to its own or later clocks");
  if (!r.ok()) return Status::error("bad update: " + r.error());
  if (why) return Status::error(std::string("bad update: malformed compact update: ") + why);
  out->roots.push_back({static_cast<RootType>(type), std::string(name)});
  return {};
}

namespace {

}  // namespace

std::vector<uint8_t> DocImpl::encode_since(const std::vector<uint32_t>& clocks, bool with_pending) const {
  std::vector<uint8_t> out = Encoder(*this).encode(clocks, with_pending);
  // Memory: the scratch buffers serve small encodes (an update per keystroke);
  // after a big one (a whole state) they would keep about three copies of it in every document.
  constexpr size_t kKeep = 64 * 1024;
  if (scratch.body.capacity() > kKeep) std::vector<uint8_t>().swap(scratch.body);
  if (scratch.section.capacity() > kKeep) std::vector<uint8_t>().swap(scratch.section);
  if (scratch.text.capacity() > kKeep) std::string().swap(scratch.text);
  return out;
}

// --- compact single-op updates (issue 8; layout in update_codec.h) --------------------------
// A keystroke in version 1 took 29 B on automerge-paper: 'R' 1, client count, an 8-byte varint
// client id, root count, type, name length, "text", section count, client index, clock (3),
// op count, tag, left origin, right origin (1-3), string length, the character. Here: head,
// "text", 7-byte client id with the op's form in its spare bits, clock, right origin (1-3), the
// character: under 18 B. No tables are set up: this reads only the last entry of our own log.
namespace {
// B4: the compact encoder writes through a pointer into space sized beforehand
// (a push_back per byte was most of what encoding a keystroke cost), with put_varint above.
uint8_t* put_client7(uint8_t* p, uint64_t id) {
  p[0] = static_cast<uint8_t>(id), p[1] = static_cast<uint8_t>(id >> 8), p[2] = static_cast<uint8_t>(id >> 16);
  p[3] = static_cast<uint8_t>(id >> 24), p[4] = static_cast<uint8_t>(id >> 32);
  p[5] = static_cast<uint8_t>(id >> 40), p[6] = static_cast<uint8_t>(id >> 48);
  return p + 7;
}
}  // namespace

[[gnu::noinline]] bool DocImpl::encode_compact(uint32_t from, std::vector<uint8_t>* out) const {
  const ClientState& self = clients[0];
  if (self.ops.empty() || from >= self.next_clock) return false;
  const Op& op = self.ops.back();
  if (op.clock > from || op.clock + op.len != self.next_clock) return false;  // more than one op
  const Root& root = roots[op.root];
  const bool insert = op.kind == OpKind::Insert;
  if (insert ? root.type != RootType::Text || op.content == kNoContent : op.kind != OpKind::Delete) return false;
  const uint32_t k = from, skip = k - op.clock, len = op.len - skip;
  auto own = [&](Id id) { return id.client == 0 && id.clock < k; };
  auto code = [&](Id id) -> uint64_t { return is_none(id) ? 0 : own(id) ? 1 + 2 * uint64_t{k - 1 - id.clock} : 2; };
  const Id left = insert && skip ? Id{0, k - 1} : op.left;  // a delete's first target
  const bool typing = insert && k > 0 && left == Id{0, k - 1};
  const uint64_t form = insert ? (typing ? 0 : 1) : (op.backward ? 3 : 2);
  // WTF-8 of an insert of more than one unit (one unit is written in place below).
  std::string& text = scratch.text;
  text.clear();
  if (insert && len != 1) utf16_to_wtf8(std::u16string_view(arena.data() + op.content + skip, len), &text);
  // A keystroke's update is built on the stack and copied once into `out` (whose buffer the
  // caller keeps): no zero-filling, no growth checks. Every field but the name and the text
  // takes 80 B at most.
  const size_t name_len = root.name.size(), bound = name_len + text.size() + 80;
  uint8_t small[256];
  uint8_t* const start = bound <= sizeof small ? small : (out->resize(bound), out->data());
  uint8_t* p = start;
  *p++ = static_cast<uint8_t>(0x80 | (static_cast<uint8_t>(root.type) - 1) << 4 | std::min<size_t>(name_len, 15));
  if (name_len >= 15) p = put_varint(p, name_len - 15);
  std::memcpy(p, root.name.data(), name_len);
  p += name_len;
  p = put_client7(p, self.id | (form | uint64_t{len != 1} << 2) << kFlagShift);
  p = put_varint(p, k);
  Id inlined[2] = {kNoId, kNoId};  // ids that travel inline: the left origin's, then the code's
  if (insert) {
    const uint64_t rc = is_none(op.right) ? 0
                        : !is_none(left) && op.right == Id{left.client, left.clock + 1} ? 1
                        : code(op.right) + 1;
    p = put_varint(p, rc);
    if (!typing) {
      p = put_varint(p, code(left));
      inlined[0] = left;
    }
    if (rc > 1) inlined[1] = op.right;
  } else {
    Id target = op.left;
    if (!op.backward) target.clock += skip;
    p = put_varint(p, code(target));
    inlined[1] = target;
  }
  for (Id id : inlined) {
    if (is_none(id) || own(id)) continue;
    p = put_client7(p, clients[id.client].id);
    p = put_varint(p, id.clock);
  }
  if (len != 1) {
    p = put_varint(p, insert ? text.size() : len);
    std::memcpy(p, text.data(), text.size());
    p += text.size();
  } else if (insert) {  // one UTF-16 unit (a lone surrogate too) in WTF-8: 1 to 3 bytes
    const unsigned c = arena[op.content + skip];
    if (c < 0x80) {
      *p++ = static_cast<uint8_t>(c);
    } else {
      if (c < 0x800) *p++ = static_cast<uint8_t>(0xC0 | c >> 6);
      else *p++ = static_cast<uint8_t>(0xE0 | c >> 12), *p++ = static_cast<uint8_t>(0x80 | (c >> 6 & 0x3F));
      *p++ = static_cast<uint8_t>(0x80 | (c & 0x3F));
    }
  }
  if (start == small) out->assign(small, p);
  else out->resize(static_cast<size_t>(p - start));
  return true;
}

std::vector<uint8_t> DocImpl::encode_state_vector() const {
  ByteWriter w;
  uint32_t n = 0;
  for (const auto& c : clients) n += c.next_clock > 0;
  w.varint(n);
  for (const auto& c : clients) {
    if (c.next_clock == 0) continue;
    w.varint(c.id);
    w.varint(c.next_clock);
  }
  return w.take();
}

Status DocImpl::decode_state_vector(const uint8_t* data, size_t len,
                                    std::vector<uint32_t>* clocks) const {
  ByteReader r(data, len);
  uint64_t n = r.bounded("state vector size", r.remaining() / 2);
  clocks->assign(clients.size(), 0);
  std::unordered_set<ClientId> seen;
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    ClientId id = r.bounded("state vector client id", kMaxClientId);
    uint32_t clock = static_cast<uint32_t>(r.bounded("state vector clock", kMaxClock));
    if (!r.ok()) break;
    if (!seen.insert(id).second) return Status::error("state vector names client " + std::to_string(id) + " twice");
    auto it = client_ids.find(id);
    if (it != client_ids.end()) (*clocks)[it->second] = clock;
  }
  if (r.ok() && !r.at_end()) r.fail("trailing bytes after state vector");
  if (!r.ok()) return Status::error("bad state vector: " + r.error());
  return {};
}

Status decode_update(const uint8_t* data, size_t len, DecodedUpdate* out, const OpVisitor& visit) {
  out->clients.clear();  // merge speed (issue 8): a reused DecodedUpdate keeps its capacity
  out->roots.clear();
  // Compact single-op updates: bit 7 of the first byte ('R' = 0x52 has it clear)
  if (len > 0 && (data[0] & 0x80)) {
    RemoteOp op;
    if (Status s = decode_compact_update(data, len, out, &op); !s) return s;
    return visit(op);
  }
  ByteReader r(data, len);
  if (len == 0) return Status::error("bad update: empty");
  if (r.byte("magic") != kUpdateMagic) return Status::error("bad update: not a roomsync update (wrong magic byte)");
  uint8_t version = r.byte("version");
  if (r.ok() && version != kUpdateVersion)
    return Status::error("bad update: unsupported format version " + std::to_string(version) +
                         " (this build reads version " + std::to_string(kUpdateVersion) + ")");
  uint64_t n_clients = r.bounded("client count", r.remaining());
  std::unordered_set<ClientId> seen;
  for (uint64_t i = 0; i < n_clients && r.ok(); ++i) {
    ClientId id = r.bounded("client id", kMaxClientId);
    if (r.ok() && client_listed(out->clients, id, seen)) r.fail("client id " + std::to_string(id) + " listed twice");
    out->clients.push_back(id);
  }
  uint64_t n_roots = r.bounded("root count", r.remaining());
  std::unordered_set<std::string> names;  // type byte + name
  for (uint64_t i = 0; i < n_roots && r.ok(); ++i) {
    uint8_t type = r.byte("root type");
    std::string_view name = r.string("root name");
    if (!r.ok()) break;
    if (type < 1 || type > 5) r.fail("unknown root type " + std::to_string(type));
    else if (name.size() > 1024) r.fail("root name longer than 1024 bytes");
    else if (!valid_text(name)) r.fail("root name is not valid UTF-8");
    else if (root_listed(out->roots, type, name, names))
      r.fail("root '" + std::string(name) + "' declared twice");
    out->roots.push_back({static_cast<RootType>(type), std::string(name)});
  }
  uint64_t n_sections = r.bounded("section count", r.remaining());
  // Load: ops are handed to `visit` one at a time in one reused RemoteOp, never
  // all materialized.
  RemoteOp op;
  Status stopped;
  for (uint64_t s = 0; s < n_sections && r.ok() && stopped; ++s) {
    if (out->clients.empty()) {
      r.fail("section without a client table");
      break;
    }
    uint32_t client = static_cast<uint32_t>(r.bounded("section client", out->clients.size() - 1));
    uint64_t clock = r.bounded("section clock", kMaxClock);
    uint64_t n_ops = r.bounded("op count", r.remaining());
    // The previous op of this section, for continuation tags.
    bool prev_insert = false;
    uint32_t prev_root = 0;
    Id prev_right = kNoId;
    for (uint64_t i = 0; i < n_ops && r.ok() && stopped; ++i) {
      op.client = client;
      op.clock = static_cast<uint32_t>(clock);
      op.backward = op.has_content = false;
      op.root = 0;
      op.left = op.right = kNoId;
      op.text.clear();
      op.values.clear();
      op.key.clear();
      op.value.clear();
      op.lamport = 0;
      op.delta = 0;
      uint8_t t = r.byte("op tag");
      uint8_t kind = t & 7;
      uint64_t root = (t >> 3) & 15;
      if (!r.ok()) break;
      const bool is_insert = kind == kInsert || kind == kInsertGone;
      const bool is_delete = kind == kDeleteFwd || kind == kDeleteBwd;
      if ((t & kContinues) && !is_delete) {
        if (!is_insert || !prev_insert) {
          r.fail("continuation tag without a preceding insert");
          break;
        }
        root = prev_root;
      } else if (root == kRootEscape) {
        root += r.bounded("root index", uint64_t{1} << 32);
      }
      if (!r.ok()) break;
      if (kind != kNop) {
        if (root >= out->roots.size()) {
          r.fail("op refers to root " + std::to_string(root) + " of " + std::to_string(out->roots.size()));
          break;
        }
        if (!root_accepts(out->roots[root].type, kind)) {
          r.fail("op kind " + std::to_string(kind) + " does not apply to root '" + out->roots[root].name + "'");
          break;
        }
        op.root = static_cast<uint32_t>(root);
      }
      switch (kind) {
        case kInsert:
        case kInsertGone:
          op.kind = OpKind::Insert;
          if (t & kContinues) {
            op.left = Id{client, op.clock - 1};
            op.right = prev_right;
          } else {
            op.left = read_id(r, client, op.clock, out->clients.size());
            op.right = read_right_id(r, op.left, client, op.clock, out->clients.size());
          }
          if (kind == kInsert && out->roots[root].type == RootType::List) {
            const uint64_t n = r.bounded("list insert count", r.remaining());
            for (uint64_t v = 0; v < n && r.ok(); ++v) {
              std::string_view value = r.string("list value");
              if (r.ok() && !is_json_value(value)) r.fail("list value is not valid JSON");
              op.values.emplace_back(value);
            }
            op.len = static_cast<uint32_t>(op.values.size());
            op.has_content = true;
          } else if (kind == kInsert) {
            std::string_view content = r.string("insert content");
            if (r.ok() && !wtf8_to_utf16(content, &op.text)) r.fail("insert content is not valid UTF-8");
            op.len = static_cast<uint32_t>(op.text.size());
            op.has_content = true;
          } else {
            op.len = static_cast<uint32_t>(r.bounded("insert length", kMaxClock));
          }
          break;
        case kDeleteFwd:
        case kDeleteBwd: {
          op.kind = OpKind::Delete;
          op.backward = kind == kDeleteBwd;
          op.left = read_id(r, client, op.clock, out->clients.size());
          op.len = (t & kContinues) ? 1 : static_cast<uint32_t>(r.bounded("delete length", kMaxClock));
          if (r.ok() && (is_none(op.left) || uint64_t{op.left.clock} + op.len > kMaxClock))
            r.fail("delete target out of range");
          break;
        }
        case kMapSet:
        case kMapDelete: {
          op.kind = kind == kMapSet ? OpKind::MapSet : OpKind::MapDelete;
          op.len = 1;
          op.key = std::string(r.string("map key"));
          if (kind == kMapSet) op.value = std::string(r.string("map value"));
          op.lamport = r.bounded("lamport", kMaxLamport);
          if (!r.ok()) break;
          if (!valid_text(op.key)) r.fail("map key is not valid UTF-8");
          else if (kind == kMapSet && !is_json_value(op.value)) r.fail("map value is not valid JSON");
          else if (out->roots[root].type == RootType::Register && !op.key.empty()) r.fail("register op with a key");
          break;
        }
        case kCounter:
          op.kind = OpKind::CounterAdd;
          op.len = 1;
          op.delta = r.zigzag("counter delta");
          break;
        case kNop:
          op.kind = OpKind::Nop;
          op.len = static_cast<uint32_t>(r.bounded("nop length", kMaxClock));
          break;
      }
      if (!r.ok()) break;
      if (op.len == 0) {
        r.fail("empty op");
        break;
      }
      clock += op.len;
      if (clock > kMaxClock) {
        r.fail("clock out of range");
        break;
      }
      if (refers_ahead(op))
        return Status::error("bad update: op " + std::to_string(out->clients[op.client]) + "@" +
                             std::to_string(op.clock) + " refers to its own or later clocks");
      prev_insert = op.kind == OpKind::Insert;
      prev_root = op.root;
      prev_right = op.right;
      stopped = visit(op);
    }
  }
  if (!stopped) return stopped;
  if (r.ok() && !r.at_end()) r.fail(std::to_string(r.remaining()) + " trailing bytes");
  if (!r.ok()) return Status::error("bad update: " + r.error());
  return {};
}

}  // namespace roomsync
