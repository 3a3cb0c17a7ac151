#include "codec/utf.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "crdt/doc.h"

namespace roomsync {

bool wtf8_to_utf16(std::string_view in, std::u16string* out) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(in.data());
  const unsigned char* end = p + in.size();
  // ASCII: nearly all text is, and loading a state converts every insert's text
  // twice. ASCII converts unit for unit, 8 bytes at a time, through a buffer appended at once
  // (cheaper than resizing, which fills); at the first other byte the general loop below takes
  // over, from the start of that chunk.
  char16_t buf[64];
  while (p < end) {
    const size_t lim = std::min<size_t>(end - p, 64);
    size_t m = 0;
    for (uint64_t w; m + 8 <= lim; m += 8) {
      std::memcpy(&w, p + m, 8);
      if (w & 0x8080808080808080u) break;
      for (int b = 0; b < 8; ++b) buf[m + b] = p[m + b];
    }
    for (; m < lim && p[m] < 0x80; ++m) buf[m] = p[m];
    if (m < lim) break;
    out->append(buf, m);
    p += m;
  }
  if (p == end) return true;
  // Written in place, not by push_back (loading decodes every insert's text: issue 8). A
  // UTF-16 string never has more units than its WTF-8 form has bytes.
  const size_t start = out->size();
  out->resize(start + (end - p));
  char16_t* o = out->data() + start;
  bool prev_high = false;  // a 3-byte high surrogate followed by a low one is not WTF-8
  while (p < end) {
    unsigned c = *p;
    if (c < 0x80) {
      *o++ = static_cast<char16_t>(c);
      ++p;
      prev_high = false;
      continue;
    }
    unsigned n, cp, min;
    if ((c & 0xE0) == 0xC0) { n = 1; cp = c & 0x1F; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { n = 2; cp = c & 0x0F; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { n = 3; cp = c & 0x07; min = 0x10000; }
    else return false;
    if (static_cast<size_t>(end - p) <= n) {
      if (static_cast<size_t>(end - p) < n + 1) return false;
    }
    for (unsigned i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF) return false;
    p += n + 1;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      *o++ = static_cast<char16_t>(0xD800 + (cp >> 10));
      *o++ = static_cast<char16_t>(0xDC00 + (cp & 0x3FF));
      prev_high = false;
    } else {
      char16_t u = static_cast<char16_t>(cp);
      if (prev_high && is_low_surrogate(u)) return false;
      prev_high = is_high_surrogate(u);
      *o++ = u;
    }
  }
  out->resize(static_cast<size_t>(o - out->data()));
  return true;
}

void utf16_to_wtf8(std::u16string_view in, std::string* out) {
  out->reserve(out->size() + in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    unsigned c = in[i];
    if (c < 0x80) {
      out->push_back(static_cast<char>(c));
      continue;
    }
    if (is_high_surrogate(static_cast<char16_t>(c)) && i + 1 < in.size() &&
        is_low_surrogate(in[i + 1])) {
      c = 0x10000 + ((c - 0xD800) << 10) + (in[i + 1] - 0xDC00);
      ++i;
    }
    if (c < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    } else if (c < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (c >> 12)));
      out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (c >> 18)));
      out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    }
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::u16string utf8_to_utf16(std::string_view s) {
  std::u16string out;
  out.reserve(s.size());
  if (!wtf8_to_utf16(s, &out)) out.clear();
  return out;
}

std::string utf16_to_utf8(std::u16string_view s) {
  std::string out;
  utf16_to_wtf8(s, &out);
  return out;
}

}  // namespace roomsync
