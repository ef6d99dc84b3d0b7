#pragma once

// Helpers shared by the backends (private to the persistence module).

#include "phoenix/persistence/errc.hpp"
#include "phoenix/persistence/types.hpp"

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace phoenix::persistence::detail {

/// Thrown inside a backend only, and turned into a result at its public functions:
/// it lets one failing statement abort a whole batch without an error check per line.
struct db_failure : std::runtime_error {
  explicit db_failure(error e) : std::runtime_error(e.message()), err(std::move(e)) {}
  error err;
};

inline std::int64_t to_us(time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch())
      .count();
}

inline time_point from_us(std::int64_t us) {
  return time_point{
      std::chrono::duration_cast<time_point::duration>(std::chrono::microseconds{us})};
}

inline time_point stamp(time_point given, time_point now) {
  return given == time_point{} ? now : given;
}

// Values of the `state` column.
inline constexpr int state_claimed = 1;
inline constexpr int state_completed = 2;

} // namespace phoenix::persistence::detail
