#include "phoenix/actors/kafka/properties.hpp"

#include "kafka/rdkafka.hpp"

#include <utility>

namespace phoenix::kafka {
namespace rd {

result<void> set_property(rd_kafka_conf_t& conf, const std::string& key,
                          const std::string& value, const std::string& origin) {
  char errstr[512] = {};
  const rd_kafka_conf_res_t res =
      rd_kafka_conf_set(&conf, key.c_str(), value.c_str(), errstr, sizeof errstr);
  if (res == RD_KAFKA_CONF_OK)
    return {};
  const auto code = res == RD_KAFKA_CONF_UNKNOWN ? runtime::errc::config_unknown_key
                                                 : runtime::errc::config_bad_value;
  return phoenix::error{code, origin + ": [kafka] " + key + ": " + errstr};
}

result<conf_ptr> make_conf(const std::map<std::string, std::string>& props,
                           const std::string& origin) {
  conf_ptr conf{rd_kafka_conf_new()};
  for (const auto& [key, value] : props)
    if (auto res = set_property(*conf, key, value, origin); !res)
      return res.error();
  return std::move(conf);
}

} // namespace rd

result<void> validate_properties(const std::map<std::string, std::string>& props,
                                 const std::string& origin) {
  auto conf = rd::make_conf(props, origin);
  if (!conf)
    return conf.error();
  return {};
}

const char* librdkafka_version() noexcept {
  return rd_kafka_version_str();
}

} // namespace phoenix::kafka
