// LEB128 varints and a bounds-checked reader for untrusted bytes.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace roomsync {

class ByteWriter {
 public:
  ByteWriter() = default;
  // Writes into `buf` (cleared), keeping its capacity: for reused scratch buffers.
  explicit ByteWriter(std::vector<uint8_t>&& buf) : out_(std::move(buf)) { out_.clear(); }
  void byte(uint8_t b) { out_.push_back(b); }
  // Not inlined (issue 8): every inlined copy carried a push_back; a call costs little here.
  [[gnu::noinline]] void varint(uint64_t v) {
    if (v < 0x80) {  // most varints are one byte
      out_.push_back(static_cast<uint8_t>(v));
      return;
    }
    while (v >= 0x80) {
      out_.push_back(static_cast<uint8_t>(v) | 0x80);
      v >>= 7;
    }
    out_.push_back(static_cast<uint8_t>(v));
  }
  void zigzag(int64_t v) {
    varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  void bytes(const void* p, size_t n) {
    const uint8_t* b = static_cast<const uint8_t*>(p);
    out_.insert(out_.end(), b, b + n);
  }
  void string(std::string_view s) {
    varint(s.size());
    bytes(s.data(), s.size());
  }
  // Compact updates: a 53-bit client id in 7 bytes, little-endian (a varint
  // takes 8 for a random one).
  [[gnu::noinline]] void client7(uint64_t id) {
    uint8_t b[7];
    for (int i = 0; i < 7; ++i) b[i] = static_cast<uint8_t>(id >> (8 * i));
    bytes(b, 7);
  }
  std::vector<uint8_t>& buffer() { return out_; }
  std::vector<uint8_t> take() { return std::move(out_); }

 private:
  std::vector<uint8_t> out_;
};

// Every read checks bounds; the first failure is remembered with what was being read, and
// later reads return zeros, so decoders check ok() at natural points instead of after each call.
class ByteReader {
 public:
  ByteReader(const uint8_t* p, size_t n) : p_(p), end_(p + n) {}

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  void fail(std::string what) {
    if (error_.empty()) error_ = std::move(what);
    p_ = end_;
  }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  bool at_end() const { return p_ == end_; }

  uint8_t byte(const char* what) {
    if (p_ == end_) {
      fail(std::string("truncated: expected ") + what);
      return 0;
    }
    return *p_++;
  }
  uint64_t varint(const char* what) {
    if (p_ != end_ && *p_ < 0x80) return *p_++;  // merge speed (issue 8): most are one byte
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) {
        fail(std::string("truncated varint in ") + what);
        return 0;
      }
      uint8_t b = *p_++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail(std::string("varint too long in ") + what);
    return 0;
  }
  // A varint that must be <= max.
  uint64_t bounded(const char* what, uint64_t max) {
    if (p_ != end_ && *p_ < 0x80 && *p_ <= max) return *p_++;  // merge speed (issue 8)
    uint64_t v = varint(what);
    if (ok() && v > max) {
      fail(std::string(what) + " out of range (" + std::to_string(v) + " > " + std::to_string(max) + ")");
      return 0;
    }
    return v;
  }
  int64_t zigzag(const char* what) {
    uint64_t v = varint(what);
    return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
  }
  // The next `n` bytes.
  std::string_view raw(uint64_t n, const char* what) {
    if (n > remaining()) {
      fail(std::string("truncated: ") + what);
      return {};
    }
    std::string_view s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return s;
  }
  [[gnu::noinline]] uint64_t client7(const char* what) {
    uint64_t v = 0;
    const char* b = raw(7, what).data();  // null when truncated
    if (b && std::endian::native == std::endian::little) std::memcpy(&v, b, 7);  // one load
    else
      for (int i = 0; b && i < 7; ++i) v |= uint64_t{static_cast<uint8_t>(b[i])} << (8 * i);
    return v;
  }
  // A length-prefixed byte string; the length can never exceed what is left.
  std::string_view string(const char* what) {
    uint64_t n = varint(what);
    if (!ok()) return {};
    if (n > remaining()) {
      fail(std::string("truncated: ") + what + " claims " + std::to_string(n) + " bytes, " +
           std::to_string(remaining()) + " left");
      return {};
    }
    std::string_view s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return s;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  std::string error_;
};

}  // namespace roomsync
