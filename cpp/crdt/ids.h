// Operation identity inside one document.
#pragma once

#include <cstdint>

namespace roomsync {

// `client` is an index into the document's client table (not the 53-bit ClientId), so ids
// stay 8 bytes; encodings translate indexes to ClientIds.
struct Id {
  uint32_t client;
  uint32_t clock;
  friend bool operator==(Id a, Id b) { return a.client == b.client && a.clock == b.clock; }
  friend bool operator!=(Id a, Id b) { return !(a == b); }
};

constexpr uint32_t kNoClient = 0xffffffffu;
constexpr Id kNoId{kNoClient, 0};
inline bool is_none(Id id) { return id.client == kNoClient; }

// Clocks stay far below 2^32 so clock + len never overflows in checked code paths.
constexpr uint32_t kMaxClock = 0x7fffffffu;
// Lamport timestamps of map writes never exceed this, so a peer's op at the bound cannot make
// this replica write ops that others reject.
constexpr uint64_t kMaxLamport = uint64_t{1} << 53;

}  // namespace roomsync
