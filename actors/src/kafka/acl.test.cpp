// What the ACL admin checks before it talks to a broker, and how it reports a cluster it
// cannot reach. Granting and revoking on a real cluster is the system tier's acl test.

#include "phoenix/actors/kafka/acl.hpp"

#include <gtest/gtest.h>

namespace {

using namespace phoenix::kafka;
using phoenix::runtime::errc;
using namespace std::chrono_literals;

TEST(kafka_acl, operations_parse_in_any_case_with_dashes_and_kafkas_delete) {
  EXPECT_EQ(*parse_acl_operation("read"), acl_operation::read);
  EXPECT_EQ(*parse_acl_operation("IDEMPOTENT-WRITE"), acl_operation::idempotent_write);
  EXPECT_EQ(*parse_acl_operation("Describe_Configs"), acl_operation::describe_configs);
  EXPECT_EQ(*parse_acl_operation("delete"), acl_operation::remove);
  EXPECT_EQ(to_string(acl_operation::remove), "delete");
}

TEST(kafka_acl, unknown_operation_is_invalid_argument_listing_the_choices) {
  auto op = parse_acl_operation("reed");
  ASSERT_FALSE(op);
  EXPECT_EQ(op.error().code(), errc::invalid_argument);
  EXPECT_NE(op.error().message().find("'reed'"), std::string::npos) << op.error().message();
  EXPECT_NE(op.error().message().find("idempotent_write"), std::string::npos);
}

TEST(kafka_acl, describe_reads_as_a_sentence) {
  acl_binding b;
  b.resource = acl_resource::topic;
  b.name = "orders";
  b.pattern = acl_pattern::prefixed;
  b.principal = "User:reader";
  b.operation = acl_operation::read;
  EXPECT_EQ(describe(b), "User:reader allow read on topic orders (prefixed) from *");
}

TEST(kafka_acl, bad_properties_fail_connect_naming_the_key) {
  auto admin = acl_admin::connect({{"bootstrap.servers", "127.0.0.1:1"}, {"no.such", "1"}},
                                  "admin.toml");
  ASSERT_FALSE(admin);
  EXPECT_EQ(admin.error().code(), errc::config_unknown_key);
  EXPECT_NE(admin.error().message().find("admin.toml: [kafka] no.such"), std::string::npos);
}

TEST(kafka_acl, filter_only_values_in_a_grant_are_refused_before_any_request) {
  auto admin = acl_admin::connect({{"bootstrap.servers", "127.0.0.1:1"}}, "test");
  ASSERT_TRUE(admin) << admin.error().describe();
  acl_binding b;
  b.name = "orders";
  b.principal = "User:reader";
  b.operation = acl_operation::any;
  auto res = admin->grant({b}, 10s);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), errc::invalid_argument);
  EXPECT_NE(res.error().message().find("User:reader allow any on topic orders"),
            std::string::npos)
      << res.error().message();
}

TEST(kafka_acl, unreachable_cluster_is_a_kafka_error_saying_what_failed) {
  // Port 1 on loopback refuses every connection: the request times out.
  auto admin = acl_admin::connect({{"bootstrap.servers", "127.0.0.1:1"}}, "test");
  ASSERT_TRUE(admin) << admin.error().describe();
  auto res = admin->list({}, 500ms);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), errc::kafka_error);
  EXPECT_EQ(res.error().message().rfind("list ACLs: ", 0), 0u) << res.error().message();
}

} // namespace
