#include "phoenix/observability/readiness.hpp"

#include <gtest/gtest.h>
#include <stdexcept>

using namespace phoenix::observability;

namespace {

TEST(readiness, without_checks_the_node_is_ready) {
  readiness r;
  auto report = r.evaluate();
  EXPECT_TRUE(report.ready);
  EXPECT_TRUE(report.checks.empty());
}

TEST(readiness, one_failing_check_makes_the_node_unready_and_is_named) {
  readiness r;
  r.add("store", [] { return check_state{true, "sqlite ok"}; });
  r.add("consumer", [] { return check_state{false, "not joined"}; });
  auto report = r.evaluate();
  EXPECT_FALSE(report.ready);
  ASSERT_EQ(report.checks.size(), 2u);
  EXPECT_EQ(report.checks[0].name, "consumer"); // ordered by name
  EXPECT_FALSE(report.checks[0].ok);
  EXPECT_EQ(report.checks[0].detail, "not joined");
  EXPECT_TRUE(report.checks[1].ok);
}

TEST(readiness, flag_is_set_by_its_owner_and_leaves_with_it) {
  readiness r;
  auto flag = r.add_flag("consumer:leads", {false, "joining"});
  EXPECT_FALSE(r.evaluate().ready);
  flag->set(true, "joined, 3 partitions");
  auto report = r.evaluate();
  EXPECT_TRUE(report.ready);
  EXPECT_EQ(report.checks.at(0).detail, "joined, 3 partitions");
  flag->set(false, "revoked");
  EXPECT_FALSE(r.evaluate().ready);
  flag.reset();
  EXPECT_TRUE(r.evaluate().checks.empty()) << "a dropped flag is no check any more";
}

TEST(readiness, check_that_throws_fails_with_the_exception_text) {
  readiness r;
  r.add("breaker:crm", []() -> check_state { throw std::runtime_error("no state yet"); });
  auto report = r.evaluate();
  EXPECT_FALSE(report.ready);
  EXPECT_EQ(report.checks.at(0).detail, "check threw: no state yet");
}

TEST(readiness, same_name_replaces_and_remove_drops) {
  readiness r;
  r.add("store", [] { return check_state{false, "down"}; });
  r.add("store", [] { return check_state{true, "up"}; });
  EXPECT_TRUE(r.evaluate().ready);
  EXPECT_EQ(r.evaluate().checks.size(), 1u);
  r.remove("store");
  EXPECT_TRUE(r.evaluate().checks.empty());
}

} // namespace
