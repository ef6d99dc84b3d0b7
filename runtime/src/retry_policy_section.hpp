#pragma once

// `[policy]` of the config file, read by config.cpp (kept apart so the section's rules
// live beside the struct's checks in retry_policy.cpp).

#include "phoenix/runtime/retry_policy.hpp"

#include <toml++/toml.h>

namespace phoenix::runtime {

/// Reads `[policy]` (null: absent). Its own keys: create_topics (bool),
/// topic_partitions (0..100000), topic_replication_factor (-1, or 1..32767). Each
/// sub-table is `default` or a topic name; keys: attempts, backoff_base_ms,
/// backoff_cap_ms, max_in_place_ms, retry_topics_ms (array of delays), dlq. Keys a
/// topic's table leaves out come from `[policy.default]`.
/// Errors: errc::config_unknown_key, config_wrong_type, config_bad_value, each naming
/// the file, the table, the key and the line.
result<void> read_retry_policies(const std::string& origin, const toml::table* policy,
                                 retry_policies& out);

} // namespace phoenix::runtime
