#include "client_options.hpp"

#include "phoenix/runtime/config.hpp"

#include <CLI/CLI.hpp>

namespace phoenix::app {

void add_client_options(CLI::App& cmd, std::string& config,
                        std::vector<std::string>& properties) {
  cmd.add_option("-c,--config", config,
                 "Config file whose [kafka] section says how to reach the cluster "
                 "(bootstrap.servers, security.protocol, ssl.*)")
      ->check(CLI::ExistingFile);
  cmd.add_option("-X,--property", properties,
                 "A librdkafka property, overriding --config; repeatable")
      ->type_name("KEY=VALUE");
}

result<std::map<std::string, std::string>>
client_properties(const std::string& config, const std::vector<std::string>& overrides) {
  std::map<std::string, std::string> props;
  if (!config.empty()) {
    auto cfg = runtime::load_config(config);
    if (!cfg)
      return cfg.error();
    props = cfg->kafka;
  }
  for (const auto& kv : overrides) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return phoenix::error{runtime::errc::invalid_argument,
                            "-X '" + kv + "': expected KEY=VALUE"};
    props[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  if (props.count("bootstrap.servers") == 0)
    return phoenix::error{runtime::errc::invalid_argument,
                          "no bootstrap.servers: give --config FILE with it under [kafka], "
                          "or -X bootstrap.servers=HOST:PORT"};
  return props;
}

} // namespace phoenix::app
