// Which peers to keep a direct connection to. Up to `max_direct` other peers: everyone (full
// mesh). Beyond: a circulant graph over a ring ordered by a stable hash of the peer ids, with
// offsets 1, s, s^2, ... (s^k >= n, k = max_direct / 2). Every peer computes the same graph
// from the same member list, each has at most max_direct neighbours, the offset-1 ring keeps it
// connected, and the chords keep its diameter around k * s hops.
//
// Because every peer can compute the whole graph, gossip needs no flooding when views agree:
// a message from `origin` follows the breadth-first tree rooted at `origin` (tree_children),
// so each member gets it exactly once (n - 1 frames).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace roomsync::room {

// `members`: the other peers (any order, no duplicates, without self). Returns self's
// neighbours, sorted by id.
std::vector<std::string> choose_neighbors(const std::string& self, const std::vector<std::string>& members,
                                          uint32_t max_direct);

// The whole mesh of `all` (every member, self included; sorted, no duplicates): for each
// index, its neighbours' indices, ascending.
using MeshGraph = std::vector<std::vector<uint32_t>>;
MeshGraph mesh_graph(const std::vector<std::string>& all, uint32_t max_direct);

// The children of `self` in the breadth-first tree of `g` rooted at `origin` (a node's parent
// is the first node, in BFS order visiting neighbours by ascending index, that reaches it).
std::vector<uint32_t> tree_children(const MeshGraph& g, uint32_t origin, uint32_t self);

}  // namespace roomsync::room
