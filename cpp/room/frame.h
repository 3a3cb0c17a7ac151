// Wire format of the room protocol: versioned, bounded binary frames.
//
//   frame   = version:u8 (=1) | type:u8 | body | crc32:u32le (over everything before it)
//   Hello   = client_id:varint | session:varint
//   Sync1   = request:varint | flags:u8 (1 = please send me your Sync1 too) | sv:bytes
//   Ping    = nonce:varint | stamp:varint            Pong: same fields, echoed
//   Chunk   = msg_id:varint | index:varint | count:varint | [header if index == 0] | data:bytes
//   header  = kind:u8 | origin:str ("" = the sender) | hops:u8 | [covered view if hops > 0]
//             | total_len:varint | kind fields
//     covered = n:varint (<= 32) | n x short id:u32le: peers it was sent to already (relays skip them)
//     view    = u32le: 0 = flooding; else the fingerprint of the member list the message's
//               spanning tree was computed from (relays with the same view forward along it)
//     Update   -                         Sync2    request:varint
//     Action   name:str metadata:bytes ntargets:varint target:str*
//     Presence session:varint seq:varint (data = state)
//     Typing   session:varint ttl_ms:varint (no data)      Bye session:varint (no data)
// bytes/str = varint length + bytes. Messages (updates, sync replies, actions, presence...)
// travel as one or more chunks of at most Limits::chunk_bytes, so every frame stays small.
// The checksum separates garbage (dropped, counted) from protocol violations (valid checksum,
// invalid content: the peer is disconnected).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/doc.h"
#include "room/limits.h"
#include "room/rng.h"

namespace roomsync::room {

constexpr uint8_t kProtocolVersion = 1;
constexpr size_t kFrameOverhead = 6;  // version, type, crc32
constexpr uint64_t kMaxId = (uint64_t{1} << 53) - 1;  // ids and stamps fit JS numbers
constexpr size_t kMaxCovered = 32;

enum class FrameType : uint8_t { Hello = 1, Sync1 = 2, Ping = 3, Pong = 4, Chunk = 5 };
enum class MsgKind : uint8_t { Update = 1, Sync2 = 2, Action = 3, Presence = 4, Typing = 5, Bye = 6 };

// The header of a message (sent with its first chunk). Owned strings: encoders fill it,
// the core keeps it while reassembling.
struct MsgHeader {
  MsgKind kind = MsgKind::Update;
  std::string origin;  // empty: the peer that sent the frame
  uint8_t hops = 0;    // how many more times it may be relayed
  std::vector<uint32_t> covered;  // hops > 0: short ids (short_id()) of peers that have it
  uint32_t view = 0;              // hops > 0: member-list fingerprint of its tree (0: flooding)
  uint64_t total_len = 0;
  uint64_t request = 0;  // Sync2
  std::string name;      // Action
  std::string metadata;  // Action (bytes)
  std::vector<std::string> targets;  // Action; empty = everyone
  uint64_t session = 0;  // Presence, Typing, Bye
  uint64_t seq = 0;      // Presence
  uint64_t ttl = 0;      // Typing
};

// A decoded frame. `bytes` views into the input buffer; the rest is copied.
struct Frame {
  FrameType type = FrameType::Hello;
  uint64_t a = 0;  // Hello: client_id; Sync1: request; Ping/Pong: nonce; Chunk: msg_id
  uint64_t b = 0;  // Hello: session; Sync1: flags; Ping/Pong: stamp; Chunk: index
  uint64_t count = 0;       // Chunk
  bool has_header = false;  // Chunk with index 0
  MsgHeader header;
  std::string_view bytes;   // Sync1: state vector; Chunk: data
};

enum class DecodeError : uint8_t { None, Garbage, Version, Malformed };

struct DecodeResult {
  DecodeError error = DecodeError::None;
  std::string message;
};

// Never throws. Garbage: too short or wrong checksum. Version: a version we do not speak.
// Malformed: checksum right, content wrong (a protocol violation).
DecodeResult decode_frame(const uint8_t* p, size_t n, const Limits& lim, Frame* out);
// Decodes a frame body (after version and type, without checksum): for the fuzzer.
DecodeResult decode_body(FrameType type, const uint8_t* p, size_t n, const Limits& lim, Frame* out);

std::vector<uint8_t> encode_hello(uint64_t client_id, uint64_t session);
std::vector<uint8_t> encode_sync1(uint64_t request, bool want_reply, const std::vector<uint8_t>& sv);
std::vector<uint8_t> encode_ping(bool pong, uint64_t nonce, uint64_t stamp);
// One chunk; `header` is written when index == 0.
std::vector<uint8_t> encode_chunk(uint64_t msg_id, uint64_t index, uint64_t count,
                                  const MsgHeader& header, const uint8_t* data, size_t len);
// Wraps a body with version, type and checksum (used by the encoders and the fuzzer).
std::vector<uint8_t> seal_frame(FrameType type, const std::vector<uint8_t>& body);

uint32_t crc32(const uint8_t* p, size_t n);

// A peer id's 32-bit short form for `covered` lists (a collision only costs a relay that anti-entropy makes up for).
inline uint32_t short_id(std::string_view id) { return static_cast<uint32_t>(fnv1a64(id)); }

}  // namespace roomsync::room
