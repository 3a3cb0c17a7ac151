#include "codec/json_text.h"

#include <cstdint>
#include <vector>

// A syntax check, not a parser: it builds nothing. nlohmann::json::accept did this job until its
// templated parser turned out to be 16.6 KB of the 109 KB gzipped wasm (the whole module's
// budget is 150 KB with its JS); the native tests keep nlohmann as the oracle this check is
// compared with (tests/cpp/json_text_test.cpp). Nesting uses an explicit stack: the wasm stack is
// 256 KiB and values come from the network.

namespace roomsync {

namespace {

class Checker {
 public:
  explicit Checker(std::string_view t) : p_(reinterpret_cast<const uint8_t*>(t.data())), end_(p_ + t.size()) {}

  bool document() {
    space();
    if (!value()) return false;
    space();
    return p_ == end_;
  }

 private:
  // One value; containers are walked iteratively with `open_` holding '[' or '{' per level.
  bool value() {
    for (;;) {
      if (p_ == end_) return false;
      const uint8_t c = *p_;
      if (c == '[' || c == '{') {
        ++p_;
        space();
        if (p_ != end_ && *p_ == (c == '[' ? ']' : '}')) {
          ++p_;
        } else {
          open_.push_back(c);
          if (c == '{' && !key()) return false;
          continue;  // the first element
        }
      } else if (!scalar()) {
        return false;
      }
      // After a value: close containers or move on to the next element.
      for (;;) {
        if (open_.empty()) return true;
        space();
        if (p_ == end_) return false;
        const uint8_t close = open_.back() == '[' ? ']' : '}';
        if (*p_ == close) {
          ++p_;
          open_.pop_back();
          continue;
        }
        if (*p_ != ',') return false;
        ++p_;
        space();
        if (open_.back() == '{' && !key()) return false;
        break;  // the next element
      }
    }
  }

  // `"name" :` inside an object, with the whitespace after it.
  bool key() {
    if (p_ == end_ || *p_ != '"' || !string()) return false;
    space();
    if (p_ == end_ || *p_ != ':') return false;
    ++p_;
    space();
    return true;
  }

  bool scalar() {
    switch (*p_) {
      case '"': return string();
      case 't': return word("true");
      case 'f': return word("false");
      case 'n': return word("null");
      default: return number();
    }
  }

  bool word(const char* w) {
    for (; *w; ++w, ++p_)
      if (p_ == end_ || *p_ != static_cast<uint8_t>(*w)) return false;
    return true;
  }

  bool digits() {  // one or more
    const uint8_t* start = p_;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    return p_ != start;
  }

  bool number() {
    if (p_ != end_ && *p_ == '-') ++p_;
    if (p_ == end_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (!digits()) {
      return false;
    }
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (!digits()) return false;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!digits()) return false;
    }
    return true;
  }

  static bool hex(uint8_t c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }

  // A string from its opening quote. Any \uXXXX is accepted, lone surrogates too (JSON's grammar
  // allows them and JSON.stringify writes them for JS strings that hold one); raw bytes must be
  // well-formed UTF-8 (RFC 3629: no overlong forms, no encoded surrogates, nothing past U+10FFFF).
  bool string() {
    ++p_;
    for (;;) {
      if (p_ == end_) return false;
      const uint8_t c = *p_++;
      if (c == '"') return true;
      if (c < 0x20) return false;
      if (c == '\\') {
        if (p_ == end_) return false;
        const uint8_t e = *p_++;
        if (e == 'u') {
          for (int i = 0; i < 4; ++i, ++p_)
            if (p_ == end_ || !hex(*p_)) return false;
        } else if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' && e != 't') {
          return false;
        }
      } else if (c >= 0x80 && !utf8_tail(c)) {
        return false;
      }
    }
  }

  bool utf8_tail(uint8_t lead) {
    int n;
    uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the first continuation byte
    if (lead >= 0xC2 && lead <= 0xDF) n = 1;
    else if (lead >= 0xE0 && lead <= 0xEF) {
      n = 2;
      if (lead == 0xE0) lo = 0xA0;
      if (lead == 0xED) hi = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      n = 3;
      if (lead == 0xF0) lo = 0x90;
      if (lead == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    for (int i = 0; i < n; ++i, ++p_) {
      if (p_ == end_) return false;
      const uint8_t b = *p_;
      if (i == 0 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return false;
    }
    return true;
  }

  void space() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }

  const uint8_t* p_;
  const uint8_t* end_;
  std::vector<uint8_t> open_;
};

}  // namespace

bool is_json_value(std::string_view text) { return Checker(text).document(); }

}  // namespace roomsync
