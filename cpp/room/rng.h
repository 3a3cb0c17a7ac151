// Deterministic helpers for the room core: a seeded PRNG and a stable string hash.
// Both are defined bit for bit here (no std::hash, no std::random) so a native build and the
// WebAssembly build (32-bit size_t, another standard library) draw the very same numbers.
#pragma once

#include <cstdint>
#include <string_view>

namespace roomsync::room {

// splitmix64: tiny, fast, good enough for ids, jitter and gossip choices (not for secrets).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform-enough in [0, n) for small n (n > 0).
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }

 private:
  uint64_t state_;
};

// FNV-1a, 64 bit: stable across platforms, used for ring positions and seeds.
inline uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace roomsync::room
