#include "phoenix/runtime/allocator.hpp"

#include <cstddef>
#include <dlfcn.h>
#include <gnu/libc-version.h>

namespace phoenix::runtime {

std::string allocator_name() {
  // Looked up rather than called, so that this works (and this library links) without
  // jemalloc, and sees one that LD_PRELOAD loaded.
  using mallctl_fn = int (*)(const char*, void*, std::size_t*, void*, std::size_t);
  if (auto* mallctl = reinterpret_cast<mallctl_fn>(dlsym(RTLD_DEFAULT, "mallctl"))) {
    const char* version = nullptr;
    std::size_t size = sizeof version;
    if (mallctl("version", &version, &size, nullptr, 0) != 0 || version == nullptr)
      return "jemalloc";
    std::string v = version; // "5.3.0-0-g<commit>"
    return "jemalloc " + v.substr(0, v.find('-'));
  }
  return std::string{"glibc "} + gnu_get_libc_version();
}

} // namespace phoenix::runtime
