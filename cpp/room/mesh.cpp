#include "room/mesh.h"

#include <algorithm>
#include <utility>

#include "room/rng.h"

namespace roomsync::room {

MeshGraph mesh_graph(const std::vector<std::string>& all, uint32_t max_direct) {
  if (max_direct < 2) max_direct = 2;
  const uint64_t n = all.size();
  MeshGraph g(n);
  if (n <= uint64_t{max_direct} + 1) {  // full mesh
    for (uint32_t i = 0; i < n; ++i)
      for (uint32_t j = 0; j < n; ++j)
        if (i != j) g[i].push_back(j);
    return g;
  }
  // Ring order by hash, so neighbours do not follow id patterns (e.g. sequential ids).
  std::vector<std::pair<uint64_t, uint32_t>> ring;
  ring.reserve(n);
  for (uint32_t i = 0; i < n; ++i) ring.emplace_back(fnv1a64(all[i]), i);
  std::sort(ring.begin(), ring.end());  // ties: by index, i.e. by id

  const uint32_t k = max_direct / 2;
  uint64_t s = 2;  // smallest s with s^k >= n
  for (;; ++s) {
    uint64_t p = 1;
    for (uint32_t i = 0; i < k && p < n; ++i) p *= s;
    if (p >= n) break;
  }
  // Offsets d and n - d give the same edges; keep them in (0, n/2].
  std::vector<uint64_t> offsets;
  auto add = [&](uint64_t d) {
    d %= n;
    if (d == 0) return;
    if (d > n / 2) d = n - d;
    if (std::find(offsets.begin(), offsets.end(), d) == offsets.end()) offsets.push_back(d);
  };
  uint64_t d = 1;
  for (uint32_t i = 0; i < k; ++i, d *= s) add(d);
  for (uint64_t extra = 2; offsets.size() < k && extra <= n / 2; ++extra) add(extra);

  for (uint64_t pos = 0; pos < n; ++pos) {
    auto& adj = g[ring[pos].second];
    for (uint64_t off : offsets) {
      adj.push_back(ring[(pos + off) % n].second);
      adj.push_back(ring[(pos + n - off) % n].second);
    }
    std::sort(adj.begin(), adj.end());
    adj.erase(std::unique(adj.begin(), adj.end()), adj.end());
  }
  return g;
}

std::vector<std::string> choose_neighbors(const std::string& self, const std::vector<std::string>& members,
                                          uint32_t max_direct) {
  std::vector<std::string> all = members;
  all.push_back(self);
  std::sort(all.begin(), all.end());
  const uint32_t me = static_cast<uint32_t>(std::lower_bound(all.begin(), all.end(), self) - all.begin());
  const MeshGraph g = mesh_graph(all, max_direct);
  std::vector<std::string> out;
  for (uint32_t j : g[me]) out.push_back(all[j]);
  return out;
}

std::vector<uint32_t> tree_children(const MeshGraph& g, uint32_t origin, uint32_t self) {
  std::vector<uint32_t> parent(g.size(), UINT32_MAX), queue{origin}, out;
  parent[origin] = origin;
  for (size_t qi = 0; qi < queue.size(); ++qi) {
    const uint32_t u = queue[qi];
    for (uint32_t v : g[u]) {
      if (parent[v] != UINT32_MAX) continue;
      parent[v] = u;
      queue.push_back(v);
      if (u == self) out.push_back(v);
    }
  }
  return out;
}

}  // namespace roomsync::room
