// CRC-32 of the room frames (frame.h). Its own file so that the wasm build can compile it for
// speed while the rest of the room core is compiled for size (CMakeLists.txt): every byte of a
// sync reply or an action is checksummed twice (send, receive).
#include <array>

#include "room/frame.h"

namespace roomsync::room {

namespace {

// CRC-32 (IEEE, reflected), slicing-by-8: t[k][b] is the CRC of byte b followed by k zero bytes,
// so eight bytes take one step (~2.3x fewer instructions than a byte at a time). Built at first
// use: 8 KiB of memory, no data in the binary.
using CrcTables = std::array<std::array<uint32_t, 256>, 8>;

CrcTables make_crc_tables() {
  CrcTables t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i)
    for (size_t k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
  return t;
}

uint32_t load32le(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

}  // namespace

uint32_t crc32(const uint8_t* p, size_t n) {
  static const CrcTables t = make_crc_tables();
  uint32_t c = 0xffffffffu;
  for (; n >= 8; p += 8, n -= 8) {
    const uint32_t lo = load32le(p) ^ c, hi = load32le(p + 4);
    c = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
        t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
  }
  for (; n > 0; ++p, --n) c = t[0][(c ^ *p) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

}  // namespace roomsync::room
