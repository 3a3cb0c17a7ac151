// The JSON form of a sticky position, the same object the JS API hands out (js/index.d.ts,
// StickyIndex), so that anchors travel in presence or storage between JS and C++ peers:
//   {"t":"text","r":<root name>,"c":<client id>,"k":<clock>,"a":0 or -1}
// "c" and "k" are absent for the start (a: -1) or end (a: 0) of the root.
#pragma once

#include <string>
#include <string_view>

#include "crdt/sticky.h"

namespace roomsync {

std::string sticky_to_json(const Sticky& s);
// Every field is checked: malformed JSON or a field of the wrong type is kInvalid, a number
// out of range kRange; *out is untouched on failure. Other members are ignored.
Status sticky_from_json(std::string_view json, Sticky* out);

}  // namespace roomsync
