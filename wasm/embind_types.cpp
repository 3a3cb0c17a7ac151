// The embind types this module's bindings use, registered at start-up: our replacement for
// Emscripten's system/lib/embind/bind.cpp, which CMakeLists.txt does not link (-1,445 B gzip).
//
// bind.cpp registers every builtin type (std::wstring, u16/u32string, 64-bit integers, float,
// twenty memory_view<T>), and each registration pulls its JS half (UTF-16/UTF-32 decoders,
// typed-array views, BigInt conversions) into the glue. DocHandle (wasm/bindings.cpp) only
// passes the types below. The link takes embind's JS libraries instead of -lembind (which
// would link bind.cpp whole), so this file defines bind.cpp's two symbols. A binding that
// passes a type missing here fails when it is called, with embind's "due to unbound types"
// error: add the type to the list (emscripten::val would also need emval.js in the link).
#include <emscripten/bind.h>
#include <emscripten/emscripten.h>

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>

using namespace emscripten::internal;

namespace {
template <typename T> void register_integer(const char* name) {
  _embind_register_integer(TypeID<T>::get(), name, sizeof(T), std::numeric_limits<T>::min(),
                           std::numeric_limits<T>::max());
}
}  // namespace

extern "C" {

// What embind's JS prints for a type it cannot name (its unbound-type errors): the type's id
// in hex. The caller frees the string.
EMSCRIPTEN_KEEPALIVE const char* __getTypeName(const void* type) {
  char* s = static_cast<char*>(std::malloc(11));
  if (!s) return nullptr;
  uintptr_t v = reinterpret_cast<uintptr_t>(type);
  s[0] = '0';
  s[1] = 'x';
  for (int i = 0; i < 8; ++i) s[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 15];
  s[10] = 0;
  return s;
}

__attribute__((constructor)) void __embind_register_native_and_builtin_types() {
  _embind_register_void(TypeID<void>::get(), "void");
  _embind_register_bool(TypeID<bool>::get(), "bool", sizeof(bool), true, false);
  register_integer<int>("int");
  register_integer<unsigned int>("unsigned int");
  register_integer<unsigned long>("unsigned long");  // uintptr_t, size_t
  _embind_register_float(TypeID<double>::get(), "double", sizeof(double));
  _embind_register_std_string(TypeID<std::string>::get(), "std::string");
}

}  // extern "C"
