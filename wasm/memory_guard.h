// The WebAssembly module's memory guard: running out of memory becomes an error, not an abort.
//
// The core is built without exceptions, so an allocation that fails half-way through a call
// cannot be undone: operator new aborts the module, and every document in it is lost. So each
// call that can allocate much is checked *before* it touches anything: it may run only when the
// heap in use plus what the call may need stays within a soft limit. What a call may need is
// bounded from above (its input, times the worst expansion of that input; plus twice the
// document's own size, since any of its containers may double during the call). The soft limit
// stays a headroom below the module's hard ceiling (4 GiB), which absorbs what small unchecked
// allocations add afterwards. Apps and tests may lower the limit (setMemoryLimit in JS).
#pragma once

#include <cstddef>

namespace roomsync { class Doc; }

namespace rs_memory {

// 0 when a call on `doc` (may be null) with `input_bytes` of input, which the call may expand up
// to `factor` times, fits within the limit; else the bytes it may need. Cheap (no heap walk)
// while the heap is below a third of the limit.
size_t refused(const roomsync::Doc* doc, size_t input_bytes, size_t factor);

// For roomsync::set_memory_check: whether `bytes` more fit (else remembered for last_need()).
bool available(size_t bytes);
size_t last_need();

size_t limit();                  // the soft limit in force
size_t set_limit(double bytes);  // <= 0 or above the default: the default; returns the limit
size_t heap_max();               // the hard ceiling
size_t in_use();                 // bytes allocated (walks the heap: not for hot paths)

}  // namespace rs_memory
