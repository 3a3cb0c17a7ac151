// Builds the Quill-style delta of a transaction by composing its changes one at a time.
#pragma once

#include <string_view>
#include <vector>

#include "crdt/doc.h"

namespace roomsync {

using Delta = std::vector<TextDeltaOp>;

// Positions are in the document as it is after the changes already composed into `d`.
void delta_insert(Delta& d, uint32_t pos, std::u16string_view text);
void delta_delete(Delta& d, uint32_t pos, uint32_t len);

}  // namespace roomsync
