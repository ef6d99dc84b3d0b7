#pragma once

#include "phoenix/persistence/types.hpp"
#include "phoenix/runtime/error.hpp"

#include <pqxx/pqxx>
#include <vector>

namespace phoenix::persistence::pg {

/// Applies `batch` inside `w` as if request after request. Operations on distinct keys
/// commute, so the simple operations of all requests go to the server as one statement
/// per kind over arrays (more only where a key repeats): a batch of a thousand
/// claim+trace+complete requests is three round trips, not three thousand. A request
/// with a saga_op runs in a savepoint of its own, since only it can conflict.
/// Adds the statements it sends to `round_trips`. Throws libpqxx exceptions for what
/// fails the whole batch.
std::vector<result<reply>> apply_batch(pqxx::work& w,
                                       const std::vector<store_request>& batch,
                                       time_point now, std::uint64_t& round_trips);

} // namespace phoenix::persistence::pg
