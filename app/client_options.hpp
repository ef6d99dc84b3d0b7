#pragma once

#include "phoenix/runtime/error.hpp"

#include <map>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace phoenix::app {

/// Exit codes of the tools that talk to a cluster: 0 done, 1 the cluster refused or did
/// not answer, 2 a usage or config error.
constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

/// Adds `-c,--config FILE` (its `[kafka]` section) and `-X,--property KEY=VALUE` to `cmd`.
void add_client_options(CLI::App& cmd, std::string& config,
                        std::vector<std::string>& properties);

/// librdkafka properties for a tool's client: the `[kafka]` section of `config` (none
/// when empty), then `overrides` (`KEY=VALUE`, from -X). Errors: the config's own, and
/// errc::invalid_argument for a bad -X or when no bootstrap.servers results.
result<std::map<std::string, std::string>>
client_properties(const std::string& config, const std::vector<std::string>& overrides);

} // namespace phoenix::app
