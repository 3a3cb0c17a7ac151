// UTF-8 (WTF-8: lone surrogates allowed, as JS strings allow them) <-> UTF-16.
#pragma once

#include <string>
#include <string_view>

namespace roomsync {

// Strict: rejects overlong forms, values above U+10FFFF and encoded surrogate pairs
// (a pair must be encoded as one 4-byte sequence). Returns false on invalid input.
bool wtf8_to_utf16(std::string_view in, std::u16string* out);
void utf16_to_wtf8(std::u16string_view in, std::string* out);

inline bool is_high_surrogate(char16_t c) { return c >= 0xD800 && c <= 0xDBFF; }
inline bool is_low_surrogate(char16_t c) { return c >= 0xDC00 && c <= 0xDFFF; }

}  // namespace roomsync
