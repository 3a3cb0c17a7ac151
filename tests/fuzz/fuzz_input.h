// Shared by the libFuzzer harnesses: reading the fuzzer's bytes as a script (missing bytes read
// as 0, so every input is a valid script), and aborting with a message when an invariant breaks.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace roomsync::fuzz {

[[noreturn]] inline void fail(const char* harness, const char* what, const std::string& detail = "") {
  std::fprintf(stderr, "\nroomsync %s fuzz invariant violated: %s %s\n", harness, what, detail.c_str());
  std::fflush(stderr);
  std::abort();
}

class Input {
 public:
  Input(const uint8_t* d, size_t n) : d_(d), n_(n) {}
  bool more() const { return i_ < n_; }
  uint8_t byte() { return i_ < n_ ? d_[i_++] : 0; }
  uint32_t u16() { return byte() | (uint32_t{byte()} << 8); }
  std::vector<uint8_t> bytes(size_t n) {
    n = std::min(n, n_ - i_);
    std::vector<uint8_t> v(d_ + i_, d_ + i_ + n);
    i_ += n;
    return v;
  }

 private:
  const uint8_t* d_;
  size_t n_, i_ = 0;
};

}  // namespace roomsync::fuzz
