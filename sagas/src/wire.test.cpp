// Commands and replies on the wire: what participants and the gateway read back, and
// every malformed record refused with a message that names what is wrong.

#include "phoenix/sagas/wire.hpp"

#include "phoenix/sagas/errc.hpp"

#include <gtest/gtest.h>

namespace {

using namespace phoenix;
using namespace phoenix::sagas;

command sample() {
  command c;
  c.saga_id = "lead-7";
  c.saga_type = "lead";
  c.step = "notify_crm";
  c.kind = command_kind::compensate;
  c.command_id = make_command_id(c.saga_id, c.step, c.kind);
  c.attempt = 2;
  c.reply_topic = "lead.saga.replies";
  c.data = R"({"lead":7})";
  return c;
}

void drop_header(runtime::envelope& env, const std::string& key) {
  auto& xs = env.extensions;
  xs.erase(std::remove_if(xs.begin(), xs.end(), [&](auto& h) { return h.key == key; }),
           xs.end());
}

TEST(saga_wire, a_command_survives_its_envelope_and_its_headers) {
  auto env = command_envelope(sample());
  EXPECT_EQ(env.id, "lead-7/notify_crm/compensate");
  EXPECT_FALSE(env.idempotency_key) << "participants must see every resend";
  auto decoded = runtime::decode_envelope(runtime::encode_headers(env), env.payload);
  ASSERT_TRUE(decoded.has_value());
  auto c = read_command(*decoded);
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->saga_id, "lead-7");
  EXPECT_EQ(c->step, "notify_crm");
  EXPECT_EQ(c->kind, command_kind::compensate);
  EXPECT_EQ(c->attempt, 2u);
  EXPECT_EQ(c->reply_topic, "lead.saga.replies");
  EXPECT_EQ(c->data, R"({"lead":7})");
}

TEST(saga_wire, a_command_missing_a_header_or_with_a_foreign_id_is_refused) {
  auto env = command_envelope(sample());
  drop_header(env, saga_reply_to_header);
  auto r = read_command(env);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), make_error_code(errc::bad_message));
  EXPECT_EQ(r.error().message(), "command without the saga-reply-to header");

  auto other = command_envelope(sample());
  other.id = "lead-8/notify_crm/compensate";
  EXPECT_EQ(read_command(other).error().message(),
            "command id 'lead-8/notify_crm/compensate' does not match its saga headers");

  auto kind = command_envelope(sample());
  for (auto& h : kind.extensions)
    if (h.key == saga_kind_header)
      h.value = "undo";
  EXPECT_EQ(read_command(kind).error().message(),
            "saga-kind 'undo' is neither action nor compensate");
}

TEST(saga_wire, replies_carry_the_outcome_and_one_id_per_attempt) {
  auto c = sample();
  auto ok = make_reply(c, outcome::success());
  auto failed = make_reply(c, outcome::failure("crm down"));
  c.attempt = 3;
  EXPECT_NE(make_reply(c, outcome::success()).id, ok.id);
  auto r = read_reply(ok);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_TRUE(r->outcome.ok);
  EXPECT_EQ(r->kind, command_kind::compensate);
  auto f = read_reply(failed);
  ASSERT_TRUE(f.has_value());
  EXPECT_FALSE(f->outcome.ok);
  EXPECT_EQ(f->outcome.error, "crm down");

  for (auto& h : failed.extensions)
    if (h.key == saga_outcome_header)
      h.value = "maybe";
  EXPECT_EQ(read_reply(failed).error().message(),
            "saga-outcome 'maybe' is neither ok nor failed");
  drop_header(ok, saga_step_header);
  EXPECT_EQ(read_reply(ok).error().message(), "reply without the saga-step header");
}

TEST(saga_wire, outbox_headers_pack_any_bytes_and_refuse_truncation) {
  std::vector<runtime::header> hs{{"a", std::string{"x\0y", 3}}, {"", ""}, {"k", "v"}};
  auto packed = pack_headers(hs);
  auto back = unpack_headers(packed);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, hs);
  EXPECT_TRUE(unpack_headers("")->empty());
  packed.pop_back();
  auto cut = unpack_headers(packed);
  ASSERT_FALSE(cut.has_value());
  EXPECT_EQ(cut.error().message(), "truncated outbox headers");
}

} // namespace
