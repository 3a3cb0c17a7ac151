// libFuzzer target for the room protocol: the frame decoder, and a whole RoomCore driven by a
// script (str0m style). The input is a sequence of operations: raw frames, frames with a valid
// checksum around fuzzed bodies, structured chunks with fuzzed fields (to get past the decoder),
// time steps, channel and membership changes, local commands.
// Invariants: nothing crashes or throws; every Transmit fits max_frame_bytes; queues and
// reassembly buffers stay within Limits; the document changes only when the core says so
// (DocChanged), and a refused message leaves it exactly as it was; a drain always ends.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "crdt/doc.h"
#include "room/frame.h"
#include "room/room_core.h"

#include "fuzz_input.h"

using namespace roomsync;
using namespace roomsync::room;

namespace {

using fuzz::Input;
[[noreturn]] void fail(const char* what, const std::string& detail = "") { fuzz::fail("frame", what, detail); }

Limits small_limits() {
  Limits l;
  l.max_frame_bytes = 4096;
  l.chunk_bytes = 512;
  l.max_message_bytes = 16 * 1024;
  l.max_reassembly_bytes_per_peer = 32 * 1024;
  l.max_reassembly_bytes_total = 48 * 1024;
  l.max_partials_per_peer = 4;
  l.max_outbound_bytes_per_peer = 64 * 1024;
  l.max_inflight_bytes = 8 * 1024;
  l.max_presence_bytes = 256;
  l.max_metadata_bytes = 128;
  l.max_targets = 4;
  l.max_peer_id_bytes = 16;
  l.dedup_entries = 64;
  l.max_peers = 8;
  return l;
}

const char* kPeers[] = {"p1", "p2", "p3", "self", ""};

// A valid update from another replica, so scripts can reach apply paths with real content.
std::vector<uint8_t> real_update(uint8_t seed) {
  Doc d(777 + seed);
  d.set_capture_updates(true);
  RootHandle t = 0;
  d.root(RootType::Text, "t", &t);
  d.text_insert(t, 0, u"hello");
  return d.take_last_result().update;
}

void check_decoder(const uint8_t* data, size_t size, const Limits& lim) {
  Frame f;
  DecodeResult r = decode_frame(data, size, lim, &f);
  if (r.error != DecodeError::None && r.message.empty()) fail("error without a message");
  for (uint8_t t = 1; t <= 6; ++t) {
    r = decode_body(static_cast<FrameType>(t), data, size, lim, &f);
    if (r.error != DecodeError::None && r.message.empty()) fail("body error without a message");
    if (r.error == DecodeError::None && f.type == FrameType::Chunk && f.has_header &&
        f.bytes.size() > f.header.total_len)
      fail("chunk larger than its message accepted");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Limits lim = small_limits();
  check_decoder(data, size, lim);

  Doc doc(4242);
  RootHandle text = 0;
  doc.root(RootType::Text, "t", &text);
  doc.text_insert(text, 0, u"base");
  DocAdapter port(doc);
  Config cfg;
  cfg.self = "self";
  cfg.seed = 1;
  cfg.limits = lim;
  cfg.max_direct_peers = 2;
  Millis now = 1000;
  RoomCore core(cfg, port, now);
  core.peer_joined("p1", now);
  core.peer_joined("p2", now);
  core.channel_open("p1", now);
  core.channel_open("p2", now);

  std::u16string content = doc.text_content(text);
  auto drain = [&] {
    bool changed = false;
    for (int k = 0;; ++k) {
      if (k > 100000) fail("drain does not end");
      auto o = core.poll_output();
      if (!o) break;
      if (o->kind == OutKind::Transmit && o->bytes.size() > lim.max_frame_bytes) fail("oversized transmit");
      changed |= o->kind == OutKind::DocChanged;
    }
    Stats s = core.stats();
    if (s.reassembly_bytes > lim.max_reassembly_bytes_total) fail("reassembly total over limit");
    if (s.max_peer_reassembly > lim.max_reassembly_bytes_per_peer) fail("peer reassembly over limit");
    if (s.max_peer_outbound > lim.max_outbound_bytes_per_peer) fail("outbound over limit");
    std::u16string now_content = doc.text_content(text);
    if (!changed && now_content != content) fail("document changed without DocChanged");
    content = std::move(now_content);
    if (auto t = core.poll_timeout(); t && *t < now) fail("deadline in the past");
  };
  drain();

  Input in(data, size);
  int ops = 0;
  while (in.more() && ops++ < 256) {
    uint8_t op = in.byte();
    const char* peer = kPeers[(op >> 4) % 5];
    switch (op & 7) {
      case 0: {  // raw bytes
        auto b = in.bytes(in.u16() % 600);
        core.handle_frame(peer, b.data(), b.size(), now);
        break;
      }
      case 1: {  // fuzzed body, valid checksum
        uint8_t type = in.byte() % 7;
        auto b = in.bytes(in.u16() % 600);
        auto f = seal_frame(static_cast<FrameType>(type), b);
        core.handle_frame(peer, f.data(), f.size(), now);
        break;
      }
      case 2: {  // structured chunk
        MsgHeader h;
        uint8_t k = in.byte();
        h.kind = static_cast<MsgKind>(1 + k % 6);
        h.origin = (k & 0x40) ? kPeers[(k >> 3) % 5] : "";
        h.hops = in.byte() % 4;
        h.request = in.byte() % 4;
        h.session = in.byte() % 3;
        h.seq = in.byte() % 3;
        h.ttl = in.u16() % 5000;
        if (h.kind == MsgKind::Action) {
          h.name = "act";
          if (k & 0x80) h.targets = {kPeers[in.byte() % 5]};
          if (h.targets.size() == 1 && h.targets[0].empty()) h.targets.clear();
        }
        if (h.kind == MsgKind::Sync2) h.origin.clear(), h.hops = 0;
        uint8_t mode = in.byte();
        std::vector<uint8_t> payload = (mode & 1) ? real_update(mode >> 4) : in.bytes(in.u16() % 2000);
        if (h.kind == MsgKind::Typing || h.kind == MsgKind::Bye) payload.clear();
        if (h.kind == MsgKind::Presence && payload.size() > lim.max_presence_bytes) payload.resize(lim.max_presence_bytes);
        h.total_len = payload.size() + ((mode & 2) ? in.byte() % 3 : 0);  // sometimes a lie
        uint64_t id = 1 + in.byte() % 8;
        uint64_t count = 1 + (payload.size() + 511) / 512;
        if (mode & 4) count = 1 + in.byte() % 4;
        for (uint64_t i = 0; i < count; ++i) {
          size_t off = std::min<size_t>(payload.size(), i * 512);
          size_t n = std::min<size_t>(512, payload.size() - off);
          if ((mode & 8) && i == 1) continue;  // a gap
          auto f = encode_chunk(id, i, count, h, payload.data() + off, n);
          core.handle_frame(peer, f.data(), f.size(), now);
        }
        break;
      }
      case 3:
        now += in.u16() % 20000;
        core.handle_timeout(now);
        break;
      case 4:
        if (op & 8) core.channel_closed(peer, now);
        else core.channel_open(peer, now);
        break;
      case 5:
        if (op & 8) core.peer_left(peer, now);
        else core.peer_joined(peer, now);
        break;
      case 6: {
        uint8_t c = in.byte();
        auto b = in.bytes(c % 64);
        switch (c % 5) {
          case 0: {
            doc.set_capture_updates(true);
            doc.text_insert(text, 0, u"x");
            content = doc.text_content(text);
            auto u = doc.take_last_result().update;
            core.local_update(u.data(), u.size(), now);
            break;
          }
          case 1: {
            std::vector<PeerId> to;
            if (c & 0x20) to.push_back(peer);
            std::vector<uint8_t> payload(b.size() * 300, c);  // up to ~19 KB: several chunks
            core.send_action("a", payload.data(), payload.size(), to, "", now);
            break;
          }
          case 2: core.set_presence(b.data(), b.size(), now); break;
          case 3: core.set_typing(c & 0x40, now); break;
          case 4:
            if (c & 0x80) core.leave(now);
            break;
        }
        break;
      }
      case 7: core.channel_buffered(peer, in.u16() * 16ull, now); break;
    }
    drain();
  }
  return 0;
}
