#pragma once

#include "phoenix/runtime/error.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace phoenix::sagas {

/// Whether a command asks a participant to do a step or to undo it.
enum class command_kind : std::uint8_t { action, compensate };

const char* to_string(command_kind k) noexcept;

/// What a participant (or a local call) is asked to do: one step of one saga.
struct command {
  std::string saga_id;
  std::string saga_type;
  std::string step;
  command_kind kind = command_kind::action;
  /// `<saga id>/<step>/<action|compensate>`: the same for every attempt and every
  /// resend after a restart, so a participant applies it once by remembering it.
  std::string command_id;
  std::uint32_t attempt = 1;
  std::string reply_topic; ///< Where the participant publishes its reply (key: saga id).
  std::string data;        ///< The saga's input, as given to `start`.
};

/// `<saga id>/<step>/<action|compensate>`.
std::string make_command_id(const std::string& saga_id, const std::string& step,
                            command_kind kind);

/// How a step (or a local call) ended.
struct outcome {
  bool ok = true;
  std::string error; ///< Why it failed; empty when ok.
  static outcome success() { return {}; }
  static outcome failure(std::string why) { return {false, std::move(why)}; }
};

/// A local call runs in the saga's instance actor, right after the transition that starts
/// it is durable. It runs at least once (again after a crash before its outcome is stored),
/// so it must be idempotent by `command_id`, and quick: it holds up that saga's events.
using local_fn = std::function<outcome(const command&)>;

/// What a step does (or how it is undone): a command to a participant topic, awaiting
/// the participant's reply on the saga's reply topic, or a local call.
struct action {
  std::string topic; ///< The participant's command topic; empty for a local call.
  local_fn local;

  static action command(std::string topic) { return {std::move(topic), {}}; }
  static action call(local_fn fn) { return {{}, std::move(fn)}; }
  bool is_local() const noexcept { return topic.empty(); }
};

/// Attempts of one action or compensation; waits double from `backoff` to `backoff_max`.
struct retry_policy {
  std::uint32_t attempts = 1; ///< 1: no retry.
  std::chrono::milliseconds backoff{100};
  std::chrono::milliseconds backoff_max{5000};

  /// The wait before attempt `next` (2, 3, ...).
  std::chrono::milliseconds wait_before(std::uint32_t next) const;
};

struct step_options {
  /// No reply within this time fails the attempt (0: wait forever). Also bounds each
  /// attempt of the step's compensation.
  std::chrono::milliseconds timeout{0};
  retry_policy retry{}; ///< Of the action; compensations use the saga's policy.
};

/// One step as declared: a name unique within the saga, what it does, how it is undone
/// (none: nothing to undo), and its options.
struct step_decl {
  std::string name;
  sagas::action action;
  std::optional<sagas::action> compensation{};
  step_options options{};
};

/// A validated saga type: steps in declaration order, grouped into stages that run one
/// after another (a parallel group is one stage of several steps, joined before the
/// next). Made by `saga_builder::build`.
struct saga_definition {
  struct step {
    step_decl decl;
    std::uint16_t stage = 0;
  };
  std::string type;
  std::string reply_topic;
  std::vector<step> steps;
  std::uint16_t stages = 0;
  /// Compensations are retried this way; when the attempts are spent, the saga ends in
  /// `compensation_failed`.
  retry_policy compensation_retry{5, std::chrono::milliseconds{100},
                                  std::chrono::milliseconds{5000}};

  /// Index of the step called `name`, or -1.
  int index_of(const std::string& name) const;
};

/// Declares a saga type:
///
///   auto def = saga_builder{"lead"}
///                  .reply_topic("lead.saga.replies")
///                  .step({"reserve_quota", action::command("quota.commands"),
///                         action::command("quota.commands"), {std::chrono::seconds{5}}})
///                  .parallel({{"enrich", action::command("enrich.commands")},
///                             {"geo", action::call(geo_lookup)}})
///                  .step({"notify_crm", action::command("crm.commands")})
///                  .build();   // result<saga_definition>
class saga_builder {
public:
  explicit saga_builder(std::string type);

  saga_builder& reply_topic(std::string topic);
  /// A step that runs alone, after the steps declared before it.
  saga_builder& step(step_decl s);
  /// Steps that start together; the saga goes on once all of them are done.
  saga_builder& parallel(std::vector<step_decl> group);
  saga_builder& compensation_retry(retry_policy p);

  /// Errors: errc::invalid_definition naming the saga and what is wrong: no steps, an
  /// empty or duplicate step name, an empty parallel group, an action or compensation
  /// that has neither a topic nor a local call, command steps without a reply topic, a
  /// negative timeout, a retry policy with 0 attempts.
  result<saga_definition> build() const;

private:
  saga_definition def_;
  std::uint16_t stage_ = 0;
  bool empty_group_ = false;
};

} // namespace phoenix::sagas
