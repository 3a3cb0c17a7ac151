// WebAssembly bindings for roomsync::room::RoomCore. Marshalling only: no protocol logic here.
//
// JS (js/room/core.js) drives one RoomHandle per room: inputs are embind methods; byte inputs
// are written by JS into the shared scratch buffer (rs_scratch, wasm/bindings.cpp) and passed
// as (pointer, length); drain() returns every pending output as one JS array of plain objects
// with copied bytes (a view into wasm memory would go stale when memory grows).
//
// The room core works on the very document the JS Doc wraps: DocHandle's C exports (state
// vector, diff, apply) are called with the handle pointer JS holds (doc._h). Right after the
// core applies a remote update, rs_take_last_result() captures that transaction's result in the
// DocHandle's buffers; its flags ride on the `docChanged` output so the JS Doc can emit its
// observers and 'update' with the room as origin.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cstdint>
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
int rs_error_code(void* h);
const char* rs_error_message(void* h);
}

namespace {

using emscripten::val;
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
  int last_flags = 0;

 private:
  void* h_;
  ClientId client_;
};

const char* kind_name(OutKind k) {
  switch (k) {
    case OutKind::Transmit: return "transmit";
    case OutKind::Connect: return "connect";
    case OutKind::Disconnect: return "disconnect";
    case OutKind::PeerUp: return "peerUp";
    case OutKind::PeerDown: return "peerDown";
    case OutKind::Synced: return "synced";
    case OutKind::DocChanged: return "docChanged";
    case OutKind::Action: return "action";
    case OutKind::ActionProgress: return "actionProgress";
    case OutKind::ActionAbort: return "actionAbort";
    case OutKind::Presence: return "presence";
    case OutKind::Typing: return "typing";
    case OutKind::Rtt: return "rtt";
    case OutKind::ProtocolError: return "protocolError";
  }
  return "unknown";
}

const char* send_code(SendCode c) {
  switch (c) {
    case SendCode::Ok: return "ok";
    case SendCode::Busy: return "busy";
    case SendCode::TooLarge: return "too_large";
    case SendCode::BadName: return "bad_name";
    case SendCode::BadMetadata: return "bad_metadata";
    case SendCode::BadTarget: return "bad_target";
    case SendCode::Closed: return "closed";
  }
  return "unknown";
}

val copy_bytes(const uint8_t* p, size_t n) {
  return val(emscripten::typed_memory_view(n, p)).call<val>("slice");
}

template <class T>
void opt(const val& o, const char* key, T* out) {
  val v = o[key];
  if (v.isNumber()) *out = static_cast<T>(v.as<double>());
}

const uint8_t* ptr(uintptr_t p) { return reinterpret_cast<const uint8_t*>(p); }

class RoomHandle {
 public:
  // opts: { self, seed, docPtr, clientId, now, maxDirectPeers?, heartbeatMs?, presenceTtlMs?,
  //         pingEveryMs?, peerTimeoutMs?, connectTimeoutMs?, syncTimeoutMs?, antiEntropyMs?,
  //         typingTimeoutMs?, chunkBytes?, maxFrameBytes?, maxMessageBytes?, maxInflightBytes?,
  //         maxOutboundBytesPerPeer?, maxPresenceBytes? }
  explicit RoomHandle(val o)
      : doc_(reinterpret_cast<void*>(static_cast<uintptr_t>(o["docPtr"].as<double>())),
             static_cast<ClientId>(o["clientId"].as<double>())),
        core_(config(o), doc_, static_cast<Millis>(o["now"].as<double>())) {}

  void peerJoined(const std::string& id, double now) { core_.peer_joined(id, ms(now)); }
  void peerLeft(const std::string& id, double now) { core_.peer_left(id, ms(now)); }
  void peersListed(double now) { core_.peers_listed(ms(now)); }
  void channelOpen(const std::string& id, double now) { core_.channel_open(id, ms(now)); }
  void channelClosed(const std::string& id, double now) { core_.channel_closed(id, ms(now)); }
  void framesLost(const std::string& id, double now) { core_.frames_lost(id, ms(now)); }
  void channelBuffered(const std::string& id, double bytes, double now) {
    core_.channel_buffered(id, static_cast<uint64_t>(bytes < 0 ? 0 : bytes), ms(now));
  }
  void handleFrame(const std::string& from, uintptr_t p, size_t n, double now) {
    core_.handle_frame(from, ptr(p), n, ms(now));
  }
  bool localUpdate(uintptr_t p, size_t n, double now) { return core_.local_update(ptr(p), n, ms(now)); }
  val sendAction(const std::string& name, uintptr_t p, size_t n, val targets, const std::string& metadata,
                 double now) {
    std::vector<PeerId> to;
    if (targets.isArray()) {
      const unsigned len = targets["length"].as<unsigned>();
      for (unsigned i = 0; i < len; ++i) to.push_back(targets[i].as<std::string>());
    }
    SendResult r = core_.send_action(name, ptr(p), n, to, metadata, ms(now));
    val out = val::object();
    out.set("code", send_code(r.code));
    out.set("id", static_cast<double>(r.id));
    out.set("recipients", r.recipients);
    return out;
  }
  bool setPresence(uintptr_t p, size_t n, double now) { return core_.set_presence(ptr(p), n, ms(now)); }
  void setTyping(bool typing, double now) { core_.set_typing(typing, ms(now)); }
  void leave(double now) { core_.leave(ms(now)); }
  void handleTimeout(double now) { core_.handle_timeout(ms(now)); }
  // The next deadline in ms, or -1 for none.
  double pollTimeout() const {
    auto t = core_.poll_timeout();
    return t ? static_cast<double>(*t) : -1;
  }
  bool synced() const { return core_.synced(); }
  val members() const { return ids(core_.members()); }
  val openPeers() const { return ids(core_.open_peers()); }
  // The peer's presence state (copied), or null.
  val presenceOf(const std::string& id) const {
    auto p = core_.presence_of(id);
    return p ? copy_bytes(p->data(), p->size()) : val::null();
  }
  bool peerSynced(const std::string& id) const { return core_.peer_synced(id); }

  // Every pending output, in order, as plain objects.
  val drain() {
    val arr = val::array();
    unsigned i = 0;
    while (auto o = core_.poll_output()) {
      val e = val::object();
      e.set("kind", kind_name(o->kind));
      e.set("peer", o->peer);
      switch (o->kind) {
        case OutKind::Transmit:
          e.set("bytes", copy_bytes(o->bytes.data(), o->bytes.size()));
          e.set("lane", o->lane);
          break;
        case OutKind::Connect: e.set("polite", o->flag); break;
        case OutKind::Disconnect:
        case OutKind::PeerDown: e.set("reason", o->code); break;
        case OutKind::Synced: e.set("synced", o->flag); break;
        case OutKind::DocChanged: e.set("flags", doc_.last_flags); break;
        case OutKind::Action:
          e.set("id", static_cast<double>(o->id));
          e.set("name", o->name);
          e.set("metadata", o->metadata);
          e.set("bytes", copy_bytes(o->bytes.data(), o->bytes.size()));
          break;
        case OutKind::ActionProgress:
          e.set("id", static_cast<double>(o->id));
          e.set("name", o->name);
          e.set("metadata", o->metadata);
          e.set("got", static_cast<double>(o->got));
          e.set("total", static_cast<double>(o->total));
          e.set("outgoing", o->flag);
          break;
        case OutKind::ActionAbort: e.set("id", static_cast<double>(o->id)); break;
        case OutKind::Presence:
          e.set("present", o->flag);
          e.set("state", copy_bytes(o->bytes.data(), o->bytes.size()));
          break;
        case OutKind::Typing: e.set("typing", o->flag); break;
        case OutKind::Rtt: e.set("ms", static_cast<double>(o->value)); break;
        case OutKind::ProtocolError:
          e.set("code", o->code);
          e.set("message", o->message);
          break;
        case OutKind::PeerUp: break;
      }
      arr.set(i++, e);
    }
    return arr;
  }

  val stats() const {
    Stats s = core_.stats();
    val o = val::object();
    o.set("framesIn", static_cast<double>(s.frames_in));
    o.set("framesOut", static_cast<double>(s.frames_out));
    o.set("bytesIn", static_cast<double>(s.bytes_in));
    o.set("bytesOut", static_cast<double>(s.bytes_out));
    o.set("garbage", static_cast<double>(s.garbage));
    o.set("violations", static_cast<double>(s.violations));
    o.set("duplicates", static_cast<double>(s.duplicates));
    o.set("relayed", static_cast<double>(s.relayed));
    o.set("openChannels", s.open_channels);
    o.set("peers", s.peers);
    return o;
  }

 private:
  static Millis ms(double now) { return static_cast<Millis>(now); }
  static val ids(const std::vector<PeerId>& v) {
    val a = val::array();
    for (unsigned i = 0; i < v.size(); ++i) a.set(i, v[i]);
    return a;
  }

  static Config config(const val& o) {
    Config c;
    c.self = o["self"].as<std::string>();
    opt(o, "seed", &c.seed);
    opt(o, "maxDirectPeers", &c.max_direct_peers);
    opt(o, "heartbeatMs", &c.heartbeat);
    opt(o, "presenceTtlMs", &c.presence_ttl);
    opt(o, "pingEveryMs", &c.ping_every);
    opt(o, "peerTimeoutMs", &c.peer_timeout);
    opt(o, "connectTimeoutMs", &c.connect_timeout);
    opt(o, "syncTimeoutMs", &c.sync_timeout);
    opt(o, "antiEntropyMs", &c.anti_entropy_every);
    opt(o, "typingTimeoutMs", &c.typing_timeout);
    opt(o, "chunkBytes", &c.limits.chunk_bytes);
    opt(o, "maxFrameBytes", &c.limits.max_frame_bytes);
    opt(o, "maxMessageBytes", &c.limits.max_message_bytes);
    opt(o, "maxInflightBytes", &c.limits.max_inflight_bytes);
    opt(o, "maxOutboundBytesPerPeer", &c.limits.max_outbound_bytes_per_peer);
    opt(o, "maxPresenceBytes", &c.limits.max_presence_bytes);
    return c;
  }

  HandleDoc doc_;
  RoomCore core_;
};

}  // namespace

EMSCRIPTEN_BINDINGS(roomsync_room) {
  emscripten::class_<RoomHandle>("RoomHandle")
      .constructor<val>()
      .function("peerJoined", &RoomHandle::peerJoined)
      .function("peerLeft", &RoomHandle::peerLeft)
      .function("peersListed", &RoomHandle::peersListed)
      .function("channelOpen", &RoomHandle::channelOpen)
      .function("channelClosed", &RoomHandle::channelClosed)
      .function("channelBuffered", &RoomHandle::channelBuffered)
      .function("framesLost", &RoomHandle::framesLost)
      .function("handleFrame", &RoomHandle::handleFrame)
      .function("localUpdate", &RoomHandle::localUpdate)
      .function("sendAction", &RoomHandle::sendAction)
      .function("setPresence", &RoomHandle::setPresence)
      .function("setTyping", &RoomHandle::setTyping)
      .function("leave", &RoomHandle::leave)
      .function("handleTimeout", &RoomHandle::handleTimeout)
      .function("pollTimeout", &RoomHandle::pollTimeout)
      .function("synced", &RoomHandle::synced)
      .function("peerSynced", &RoomHandle::peerSynced)
      .function("members", &RoomHandle::members)
      .function("openPeers", &RoomHandle::openPeers)
      .function("presenceOf", &RoomHandle::presenceOf)
      .function("drain", &RoomHandle::drain)
      .function("stats", &RoomHandle::stats);
}
