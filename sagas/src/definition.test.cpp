// Saga declarations: what registers, and every invalid declaration refused with a
// message that says what is wrong.

#include "phoenix/sagas/definition.hpp"

#include "phoenix/sagas/errc.hpp"
#include "phoenix/sagas/state.hpp"

#include <gtest/gtest.h>

namespace {

using namespace phoenix::sagas;

std::string error_of(const saga_builder& b) {
  auto def = b.build();
  EXPECT_FALSE(def.has_value());
  if (def)
    return {};
  EXPECT_EQ(def.error().code(), make_error_code(errc::invalid_definition));
  return def.error().message();
}

TEST(saga_definition, groups_steps_into_stages_in_declaration_order) {
  auto def =
      saga_builder{"lead"}
          .reply_topic("lead.replies")
          .step({"reserve", action::command("quota.commands"),
                 action::command("quota.commands")})
          .parallel({{"enrich", action::command("enrich.commands")},
                     {"geo", action::call([](const command&) { return outcome{}; })}})
          .step({"notify", action::command("crm.commands")})
          .build();
  ASSERT_TRUE(def.has_value()) << def.error().message();
  EXPECT_EQ(def->stages, 3);
  ASSERT_EQ(def->steps.size(), 4u);
  EXPECT_EQ(def->steps[1].stage, 1);
  EXPECT_EQ(def->steps[2].stage, 1);
  EXPECT_EQ(def->steps[3].stage, 2);
  EXPECT_EQ(def->index_of("geo"), 2);
  EXPECT_EQ(def->index_of("nope"), -1);
}

TEST(saga_definition, refuses_invalid_declarations_with_a_clear_error) {
  auto cmd = action::command("t");
  EXPECT_EQ(error_of(saga_builder{"s"}.reply_topic("r")), "saga 's': no steps");
  EXPECT_EQ(error_of(saga_builder{""}.reply_topic("r").step({"a", cmd})),
            "saga '': the saga type needs a name");
  EXPECT_EQ(error_of(saga_builder{"s"}.reply_topic("r").step({"a", cmd}).step({"a", cmd})),
            "saga 's': duplicate step name 'a'");
  EXPECT_EQ(error_of(saga_builder{"s"}.reply_topic("r").parallel({{"a", cmd}, {"a", cmd}})),
            "saga 's': duplicate step name 'a'");
  EXPECT_EQ(error_of(saga_builder{"s"}.reply_topic("r").step({"", cmd})),
            "saga 's': a step has an empty name");
  EXPECT_EQ(error_of(saga_builder{"s"}.reply_topic("r").step({"a/b", cmd})),
            "saga 's': step 'a/b': a step name cannot contain '/'");
  EXPECT_EQ(error_of(saga_builder{"s"}.reply_topic("r").step({"a", cmd}).parallel({})),
            "saga 's': a parallel group has no steps");
  EXPECT_EQ(error_of(saga_builder{"s"}.reply_topic("r").step({"a", action{}})),
            "saga 's': step 'a': the action has neither a topic nor a local call");
  EXPECT_EQ(error_of(saga_builder{"s"}.reply_topic("r").step({"a", cmd, action{}})),
            "saga 's': step 'a': the compensation has neither a topic nor a local call");
  EXPECT_EQ(error_of(saga_builder{"s"}.step({"a", cmd})),
            "saga 's': steps send commands but the saga has no reply topic");
  EXPECT_EQ(error_of(saga_builder{"s"}.reply_topic("r").step(
                {"a", cmd, std::nullopt, {std::chrono::milliseconds{-1}}})),
            "saga 's': step 'a': negative timeout");
  step_options no_attempts;
  no_attempts.retry.attempts = 0;
  EXPECT_EQ(error_of(saga_builder{"s"}.reply_topic("r").step(
                {"a", cmd, std::nullopt, no_attempts})),
            "saga 's': step 'a': retry attempts must be at least 1");
  EXPECT_EQ(error_of(saga_builder{"s"}
                         .reply_topic("r")
                         .step({"a", cmd})
                         .compensation_retry({0, {}, {}})),
            "saga 's': compensation_retry: attempts must be at least 1");
}

TEST(saga_definition, local_only_sagas_need_no_reply_topic) {
  auto def = saga_builder{"s"}
                 .step({"a", action::call([](const command&) { return outcome{}; })})
                 .build();
  EXPECT_TRUE(def.has_value());
}

TEST(retry_policy, doubles_the_wait_up_to_the_maximum) {
  retry_policy p{5, std::chrono::milliseconds{100}, std::chrono::milliseconds{300}};
  EXPECT_EQ(p.wait_before(2).count(), 100);
  EXPECT_EQ(p.wait_before(3).count(), 200);
  EXPECT_EQ(p.wait_before(4).count(), 300);
  EXPECT_EQ(p.wait_before(9).count(), 300);
}

TEST(saga_state, survives_the_round_trip_through_its_record) {
  saga_state s;
  s.id = "lead-1";
  s.type = "lead";
  s.data = std::string{"a\0b", 3};
  s.topic = "lead.detected";
  s.partition = 3;
  s.status = saga_status::compensating;
  s.stage = 2;
  s.created = 1700000000000000;
  s.updated = 1700000000500000;
  s.last_error = "score: model down";
  s.steps = {{step_status::compensated, 1, 5}, {step_status::failed, 3, -7}};
  auto r = to_record(s, {"reserve", "score"});
  EXPECT_FALSE(r.finished);
  EXPECT_EQ(r.status, "compensating");
  r.version = 4;
  auto back = from_record(r);
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(back->data, s.data);
  EXPECT_EQ(back->stage, 2);
  EXPECT_EQ(back->version, 4);
  EXPECT_EQ(back->created, s.created);
  EXPECT_EQ(back->updated, s.updated);
  EXPECT_EQ(back->last_error, s.last_error);
  ASSERT_EQ(back->steps.size(), 2u);
  EXPECT_EQ(back->steps[1].status, step_status::failed);
  EXPECT_EQ(back->steps[1].attempts, 3);
  EXPECT_EQ(back->steps[1].at, -7);
  EXPECT_EQ(*step_names_of(r), (std::vector<std::string>{"reserve", "score"}));
}

TEST(saga_state, refuses_damaged_records) {
  saga_state s;
  s.id = "x";
  s.steps.resize(2);
  auto r = to_record(s, {"a", "b"});
  auto cut = r;
  cut.data.resize(cut.data.size() - 2);
  auto bad = from_record(cut);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message(), "saga 'x': truncated state");
  auto other = r;
  other.status = "paused";
  EXPECT_EQ(from_record(other).error().message(), "saga 'x': unknown status");
  auto empty = r;
  empty.data.clear();
  EXPECT_EQ(from_record(empty).error().message(),
            "saga 'x': state written by another version");
}

} // namespace
