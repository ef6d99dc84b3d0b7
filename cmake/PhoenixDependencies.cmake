# Finds every third-party library Phoenix uses. All of them come from Debian 12
# packages (deploy/install-deps.sh); nothing is vendored or downloaded at build time.
find_package(Threads REQUIRED)
find_package(CAF 0.17.6 REQUIRED)
find_package(RdKafka 2.0.2 REQUIRED)
find_package(SQLite3 3.40 REQUIRED)
find_package(Pqxx 6.4 REQUIRED)
find_package(spdlog 1.10 REQUIRED)
find_package(tomlplusplus 3.3 REQUIRED)
find_package(CLI11 2.1 REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(prometheus-cpp REQUIRED) # Debian ships no version file; 1.0.1
find_package(OpenSSL 3 REQUIRED)
# Debian builds cpp-httplib 0.11 as a library with OpenSSL, zlib and brotli; its
# pkg-config file carries the matching CPPHTTPLIB_* definitions.
find_package(PkgConfig REQUIRED)
pkg_check_modules(CPP_HTTPLIB REQUIRED IMPORTED_TARGET GLOBAL cpp-httplib>=0.11)
add_library(CppHttplib::httplib ALIAS PkgConfig::CPP_HTTPLIB)
# hiredis 0.14 (libhiredis-dev): the Redis backend of the tenant rate limits.
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET GLOBAL hiredis>=0.14)
add_library(Hiredis::hiredis ALIAS PkgConfig::HIREDIS)
# jemalloc 5.3 (libjemalloc-dev): the phoenix executable's malloc, unless
# PHOENIX_ALLOCATOR=system.
if(PHOENIX_ALLOCATOR STREQUAL "jemalloc")
  pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET GLOBAL jemalloc>=5.3)
endif()
if(PHOENIX_ENABLE_TESTS)
  find_package(GTest 1.12 REQUIRED)
endif()
