# Finds libpqxx (the C++ client for PostgreSQL) through pkg-config (libpqxx.pc).
# Defines Pqxx::pqxx, which brings libpq's include directory along since pqxx's
# headers include libpq-fe.h.
find_package(PkgConfig REQUIRED)
pkg_check_modules(PC_PQXX QUIET libpqxx)
find_path(PQXX_INCLUDE_DIR pqxx/pqxx HINTS ${PC_PQXX_INCLUDE_DIRS})
find_library(PQXX_LIBRARY pqxx HINTS ${PC_PQXX_LIBRARY_DIRS})
set(Pqxx_VERSION "${PC_PQXX_VERSION}")
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Pqxx
  REQUIRED_VARS PQXX_INCLUDE_DIR PQXX_LIBRARY
  VERSION_VAR Pqxx_VERSION)
if(Pqxx_FOUND AND NOT TARGET Pqxx::pqxx)
  add_library(Pqxx::pqxx SHARED IMPORTED)
  set_target_properties(Pqxx::pqxx PROPERTIES
    IMPORTED_LOCATION "${PQXX_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${PQXX_INCLUDE_DIR};${PC_PQXX_INCLUDE_DIRS}")
endif()
