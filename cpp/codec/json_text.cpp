#include "codec/json_text.h"

#include <nlohmann/json.hpp>
#include <string>

namespace roomsync {

namespace {

bool surrogate_escape(std::string_view hex) {
  unsigned v = 0;
  for (char c : hex) {
    unsigned d;
    if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') d = static_cast<unsigned>(c - 'A' + 10);
    else return false;  // not an escape; the parser refuses it
    v = v * 16 + d;
  }
  return v >= 0xD800 && v <= 0xDFFF;
}

}  // namespace

bool is_json_value(std::string_view text) {
  // nlohmann refuses unpaired surrogate escapes, so those are checked against a copy in which
  // each surrogate escape stands for a plain character: the syntax is the same. Texts without
  // them (nearly all) are parsed as they are.
  std::string copy;
  bool copied = false;
  for (size_t i = text.find('\\'); i != std::string_view::npos && i + 1 < text.size();
       i = text.find('\\', i + 2)) {  // i + 2 skips the escaped character, "\\" included
    if (text[i + 1] != 'u' || i + 6 > text.size() || !surrogate_escape(text.substr(i + 2, 4))) continue;
    if (!copied) {
      copy.assign(text);
      copied = true;
    }
    copy.replace(i + 2, 4, "0041");
  }
  return copied ? nlohmann::json::accept(copy) : nlohmann::json::accept(text);
}

}  // namespace roomsync
