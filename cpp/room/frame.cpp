#include "room/frame.h"

#include "codec/varint.h"

namespace roomsync::room {

namespace {

constexpr uint64_t kMaxTypingTtl = 60000;

uint32_t load32le(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

void put32le(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

DecodeResult fail(DecodeError e, std::string m) { return {e, std::move(m)}; }

// A string whose length must be within [min, max].
bool bounded_string(ByteReader& r, const char* what, size_t min, size_t max, std::string* out) {
  std::string_view s = r.string(what);
  if (!r.ok()) return false;
  if (s.size() < min || s.size() > max) {
    r.fail(std::string(what) + " length " + std::to_string(s.size()) + " outside [" +
           std::to_string(min) + ", " + std::to_string(max) + "]");
    return false;
  }
  out->assign(s.data(), s.size());
  return true;
}

bool decode_header(ByteReader& r, const Limits& lim, MsgHeader* h) {
  uint64_t kind = r.byte("message kind");
  if (r.ok() && (kind < 1 || kind > 6)) r.fail("unknown message kind " + std::to_string(kind));
  if (!r.ok()) return false;
  h->kind = static_cast<MsgKind>(kind);
  if (!bounded_string(r, "origin", 0, lim.max_peer_id_bytes, &h->origin)) return false;
  h->hops = r.byte("hops");
  if (r.ok() && h->hops > lim.max_hops) r.fail("hops " + std::to_string(h->hops) + " above limit");
  if (r.ok() && h->hops > 0) {
    uint64_t n = r.bounded("covered count", kMaxCovered);
    for (uint64_t i = 0; r.ok() && i < n; ++i) {
      uint32_t v = 0;
      for (int k = 0; k < 4; ++k) v |= uint32_t{r.byte("covered id")} << (8 * k);
      h->covered.push_back(v);
    }
    for (int k = 0; k < 4; ++k) h->view |= uint32_t{r.byte("view")} << (8 * k);
  }
  h->total_len = r.bounded("message length", lim.max_message_bytes);
  if (!r.ok()) return false;
  switch (h->kind) {
    case MsgKind::Update: break;
    case MsgKind::Sync2:
      h->request = r.bounded("sync request", kMaxId);
      if (r.ok() && (!h->origin.empty() || h->hops != 0)) r.fail("sync reply cannot be relayed");
      break;
    case MsgKind::Action: {
      if (!bounded_string(r, "action name", 1, lim.max_action_name_bytes, &h->name)) return false;
      if (!bounded_string(r, "metadata", 0, lim.max_metadata_bytes, &h->metadata)) return false;
      uint64_t n = r.bounded("target count", lim.max_targets);
      for (uint64_t i = 0; r.ok() && i < n; ++i) {
        std::string t;
        if (!bounded_string(r, "target", 1, lim.max_peer_id_bytes, &t)) return false;
        h->targets.push_back(std::move(t));
      }
      break;
    }
    case MsgKind::Presence:
      h->session = r.bounded("session", kMaxId);
      h->seq = r.bounded("presence seq", kMaxId);
      if (r.ok() && h->total_len > lim.max_presence_bytes) r.fail("presence state too large");
      break;
    case MsgKind::Typing:
      h->session = r.bounded("session", kMaxId);
      h->ttl = r.bounded("typing ttl", kMaxTypingTtl);
      if (r.ok() && h->total_len != 0) r.fail("typing carries no data");
      break;
    case MsgKind::Bye:
      h->session = r.bounded("session", kMaxId);
      if (r.ok() && h->total_len != 0) r.fail("bye carries no data");
      break;
  }
  return r.ok();
}

void write_header(ByteWriter& w, const MsgHeader& h) {
  w.byte(static_cast<uint8_t>(h.kind));
  w.string(h.origin);
  w.byte(h.hops);
  if (h.hops > 0) {
    w.varint(h.covered.size());
    for (uint32_t v : h.covered)
      for (int k = 0; k < 4; ++k) w.byte(static_cast<uint8_t>(v >> (8 * k)));
    for (int k = 0; k < 4; ++k) w.byte(static_cast<uint8_t>(h.view >> (8 * k)));
  }
  w.varint(h.total_len);
  switch (h.kind) {
    case MsgKind::Update: break;
    case MsgKind::Sync2: w.varint(h.request); break;
    case MsgKind::Action:
      w.string(h.name);
      w.string(h.metadata);
      w.varint(h.targets.size());
      for (const auto& t : h.targets) w.string(t);
      break;
    case MsgKind::Presence:
      w.varint(h.session);
      w.varint(h.seq);
      break;
    case MsgKind::Typing:
      w.varint(h.session);
      w.varint(h.ttl);
      break;
    case MsgKind::Bye: w.varint(h.session); break;
  }
}

}  // namespace

DecodeResult decode_body(FrameType type, const uint8_t* p, size_t n, const Limits& lim, Frame* out) {
  *out = Frame{};
  out->type = type;
  ByteReader r(p, n);
  switch (type) {
    case FrameType::Hello:
      out->a = r.bounded("client id", kMaxClientId);
      out->b = r.bounded("session", kMaxId);
      break;
    case FrameType::Sync1:
      out->a = r.bounded("sync request", kMaxId);
      out->b = r.byte("sync flags");
      if (r.ok() && out->b > 1) r.fail("unknown sync flags");
      out->bytes = r.string("state vector");
      break;
    case FrameType::Ping:
    case FrameType::Pong:
      out->a = r.bounded("nonce", kMaxId);
      out->b = r.bounded("stamp", kMaxId);
      break;
    case FrameType::Chunk:
      out->a = r.bounded("message id", kMaxId);
      out->b = r.bounded("chunk index", lim.max_message_bytes);
      out->count = r.bounded("chunk count", lim.max_message_bytes);
      if (r.ok() && (out->count == 0 || out->b >= out->count)) r.fail("chunk index outside count");
      if (r.ok() && out->a == 0) r.fail("message id 0");
      if (r.ok() && out->b == 0) {
        out->has_header = true;
        if (decode_header(r, lim, &out->header)) {
          uint64_t total = out->header.total_len;
          if (out->count > (total == 0 ? 1 : total)) r.fail("more chunks than message bytes");
        }
      }
      if (r.ok()) out->bytes = r.string("chunk data");
      if (r.ok() && out->has_header && out->bytes.size() > out->header.total_len)
        r.fail("chunk larger than its message");
      break;
    default: r.fail("unknown frame type " + std::to_string(static_cast<int>(type)));
  }
  if (r.ok() && !r.at_end()) r.fail(std::to_string(r.remaining()) + " trailing bytes");
  if (!r.ok()) return fail(DecodeError::Malformed, r.error());
  return {};
}

DecodeResult decode_frame(const uint8_t* p, size_t n, const Limits& lim, Frame* out) {
  if (n < kFrameOverhead) return fail(DecodeError::Garbage, "frame of " + std::to_string(n) + " bytes");
  if (crc32(p, n - 4) != load32le(p + n - 4)) return fail(DecodeError::Garbage, "checksum mismatch");
  if (p[0] != kProtocolVersion)
    return fail(DecodeError::Version, "protocol version " + std::to_string(p[0]) + ", expected " +
                                          std::to_string(kProtocolVersion));
  if (n > lim.max_frame_bytes)
    return fail(DecodeError::Malformed, "frame of " + std::to_string(n) + " bytes above limit");
  uint8_t type = p[1];
  if (type < 1 || type > 5) return fail(DecodeError::Malformed, "unknown frame type " + std::to_string(type));
  return decode_body(static_cast<FrameType>(type), p + 2, n - kFrameOverhead, lim, out);
}

namespace {

// Frames are written in place: version and type first, then the body, then the checksum over
// both; no second buffer, no copy of the body.
ByteWriter start_frame(FrameType type, size_t body_hint) {
  std::vector<uint8_t> buf;
  buf.reserve(body_hint + kFrameOverhead);
  ByteWriter w(std::move(buf));
  w.byte(kProtocolVersion);
  w.byte(static_cast<uint8_t>(type));
  return w;
}

std::vector<uint8_t> finish_frame(ByteWriter& w) {
  std::vector<uint8_t> f = w.take();
  const size_t n = f.size();
  f.resize(n + 4);
  put32le(f.data() + n, crc32(f.data(), n));
  return f;
}

}  // namespace

std::vector<uint8_t> seal_frame(FrameType type, const std::vector<uint8_t>& body) {
  ByteWriter w = start_frame(type, body.size());
  w.bytes(body.data(), body.size());
  return finish_frame(w);
}

std::vector<uint8_t> encode_hello(uint64_t client_id, uint64_t session) {
  ByteWriter w = start_frame(FrameType::Hello, 20);
  w.varint(client_id);
  w.varint(session);
  return finish_frame(w);
}

std::vector<uint8_t> encode_sync1(uint64_t request, bool want_reply, const std::vector<uint8_t>& sv) {
  ByteWriter w = start_frame(FrameType::Sync1, sv.size() + 16);
  w.varint(request);
  w.byte(want_reply ? 1 : 0);
  w.varint(sv.size());
  w.bytes(sv.data(), sv.size());
  return finish_frame(w);
}

std::vector<uint8_t> encode_ping(bool pong, uint64_t nonce, uint64_t stamp) {
  ByteWriter w = start_frame(pong ? FrameType::Pong : FrameType::Ping, 20);
  w.varint(nonce);
  w.varint(stamp);
  return finish_frame(w);
}

std::vector<uint8_t> encode_chunk(uint64_t msg_id, uint64_t index, uint64_t count,
                                  const MsgHeader& header, const uint8_t* data, size_t len) {
  // Room for the ids, a typical header and the data: one allocation for most chunks.
  ByteWriter w = start_frame(FrameType::Chunk, len + 64 + (index == 0 ? header.origin.size() + header.name.size() +
                                                                          header.metadata.size() + 4 * header.covered.size() + 4 : 0));
  w.varint(msg_id);
  w.varint(index);
  w.varint(count);
  if (index == 0) write_header(w, header);
  w.varint(len);
  w.bytes(data, len);
  return finish_frame(w);
}

}  // namespace roomsync::room
