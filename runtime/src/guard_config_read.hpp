#pragma once

// Reads `[breaker."<downstream>"]` and `[tenants]` for parse_config (config.cpp).

#include "phoenix/runtime/guard_config.hpp"

#include <toml++/toml.h>

namespace phoenix::runtime {

result<void> read_guard_sections(const toml::table& root, const std::string& origin,
                                 std::map<std::string, breaker_settings>& breakers,
                                 tenants_config& tenants);

} // namespace phoenix::runtime
