// The frames' CRC-32 (cpp/room/crc32.cpp, slicing-by-8) equals the plain byte-at-a-time CRC-32
// (IEEE) at every length and alignment: a different value would change the wire format.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "room/frame.h"

namespace {
uint32_t bytewise_crc32(const uint8_t* p, size_t n) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xffffffffu;
}
}  // namespace

TEST_CASE("room frame crc32: known value, every length and alignment", "[room][frame]") {
  const char* check = "123456789";
  CHECK(roomsync::room::crc32(reinterpret_cast<const uint8_t*>(check), 9) == 0xcbf43926u);
  CHECK(roomsync::room::crc32(nullptr, 0) == 0u);
  std::vector<uint8_t> buf(300);
  uint32_t x = 12345;
  for (auto& b : buf) {
    x = x * 1103515245u + 12345u;
    b = static_cast<uint8_t>(x >> 16);
  }
  for (size_t off = 0; off < 8; ++off)
    for (size_t n = 0; off + n <= buf.size(); ++n) {
      INFO("offset " << off << " length " << n);
      REQUIRE(roomsync::room::crc32(buf.data() + off, n) == bytewise_crc32(buf.data() + off, n));
    }
}
