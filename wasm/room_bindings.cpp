// WebAssembly bindings for roomsync::room::RoomCore. Marshalling only: no protocol logic here.
//
// Plain C exports, like the document's (wasm/bindings.cpp): no embind, so the module carries no
// emval glue for the room. JS (js/room/core.js) calls them straight on the wasm instance:
//   rs_room_new(doc, clientId, now, in, len)  -> a RoomHandle (in: self, then the Config numbers)
//   rs_room(h, op, in, len, now, x)           -> a number (op: enum Op below)
// Inputs: `in` holds the call's strings (UTF-8) and bytes, each as a u32 length (little endian)
// followed by its bytes, in a buffer JS owns. Ops with a structured result (drain, members,
// stats, ...) return a pointer to doubles: [n, n values]. A string or byte field is two values,
// (pointer, length), into memory the handle holds until its next call: JS copies it out first.
//
// The room core works on the very document the JS Doc wraps: DocHandle's C exports (state
// vector, diff, apply) are called with the handle pointer JS holds (doc._h). Right after the
// core applies a remote update, rs_take_last_result() captures that transaction's result in the
// DocHandle's buffers; its flags ride on the `docChanged` output so the JS Doc can emit its
// observers and 'update' with the room as origin.
#include <emscripten/emscripten.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "room/room_core.h"

// DocHandle's exports (wasm/bindings.cpp), by C name; the handle stays opaque here.
extern "C" {
uint32_t rs_state_vector(void* h);
int rs_encode_state_since(void* h, const uint8_t* sv, uint32_t len);
const uint8_t* rs_bytes_out(void* h);
uint32_t rs_bytes_out_len(void* h);
int rs_apply_update(void* h, const uint8_t* data, uint32_t len);
int rs_take_last_result(void* h);
uint32_t rs_pending_ops(void* h);
int rs_error_code(void* h);
const char* rs_error_message(void* h);
}

namespace {

using namespace roomsync;
using namespace roomsync::room;

class HandleDoc final : public DocPort {
 public:
  HandleDoc(void* handle, ClientId client) : h_(handle), client_(client) {}
  ClientId client_id() const override { return client_; }
  std::vector<uint8_t> state_vector() const override {
    uint32_t n = rs_state_vector(h_);
    const uint8_t* p = rs_bytes_out(h_);
    return std::vector<uint8_t>(p, p + n);
  }
  Status encode_state_since(const uint8_t* sv, size_t len, std::vector<uint8_t>* out) const override {
    if (rs_encode_state_since(h_, sv, static_cast<uint32_t>(len)) != 0) return Status::error("malformed state vector");
    const uint8_t* p = rs_bytes_out(h_);
    out->assign(p, p + rs_bytes_out_len(h_));
    return Status::success();
  }
  Status apply_update(const uint8_t* data, size_t len) override {
    // The document's own code and message: the core tells a client-id collision from a bad update.
    if (rs_apply_update(h_, data, static_cast<uint32_t>(len)) != 0)
      return Status::error(rs_error_message(h_), static_cast<Status::Code>(rs_error_code(h_)));
    last_flags = rs_take_last_result(h_);
    return Status::success();
  }
  size_t held_ops() const override { return rs_pending_ops(h_); }
  int last_flags = 0;

 private:
  void* h_;
  ClientId client_;
};

// The input fields of one call, read in order. A field past the end reads as empty.
class Fields {
 public:
  Fields(const uint8_t* p, uint32_t len) : p_(p), end_(p + len) {}
  // The next field as (pointer, length).
  const uint8_t* next(size_t* n) {
    uint32_t len = 0;
    if (end_ - p_ >= 4) std::memcpy(&len, p_, 4), p_ += 4;
    if (len > static_cast<size_t>(end_ - p_)) len = 0;
    const uint8_t* at = p_;
    p_ += len;
    *n = len;
    return at;
  }
  std::string str() {
    size_t n;
    const uint8_t* p = next(&n);
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  bool done() const { return p_ >= end_; }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

// The Config numbers after `self` in rs_room_new's input, in this order (js/room/core.js,
// CONFIG_KEYS); NaN keeps the default.
class ConfigNumbers {
 public:
  explicit ConfigNumbers(Fields& in) : p_(in.next(&n_)) {}
  template <class T>
  void next(T* out) {
    double v = NAN;
    if ((i_ + 1) * 8 <= n_) std::memcpy(&v, p_ + 8 * i_, 8);
    ++i_;
    if (!std::isnan(v)) *out = static_cast<T>(v);
  }

 private:
  size_t n_ = 0, i_ = 0;
  const uint8_t* p_;
};

Config config(Fields& in) {
  Config c;
  c.self = in.str();
  ConfigNumbers opt(in);
  opt.next(&c.seed);
  opt.next(&c.max_direct_peers);
  opt.next(&c.heartbeat);
  opt.next(&c.presence_ttl);
  opt.next(&c.ping_every);
  opt.next(&c.peer_timeout);
  opt.next(&c.connect_timeout);
  opt.next(&c.sync_timeout);
  opt.next(&c.anti_entropy_every);
  opt.next(&c.typing_timeout);
  opt.next(&c.limits.chunk_bytes);
  opt.next(&c.limits.max_frame_bytes);
  opt.next(&c.limits.max_message_bytes);
  opt.next(&c.limits.max_inflight_bytes);
  opt.next(&c.limits.max_outbound_bytes_per_peer);
  opt.next(&c.limits.max_presence_bytes);
  return c;
}

// rs_room's ops (js/room/core.js, OP).
enum Op : int {
  kPeerJoined, kPeerLeft, kPeersListed, kChannelOpen, kChannelClosed, kFramesLost,
  kChannelBuffered,  // x = bytes
  kHandleFrame, kLocalUpdate, kSendAction, kSetPresence,
  kSetTyping,  // x = typing
  kLeave, kHandleTimeout, kPollTimeout, kSynced, kPeerSynced,
  kMembers, kOpenPeers, kPresenceOf, kDrain, kStats, kFree,
};

class RoomHandle {
 public:
  RoomHandle(void* doc, double client_id, Fields& in, Millis now)
      : doc_(doc, static_cast<ClientId>(client_id)), core_(config(in), doc_, now) {}

  double call(int op, Fields& in, Millis now, double x) {
    // What the last result pointed into is released now: JS has copied it.
    held_.clear();
    ids_.clear();
    presence_.reset();
    switch (op) {
      case kPeerJoined: core_.peer_joined(in.str(), now); break;
      case kPeerLeft: core_.peer_left(in.str(), now); break;
      case kPeersListed: core_.peers_listed(now); break;
      case kChannelOpen: core_.channel_open(in.str(), now); break;
      case kChannelClosed: core_.channel_closed(in.str(), now); break;
      case kFramesLost: core_.frames_lost(in.str(), now); break;
      case kChannelBuffered: core_.channel_buffered(in.str(), static_cast<uint64_t>(x < 0 ? 0 : x), now); break;
      case kHandleFrame: {
        std::string from = in.str();
        size_t n;
        const uint8_t* p = in.next(&n);
        core_.handle_frame(from, p, n, now);
        break;
      }
      case kLocalUpdate:
      case kSetPresence: {
        size_t n;
        const uint8_t* p = in.next(&n);
        return op == kLocalUpdate ? core_.local_update(p, n, now) : core_.set_presence(p, n, now);
      }
      case kSendAction: {  // in: name, metadata, payload, then every target
        std::string name = in.str(), metadata = in.str();
        size_t n;
        const uint8_t* p = in.next(&n);
        std::vector<PeerId> to;
        while (!in.done()) to.push_back(in.str());
        SendResult r = core_.send_action(name, p, n, to, metadata, now);
        return out({static_cast<double>(r.code), static_cast<double>(r.id), static_cast<double>(r.recipients)});
      }
      case kSetTyping: core_.set_typing(x != 0, now); break;
      case kLeave: core_.leave(now); break;
      case kHandleTimeout: core_.handle_timeout(now); break;
      case kPollTimeout: {  // the next deadline in ms, or -1 for none
        auto t = core_.poll_timeout();
        return t ? static_cast<double>(*t) : -1;
      }
      case kSynced: return core_.synced();
      case kPeerSynced: return core_.peer_synced(in.str());
      case kMembers:
      case kOpenPeers:
        ids_ = op == kMembers ? core_.members() : core_.open_peers();
        begin();
        for (const auto& id : ids_) put_ref(id);
        return end();
      case kPresenceOf:  // [pointer, length], or [] for none
        presence_ = core_.presence_of(in.str());
        begin();
        if (presence_) put_ref(*presence_);
        return end();
      case kDrain: return drain();
      case kStats: {
        Stats s = core_.stats();
        return out({static_cast<double>(s.frames_in), static_cast<double>(s.frames_out),
                    static_cast<double>(s.bytes_in), static_cast<double>(s.bytes_out),
                    static_cast<double>(s.garbage), static_cast<double>(s.violations),
                    static_cast<double>(s.duplicates), static_cast<double>(s.relayed),
                    static_cast<double>(s.open_channels), static_cast<double>(s.peers)});
      }
    }
    return 0;
  }

 private:
  // Every pending output, in order: kind, peer, then the fields of that kind (js/room/core.js,
  // readOutputs). The outputs stay in held_ until the next call, for their strings and bytes.
  double drain() {
    while (auto o = core_.poll_output()) held_.push_back(std::move(*o));
    begin();
    for (const Output& o : held_) {
      put(static_cast<int>(o.kind));
      put_ref(o.peer);
      switch (o.kind) {
        case OutKind::Transmit: put(o.lane), put_ref(o.bytes); break;
        case OutKind::Connect:
        case OutKind::Synced:
        case OutKind::Typing: put(o.flag); break;
        case OutKind::Disconnect:
        case OutKind::PeerDown: put_ref(o.code); break;
        case OutKind::DocChanged: put(doc_.last_flags); break;
        case OutKind::Action: put(o.id), put_ref(o.name), put_ref(o.metadata), put_ref(o.bytes); break;
        case OutKind::ActionProgress:
          put(o.id), put_ref(o.name), put_ref(o.metadata), put(o.got), put(o.total), put(o.flag);
          break;
        case OutKind::ActionAbort: put(o.id); break;
        case OutKind::Presence: put(o.flag), put_ref(o.bytes); break;
        case OutKind::Rtt: put(o.value); break;
        case OutKind::ProtocolError: put_ref(o.code), put_ref(o.message); break;
        case OutKind::PeerUp: break;
      }
    }
    return end();
  }

  // The result: out_[0] is the count of the values after it; returns its address.
  void begin() { out_.assign(1, 0); }
  void put(double v) { out_.push_back(v); }
  template <class C>  // a string or bytes: (pointer, length)
  void put_ref(const C& s) {
    out_.push_back(static_cast<double>(reinterpret_cast<uintptr_t>(s.data())));
    out_.push_back(static_cast<double>(s.size()));
  }
  double end() {
    out_[0] = static_cast<double>(out_.size() - 1);
    return static_cast<double>(reinterpret_cast<uintptr_t>(out_.data()));
  }
  double out(std::initializer_list<double> values) {
    begin();
    out_.insert(out_.end(), values);
    return end();
  }

  HandleDoc doc_;
  RoomCore core_;
  std::vector<double> out_;
  std::vector<Output> held_;
  std::vector<PeerId> ids_;
  std::optional<Bytes> presence_;
};

}  // namespace

extern "C" {

EMSCRIPTEN_KEEPALIVE RoomHandle* rs_room_new(void* doc, double client_id, double now, const uint8_t* in, uint32_t len) {
  Fields f(in, len);
  return new RoomHandle(doc, client_id, f, static_cast<Millis>(now));
}

EMSCRIPTEN_KEEPALIVE double rs_room(RoomHandle* h, int op, const uint8_t* in, uint32_t len, double now, double x) {
  if (op == kFree) {
    delete h;
    return 0;
  }
  Fields f(in, len);
  return h->call(op, f, static_cast<Millis>(now), x);
}

}  // extern "C"
