// mTLS and ACLs on the real cluster: a client without a certificate, or with one the
// cluster does not trust, fails the handshake; a trusted client without an ACL gets
// TOPIC_AUTHORIZATION_FAILED; `phoenix acl grant` lets the same client in, `phoenix acl
// revoke` shuts it out again.

#include "phoenix/testkit/acl_probe.hpp"
#include "phoenix/testkit/child_process.hpp"
#include "phoenix/testkit/kafka_cluster_fixture.hpp"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h> // the error codes
#include <thread>

using namespace phoenix;
using namespace std::chrono_literals;
using testkit::run_process;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

using testkit::connection_errors;
using testkit::every_broker_reports;
using testkit::read_first;

class acl_test : public testkit::kafka_cluster_fixture {
protected:
  void SetUp() override {
    kafka_cluster_fixture::SetUp();
    if (HasFatalFailure())
      return;
    ASSERT_TRUE(real() && real()->mode == "tls")
        << "the ACL tests need the system tier's TLS cluster: run them through ctest "
           "(-L system), which starts it with deploy/kafka/cluster.sh start --tls";
  }

  // `phoenix acl <args...>` as the admin (super user) unless the args give --config.
  testkit::process_result phoenix_acl(std::vector<std::string> args,
                                      const std::string& identity = "admin") {
    std::vector<std::string> argv{PHOENIX_BIN, "acl"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--config");
    argv.push_back(real()->config_file(identity));
    return run_process(argv, 60s);
  }

  // The brokers end the TLS handshake of `identity` over its certificate (OpenSSL names
  // the alert: "bad certificate" when there is none, "certificate unknown" when no
  // trusted CA signed it), so it gets no metadata.
  void expect_handshake_refused(const std::string& identity) {
    auto errors = connection_errors(client_properties(identity));
    bool refused = false;
    for (auto& e : errors)
      refused |= contains(e, "certificate");
    EXPECT_TRUE(refused) << identity << ": no certificate error among " << errors.size()
                         << " errors"
                         << (errors.empty() ? "" : ", first: " + errors.front());
  }
};

TEST_F(acl_test, client_without_a_certificate_fails_the_handshake) {
  expect_handshake_refused("anonymous");
}

TEST_F(acl_test, client_with_a_certificate_from_an_untrusted_ca_fails_the_handshake) {
  expect_handshake_refused("intruder");
}

TEST_F(acl_test, reader_is_refused_until_granted_and_again_after_the_revoke) {
  const auto topic = unique_name("secrets");
  const auto group = unique_name("readers");
  ASSERT_NO_FATAL_FAILURE(create_topic(topic, 1));
  ASSERT_NO_FATAL_FAILURE(produce(topic, "k", "for readers only")); // as phoenix-node
  // The group is allowed, so the topic is what the reader lacks.
  auto r = phoenix_acl(
      {"grant", "--principal", "User:reader", "--operation", "read", "--group", group});
  ASSERT_EQ(r.code, 0) << r.err;

  const auto reader = client_properties("reader");
  ASSERT_TRUE(
      every_broker_reports(reader, topic, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED));
  // The group ACL settles the same way; the metadata shows only the topic's.
  auto refused = read_first(reader, topic, group);
  for (int i = 0; i < 10 && refused.err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED;
       ++i)
    refused = read_first(reader, topic, group);
  EXPECT_FALSE(refused.value) << "read without a topic ACL";
  EXPECT_EQ(refused.err, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) << refused.errstr;

  r = phoenix_acl({"grant", "--principal", "User:reader", "--operation", "read,describe",
                   "--topic", topic});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "granted: User:reader allow read on topic " + topic))
      << r.out;
  // The broker that answers may not have applied the grant yet.
  testkit::process_result listed;
  for (int attempt = 0; attempt < 10; ++attempt) {
    listed = phoenix_acl({"list", "--principal", "User:reader", "--topic", topic});
    ASSERT_EQ(listed.code, 0) << listed.err;
    if (contains(listed.out, "User:reader allow describe on topic " + topic))
      break;
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_TRUE(contains(listed.out, "User:reader allow describe on topic " + topic))
      << listed.out;

  ASSERT_TRUE(every_broker_reports(reader, topic, RD_KAFKA_RESP_ERR_NO_ERROR));
  auto granted = read_first(reader, topic, group);
  EXPECT_EQ(granted.value, std::optional<std::string>{"for readers only"})
      << "error: " << granted.errstr;

  r = phoenix_acl({"revoke", "--principal", "User:reader", "--topic", topic});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "revoked: User:reader allow read on topic " + topic))
      << r.out;
  ASSERT_TRUE(
      every_broker_reports(reader, topic, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED));
  auto again = read_first(reader, topic, group);
  EXPECT_FALSE(again.value) << "read after the revoke";
  EXPECT_EQ(again.err, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) << again.errstr;

  r = phoenix_acl({"revoke", "--principal", "User:reader", "--group", group});
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST_F(acl_test, only_a_super_user_may_grant) {
  auto r = phoenix_acl({"grant", "--principal", "User:reader", "--operation", "read",
                        "--topic", unique_name("any")},
                       "phoenix-node");
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, "Cluster authorization failed")) << r.err;
}

} // namespace
