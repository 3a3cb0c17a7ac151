#include "room/mesh.h"

#include <algorithm>
#include <utility>

#include "room/rng.h"

namespace roomsync::room {

std::vector<std::string> choose_neighbors(const std::string& self, const std::vector<std::string>& members,
                                          uint32_t max_direct) {
  if (max_direct < 2) max_direct = 2;
  std::vector<std::string> out;
  if (members.size() <= max_direct) {
    out = members;
    std::sort(out.begin(), out.end());
    return out;
  }
  // Ring order by hash, so neighbours do not follow id patterns (e.g. sequential ids).
  std::vector<std::pair<uint64_t, const std::string*>> ring;
  ring.reserve(members.size() + 1);
  ring.emplace_back(fnv1a64(self), &self);
  for (const auto& m : members) ring.emplace_back(fnv1a64(m), &m);
  std::sort(ring.begin(), ring.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : *a.second < *b.second;
  });
  const uint64_t n = ring.size();
  uint64_t pos = 0;
  while (ring[pos].second != &self) ++pos;

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
    if (d == 0) return false;
    if (d > n / 2) d = n - d;
    if (std::find(offsets.begin(), offsets.end(), d) != offsets.end()) return false;
    offsets.push_back(d);
    return true;
  };
  uint64_t d = 1;
  for (uint32_t i = 0; i < k; ++i, d *= s) add(d);
  for (uint64_t extra = 2; offsets.size() < k && extra <= n / 2; ++extra) add(extra);

  for (uint64_t off : offsets) {
    out.push_back(*ring[(pos + off) % n].second);
    out.push_back(*ring[(pos + n - off) % n].second);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace roomsync::room
