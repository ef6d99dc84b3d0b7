#pragma once

#include "phoenix/runtime/error.hpp"

#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <string>

namespace phoenix::runtime {

/// CAF error category under which Phoenix errors travel between actors (as exit and
/// down reasons, or as request errors).
inline constexpr caf::atom_value phoenix_error_category = caf::atom("phoenix");

/// Wraps a Phoenix error for CAF; the message travels in the error's context.
caf::error to_caf_error(const error& err);

/// A readable text for any CAF error: Phoenix's own, CAF's exit reasons and system
/// errors, and exceptions converted by `crash_on_exception`.
std::string describe(const caf::error& err);

/// True for the exit reasons OTP calls normal: `normal` and `user_shutdown`.
bool is_normal_exit(const caf::error& reason);

/// Makes an exception that escapes a handler of `self` terminate the actor with a
/// `runtime_error` reason carrying the exception's text, so its supervisor logs it and
/// restarts it. (CAF's default prints to stdout; Phoenix keeps stdout for results.)
void crash_on_exception(caf::scheduled_actor* self);

} // namespace phoenix::runtime
