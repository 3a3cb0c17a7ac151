// Which peers to keep a direct connection to. Up to `max_direct` other peers: everyone (full
// mesh). Beyond: a circulant graph over a ring ordered by a stable hash of the peer ids, with
// offsets 1, s, s^2, ... (s^k >= n, k = max_direct / 2). Every peer computes the same graph
// from the same member list, each has at most max_direct neighbours, the offset-1 ring keeps it
// connected, and the chords keep its diameter around k * s hops.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace roomsync::room {

// `members`: the other peers (any order, no duplicates, without self). Returns self's
// neighbours, sorted by id.
std::vector<std::string> choose_neighbors(const std::string& self, const std::vector<std::string>& members,
                                          uint32_t max_direct);

}  // namespace roomsync::room
