// The lead saga with the saga test kit: scripted participants for each failure, and the
// pipeline's real participants (quota, CRM) for the balances they leave behind.

#include "phoenix/lead_pipeline/lead_pipeline.hpp"

#include "phoenix/sagas/testing/saga_test.hpp"

#include <gtest/gtest.h>

namespace {

using namespace phoenix;
using namespace phoenix::sagas;
using namespace std::chrono_literals;
using strings = std::vector<std::string>;

std::string lead(int n, const std::string& tenant = "t1") {
  return R"({"lead":)" + std::to_string(n) + R"(,"tenant":")" + tenant + R"("})";
}

class lead_saga_test : public sagas::testing::saga_test {
protected:
  lead_saga_test() {
    opts.step_timeout = 2s;
    use(lead_pipeline::lead_saga(opts));
  }
  lead_pipeline::options opts;
};

TEST_F(lead_saga_test, a_lead_goes_through_every_step) {
  ASSERT_TRUE(start("lead-1", lead(1)));
  EXPECT_EQ(status("lead-1"), saga_status::completed);
  EXPECT_EQ(log().applied, (strings{"reserve_quota/action", "enrich/action", "score/action",
                                    "notify_crm/action"}));
}

TEST_F(lead_saga_test, failed_scoring_releases_the_quota) {
  on("score").fail("model down");
  ASSERT_TRUE(start("lead-1", lead(1)));
  EXPECT_EQ(status("lead-1"), saga_status::compensated);
  EXPECT_EQ(log().applied,
            (strings{"reserve_quota/action", "enrich/action", "reserve_quota/compensate"}));
}

TEST_F(lead_saga_test, an_unacknowledged_notification_is_retracted_after_the_timeout) {
  on("notify_crm").lose_reply();
  ASSERT_TRUE(start("lead-1", lead(1)));
  advance(2s);
  EXPECT_EQ(status("lead-1"), saga_status::compensated);
  EXPECT_EQ(log().applied, (strings{"reserve_quota/action", "enrich/action", "score/action",
                                    "notify_crm/action", "notify_crm/compensate",
                                    "reserve_quota/compensate"}));
}

TEST_F(lead_saga_test, a_crashed_instance_resends_its_step_with_the_same_command_id) {
  on("enrich").lose_reply();
  ASSERT_TRUE(start("lead-1", lead(1)));
  ASSERT_TRUE(crash("lead-1")); // restarted from the store
  EXPECT_EQ(stats().instance_restarts, 1u);
  EXPECT_EQ(log().duplicates, 1u); // the resend was answered from memory
  EXPECT_EQ(status("lead-1"), saga_status::completed);
}

TEST_F(lead_saga_test, an_idle_lead_gives_its_actor_back_and_its_timeout_still_fires) {
  on("enrich").silent();
  ASSERT_TRUE(start("lead-1", lead(1)));
  advance(1500ms); // passivate_after (1 s), seen by the coordinator's sweep
  EXPECT_FALSE(instance("lead-1"));
  EXPECT_EQ(stats().passivations, 1u);
  advance(500ms); // the 2 s step timeout wakes the passivated saga
  EXPECT_EQ(status("lead-1"), saga_status::compensated);
}

TEST_F(lead_saga_test, real_participants_leave_balanced_quota_and_no_stray_notification) {
  opts.failures = {5, 4, 6}; // quota exhausted, score fails, CRM silent: by lead number
  auto real = std::make_shared<lead_pipeline::participants>(opts);
  serve_with([real](const command& c) { return real->handle(c); });
  for (int n = 0; n < 40; ++n)
    ASSERT_TRUE(start("lead-" + std::to_string(n), lead(n, n % 2 ? "t1" : "t2")));
  advance(2s);
  int completed = 0;
  for (int n = 0; n < 40; ++n) {
    auto s = status("lead-" + std::to_string(n));
    ASSERT_TRUE(s == saga_status::completed || s == saga_status::compensated) << n;
    completed += s == saga_status::completed;
  }
  // Quota is held exactly by the completed leads, and only they are in the CRM.
  int held = 0;
  for (const auto& [tenant, q] : real->quota())
    held += q;
  EXPECT_EQ(held, completed);
  EXPECT_EQ(static_cast<int>(real->notified().size()), completed);
  EXPECT_GT(completed, 0);
  EXPECT_LT(completed, 40);
  for (const auto& [id, times] : real->applied())
    EXPECT_EQ(times, 1) << id;
}

TEST(lead_participants, answer_a_resent_command_without_applying_it_again) {
  lead_pipeline::participants p{{}};
  command c;
  c.saga_id = "lead-1";
  c.step = "reserve_quota";
  c.command_id = make_command_id(c.saga_id, c.step, command_kind::action);
  c.data = lead(1);
  ASSERT_TRUE(p.handle(c)->ok);
  ASSERT_TRUE(p.handle(c)->ok);
  EXPECT_EQ(p.quota().at("t1"), 1);
  EXPECT_EQ(p.duplicates(), 1u);
  EXPECT_EQ(p.applied().at("lead-1/reserve_quota/action"), 1);
}

// The saga compensates a timed-out step whose command may still be on its way.
TEST(lead_participants, a_release_before_its_reservation_undoes_nothing_and_refuses_it) {
  lead_pipeline::participants p{{}};
  auto cmd = [](std::string saga, int n, command_kind kind) {
    command c;
    c.saga_id = std::move(saga);
    c.step = "reserve_quota";
    c.kind = kind;
    c.command_id = make_command_id(c.saga_id, c.step, kind);
    c.data = lead(n);
    return c;
  };
  ASSERT_TRUE(p.handle(cmd("lead-1", 1, command_kind::action))->ok);
  ASSERT_TRUE(p.handle(cmd("lead-5", 5, command_kind::compensate))->ok); // nothing held
  auto late = p.handle(cmd("lead-5", 5, command_kind::action));
  ASSERT_TRUE(late);
  EXPECT_FALSE(late->ok);
  EXPECT_NE(late->error.find("released before it arrived"), std::string::npos)
      << late->error;
  EXPECT_EQ(p.quota().at("t1"), 1); // lead-1 and lead-5 share tenant t1
  ASSERT_TRUE(p.handle(cmd("lead-1", 1, command_kind::compensate))->ok);
  EXPECT_EQ(p.quota().at("t1"), 0);
  EXPECT_FALSE(p.handle(cmd("lead-5", 5, command_kind::action))->ok) << "answered again";
  EXPECT_EQ(p.quota().at("t1"), 0);
}

TEST(lead_participants, a_retraction_before_its_notification_refuses_it) {
  lead_pipeline::participants p{{}};
  command c;
  c.saga_id = "lead-2";
  c.step = "notify_crm";
  c.kind = command_kind::compensate;
  c.command_id = make_command_id(c.saga_id, c.step, c.kind);
  c.data = lead(2);
  ASSERT_TRUE(p.handle(c)->ok);
  c.kind = command_kind::action;
  c.command_id = make_command_id(c.saga_id, c.step, c.kind);
  auto late = p.handle(c);
  ASSERT_TRUE(late);
  EXPECT_FALSE(late->ok);
  EXPECT_TRUE(p.notified().empty());
}

TEST(lead_participants, a_command_that_is_no_command_is_rejected) {
  lead_pipeline::participants p{{}};
  auto h = p.handler([](const std::string&, const std::string&, const runtime::envelope&) {
    ADD_FAILURE() << "nothing to publish";
  });
  runtime::envelope env;
  env.id = "x";
  env.source = "/t";
  env.type = "t";
  std::vector<runtime::header_view> storage;
  auto view = runtime::view_of(env, storage);
  EXPECT_EQ(h(view, kafka::record_view{}), kafka::handler_status::rejected);
}

} // namespace
