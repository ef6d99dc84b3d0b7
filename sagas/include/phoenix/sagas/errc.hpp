#pragma once

#include "phoenix/runtime/error.hpp"

#include <caf/fwd.hpp>
#include <string>
#include <system_error>
#include <type_traits>

namespace phoenix::sagas {

/// Failures of the sagas module. Values start at 200 so that they stay distinct from
/// runtime::errc and persistence::store_errc inside CAF's "phoenix" error category.
enum class errc {
  invalid_definition =
      200,        ///< A saga declaration cannot be registered; the message says why.
  unknown_saga,   ///< No saga with that id (or not of this type).
  bad_message,    ///< A command, reply or stored state cannot be decoded.
  duplicate_saga, ///< A saga with that id was already started.
};

const std::error_category& sagas_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), sagas_category()};
}

inline error make_saga_error(errc e, std::string message) {
  return error{make_error_code(e), std::move(message)};
}

/// True if `err`, received in a CAF response, is the sagas error `e`.
bool is_saga_error(const caf::error& err, errc e);

} // namespace phoenix::sagas

template <>
struct std::is_error_code_enum<phoenix::sagas::errc> : std::true_type {};
