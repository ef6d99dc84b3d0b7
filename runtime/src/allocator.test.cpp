#include "phoenix/runtime/allocator.hpp"

#include <cstdlib>
#include <gtest/gtest.h>
#include <string>

namespace {

// Unit tests link no allocator of their own (only the phoenix executable does; its
// --version test in app/CMakeLists.txt checks that one), so this process runs on glibc's
// malloc unless a run preloads another, which the name must then report.
TEST(allocator, names_the_malloc_in_use) {
  auto name = phoenix::runtime::allocator_name();
  const char* preload = std::getenv("LD_PRELOAD");
  if (preload != nullptr && std::string{preload}.find("jemalloc") != std::string::npos)
    EXPECT_EQ(name.rfind("jemalloc 5.", 0), 0u) << name;
  else
    EXPECT_EQ(name.rfind("glibc 2.", 0), 0u) << name;
}

} // namespace
