// Sticky positions (Yjs: relative positions): a place in a sequence root (Text, List) tied to
// an element rather than to a number, so it keeps its place while peers edit around it. Remote
// cursors and selections are kept this way. Doc::sticky_index makes one, Doc::resolve_sticky
// turns it back into the current index (see doc.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "crdt/doc.h"

namespace roomsync {

struct Sticky {
  // The root it belongs to, by type and name (as Doc::root names roots): an anchor made in
  // one root never resolves in another.
  RootType type = RootType::Text;
  std::string name;
  // The element: its author's global client id (never a document-local index, so the anchor
  // means the same on every replica) and clock. Without one, the anchor is the start
  // (assoc < 0) or the end (assoc >= 0) of the root.
  bool has_element = false;
  ClientId client = 0;
  uint32_t clock = 0;
  // >= 0: the place just before the element (text inserted there ends up before the anchor,
  // which moves on with the element); < 0: the place just after it (text inserted there ends
  // up after the anchor).
  int assoc = 0;
};

// Whether roots of this type are sequences (a TextTree) that sticky positions work on.
bool is_sequence_root(RootType type);
// The name anchors give a sequence root type ("text"), or nullptr for other types; and back.
const char* sequence_type_name(RootType type);
bool sequence_type_of(std::string_view name, RootType* out);

}  // namespace roomsync
