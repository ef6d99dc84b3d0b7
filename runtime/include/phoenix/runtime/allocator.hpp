#pragma once

#include <string>

namespace phoenix::runtime {

/// The malloc this process runs on, as "jemalloc 5.3.0" or "glibc 2.36": what the
/// `phoenix` executable links (CMake's PHOENIX_ALLOCATOR), or what LD_PRELOAD put in its
/// place. Shown by `phoenix --version`, logged at node start and written into benchmark
/// reports, since the allocator moves their numbers (bench/README.md).
std::string allocator_name();

} // namespace phoenix::runtime
