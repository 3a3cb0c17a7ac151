// See memory_guard.h.
#include "memory_guard.h"

#include <emscripten/heap.h>
#include <malloc.h>

#include <cstdint>

#include "crdt/doc.h"

namespace rs_memory {
namespace {

constexpr size_t kMiB = size_t{1} << 20;
// Between the soft limit and the hard ceiling: what unchecked small allocations (and heap
// fragmentation) may add after a checked call.
constexpr size_t kHeadroom = 128 * kMiB;
// Every checked call may need this much besides its input (events, update bytes, scratch).
constexpr size_t kSlack = 1 * kMiB;

size_t g_limit = 0;  // 0: not set yet (the default)
size_t g_last_need = 0;
// The heap walk (mallinfo) is slow: its result serves later calls while what they may have
// allocated since, added up, still fits.
size_t g_walk_used = 0;
size_t g_since_walk = SIZE_MAX;  // SIZE_MAX: no walk to go by

size_t default_limit() {
  // emscripten_get_heap_max() is a call into JS: once, not on every edit.
  static const size_t def = heap_max() > 2 * kHeadroom ? heap_max() - kHeadroom : heap_max() / 2;
  return def;
}

// What sbrk(0) returns, without its bookkeeping (B4, issue 8: every edit asks).
size_t top() { return *emscripten_get_sbrk_ptr(); }

// a + b, saturated (sizes are 32-bit here).
size_t add(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }
size_t mul(size_t a, size_t b) { return b != 0 && a > SIZE_MAX / b ? SIZE_MAX : a * b; }

}  // namespace

size_t heap_max() { return emscripten_get_heap_max(); }
size_t limit() {
  if (g_limit == 0) g_limit = default_limit();
  return g_limit;
}

size_t set_limit(double bytes) {
  size_t def = default_limit();
  g_limit = bytes <= 0 || bytes >= static_cast<double>(def) ? def : static_cast<size_t>(bytes);
  return g_limit;
}

size_t in_use() { return mallinfo().uordblks; }

bool available(size_t bytes) {
  g_last_need = refused(nullptr, bytes, 1);
  return g_last_need == 0;
}
size_t last_need() { return g_last_need; }

size_t refused(const roomsync::Doc* doc, size_t input_bytes, size_t factor) {
  const size_t lim = limit();
  size_t need = add(kSlack, mul(input_bytes, factor));
  // The document is at most the whole heap, so a heap below a third of what is left can take
  // any doubling of it: skip measuring the document (the hot path of small edits).
  const size_t t = top();
  if (need < lim && mul(t, 3) <= lim - need) return 0;
  if (doc) need = add(need, mul(doc->memory_bytes(), 2));
  if (need < lim && t <= lim - need) return 0;
  // Free chunks below the top (destroyed documents) count too: that needs a heap walk.
  if (g_since_walk != SIZE_MAX && add(add(g_walk_used, g_since_walk), need) <= lim) {
    g_since_walk = add(g_since_walk, need);
    return 0;
  }
  g_walk_used = in_use();
  g_since_walk = 0;
  if (need < lim && g_walk_used <= lim - need) {
    g_since_walk = need;
    return 0;
  }
  return need;
}

}  // namespace rs_memory
