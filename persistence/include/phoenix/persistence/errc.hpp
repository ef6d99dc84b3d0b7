#pragma once

#include "phoenix/runtime/error.hpp"

#include <caf/fwd.hpp>
#include <system_error>
#include <type_traits>

namespace phoenix::persistence {

/// Failures of the store. The values start at 100 so that they stay distinct from
/// runtime::errc once `runtime::to_caf_error` has reduced both to a number in CAF's
/// "phoenix" error category.
enum class store_errc {
  store_unavailable = 100, ///< The database cannot be reached or written (retryable).
  conflict,                ///< A saga's expected version does not match (retryable
                           ///< after reloading), or the database reported a deadlock.
  corrupt,                 ///< The database file or its contents are damaged.
  migration_failed,        ///< The schema could not be brought to this build's version.
  bad_config,              ///< The store configuration cannot be used.
  not_found,               ///< A row the request needs does not exist.
};

const std::error_category& store_category() noexcept;

inline std::error_code make_error_code(store_errc e) noexcept {
  return {static_cast<int>(e), store_category()};
}

/// A phoenix::error with a store code.
inline error make_store_error(store_errc e, std::string message) {
  return error{make_error_code(e), std::move(message)};
}

/// True if `err`, received in a CAF response or exit reason, is the store error `e`
/// (as made by `runtime::to_caf_error`).
bool is_store_error(const caf::error& err, store_errc e);

} // namespace phoenix::persistence

template <>
struct std::is_error_code_enum<phoenix::persistence::store_errc> : std::true_type {};
