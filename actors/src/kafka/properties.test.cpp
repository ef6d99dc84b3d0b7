#include "phoenix/actors/kafka/properties.hpp"

#include "kafka/rdkafka.hpp"

#include <gtest/gtest.h>

namespace {

using phoenix::kafka::validate_properties;
using phoenix::runtime::errc;

TEST(kafka_properties, accepts_known_keys_with_valid_values) {
  EXPECT_TRUE(validate_properties({}, "node.toml"));
  EXPECT_TRUE(validate_properties({{"bootstrap.servers", "localhost:9092"},
                                   {"enable.idempotence", "true"},
                                   {"acks", "all"},
                                   {"auto.offset.reset", "earliest"}},
                                  "node.toml"));
}

// The system tier's TLS cluster depends on it: librdkafka here is built with OpenSSL, so
// the [kafka] section takes security.protocol=ssl and the ssl.* keys as they are.
TEST(kafka_properties, accepts_tls_client_keys) {
  EXPECT_TRUE(validate_properties({{"bootstrap.servers", "127.0.0.1:9093"},
                                   {"security.protocol", "ssl"},
                                   {"ssl.ca.location", "/etc/phoenix/ca.crt"},
                                   {"ssl.certificate.location", "/etc/phoenix/node.crt"},
                                   {"ssl.key.location", "/etc/phoenix/node.key"},
                                   {"ssl.endpoint.identification.algorithm", "https"}},
                                  "node.toml"));
}

TEST(kafka_properties, unknown_key_is_config_unknown_key_naming_origin_and_key) {
  auto res =
      validate_properties({{"bootstrap.server", "localhost:9092"}}, "/etc/node.toml");
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), errc::config_unknown_key);
  const std::string& msg = res.error().message();
  EXPECT_EQ(msg.rfind("/etc/node.toml: [kafka] bootstrap.server: ", 0), 0u) << msg;
  EXPECT_GT(msg.size(), std::string("/etc/node.toml: [kafka] bootstrap.server: ").size())
      << "librdkafka's reason is missing";
}

TEST(kafka_properties, bad_value_is_config_bad_value_naming_origin_and_key) {
  auto res = validate_properties({{"linger.ms", "soon"}}, "node.toml");
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), errc::config_bad_value);
  EXPECT_EQ(res.error().message().rfind("node.toml: [kafka] linger.ms: ", 0), 0u)
      << res.error().message();
}

TEST(kafka_properties, out_of_range_value_is_config_bad_value) {
  auto res = validate_properties({{"session.timeout.ms", "-5"}}, "node.toml");
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), errc::config_bad_value);
}

TEST(kafka_properties, reports_the_first_bad_key_in_key_order) {
  auto res = validate_properties({{"zz.unknown", "1"}, {"acks", "maybe"}}, "node.toml");
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), errc::config_bad_value);
  EXPECT_NE(res.error().message().find("acks"), std::string::npos);
}

TEST(kafka_properties, make_conf_holds_the_given_values) {
  auto conf = phoenix::kafka::rd::make_conf({{"client.id", "phoenix-test"}}, "test");
  ASSERT_TRUE(conf) << conf.error().describe();
  char value[64] = {};
  std::size_t size = sizeof value;
  ASSERT_EQ(rd_kafka_conf_get(conf->get(), "client.id", value, &size), RD_KAFKA_CONF_OK);
  EXPECT_STREQ(value, "phoenix-test");
}

TEST(kafka_properties, each_client_gets_the_shared_section_without_the_others_keys) {
  const std::map<std::string, std::string> section{{"bootstrap.servers", "127.0.0.1:9092"},
                                                   {"group.id", "phoenix"},
                                                   {"session.timeout.ms", "6000"},
                                                   {"linger.ms", "5"},
                                                   {"acks", "all"},
                                                   {"client.id", "node-1"}};
  using phoenix::kafka::rd::properties_for;
  const std::map<std::string, std::string> producer{{"bootstrap.servers", "127.0.0.1:9092"},
                                                    {"linger.ms", "5"},
                                                    {"acks", "all"},
                                                    {"client.id", "node-1"}};
  const std::map<std::string, std::string> consumer{{"bootstrap.servers", "127.0.0.1:9092"},
                                                    {"group.id", "phoenix"},
                                                    {"session.timeout.ms", "6000"},
                                                    {"client.id", "node-1"}};
  EXPECT_EQ(properties_for(RD_KAFKA_PRODUCER, section), producer);
  EXPECT_EQ(properties_for(RD_KAFKA_CONSUMER, section), consumer);
}

TEST(kafka_properties, make_conf_rejects_like_validate_properties) {
  auto conf = phoenix::kafka::rd::make_conf({{"no.such.key", "1"}}, "test");
  ASSERT_FALSE(conf);
  EXPECT_EQ(conf.error().code(), errc::config_unknown_key);
}

} // namespace
