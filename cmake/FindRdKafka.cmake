# Finds librdkafka (C API, including rdkafka_mock.h) through pkg-config.
# Defines RdKafka::rdkafka.
find_package(PkgConfig REQUIRED)
pkg_check_modules(PC_RDKAFKA QUIET rdkafka)
find_path(RDKAFKA_INCLUDE_DIR librdkafka/rdkafka_mock.h HINTS ${PC_RDKAFKA_INCLUDE_DIRS})
find_library(RDKAFKA_LIBRARY rdkafka HINTS ${PC_RDKAFKA_LIBRARY_DIRS})
set(RdKafka_VERSION "${PC_RDKAFKA_VERSION}")
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(RdKafka
  REQUIRED_VARS RDKAFKA_INCLUDE_DIR RDKAFKA_LIBRARY
  VERSION_VAR RdKafka_VERSION)
if(RdKafka_FOUND AND NOT TARGET RdKafka::rdkafka)
  add_library(RdKafka::rdkafka SHARED IMPORTED)
  set_target_properties(RdKafka::rdkafka PROPERTIES
    IMPORTED_LOCATION "${RDKAFKA_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${RDKAFKA_INCLUDE_DIR}")
endif()
