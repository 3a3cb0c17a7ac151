// Byte and count limits of the room core. Every queue and reassembly buffer has one; they are
// checked at enqueue time with overflow-safe arithmetic (see fits()).
#pragma once

#include <cstdint>

namespace roomsync::room {

struct Limits {
  uint32_t max_peers = 256;                 // peer table entries (members and open channels)
  uint32_t max_peer_id_bytes = 128;
  uint32_t max_frame_bytes = 64 * 1024;     // data channels close on messages > 256 KiB
  uint32_t chunk_bytes = 16 * 1024;         // payload bytes per chunk frame (cross-browser safe)
  uint64_t max_message_bytes = 32ull << 20;          // one update / sync reply / action
  uint64_t max_reassembly_bytes_per_peer = 64ull << 20;
  uint64_t max_reassembly_bytes_total = 128ull << 20;
  uint32_t max_partials_per_peer = 8;       // messages being reassembled per link
  uint64_t max_outbound_bytes_per_peer = 64ull << 20;  // queued, not yet handed to the channel
  uint64_t max_inflight_bytes = 1ull << 20; // channel bufferedAmount window per peer
  uint64_t max_control_bytes_per_peer = 1ull << 20;  // small frames waiting for the next drain
  uint32_t max_presence_bytes = 4096;
  uint32_t max_action_name_bytes = 64;
  uint32_t max_metadata_bytes = 4096;
  uint32_t max_targets = 64;
  uint32_t max_hops = 16;
  uint32_t dedup_entries = 4096;            // gossip message ids remembered
  uint32_t max_garbage_frames = 32;         // undecodable frames from one peer before a drop
  uint32_t departed_entries = 256;          // recently departed peers remembered
};

// a + b <= cap without overflow.
inline bool fits(uint64_t a, uint64_t b, uint64_t cap) { return a <= cap && b <= cap - a; }

}  // namespace roomsync::room
