// Validation of the JSON texts that maps and registers hold.
#pragma once

#include <string_view>

namespace roomsync {

// Whether `text` is exactly one JSON value (RFC 8259), in UTF-8. Unlike nlohmann's parser this
// accepts \u escapes of lone surrogates ("\ud800"): JSON's grammar allows any \uXXXX, and
// JSON.stringify writes them for JS strings that hold a lone surrogate.
bool is_json_value(std::string_view text);

}  // namespace roomsync
