#pragma once

#include "phoenix/actors/kafka/record.hpp"
#include "phoenix/runtime/envelope.hpp"
#include "phoenix/sagas/definition.hpp"
#include "phoenix/sagas/gateway.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace phoenix::lead_pipeline {

/// The topics of the pipeline. Command topics and the reply topic need as many
/// partitions as `lead_detected` (replies are keyed by saga id = lead id).
struct topics {
  std::string lead_detected = "lead.detected";
  std::string quota = "lead.quota.commands";
  std::string enrich = "lead.enrich.commands";
  std::string score = "lead.score.commands";
  std::string crm = "lead.crm.commands";
  std::string replies = "lead.saga.replies";

  std::vector<std::string> commands() const { return {quota, enrich, score, crm}; }
};

/// Failure injection, by lead number (`"lead": N` in the event), so a run is
/// reproducible: 0 turns a kind off.
struct failures {
  std::uint32_t quota_exhausted_every = 0; ///< Reserve fails: nothing to undo.
  std::uint32_t score_fails_every = 0;     ///< Score fails: quota released.
  /// The CRM applies the notification but its acknowledgement never comes: the step
  /// times out, the notification is retracted and the quota released.
  std::uint32_t crm_silent_every = 0;
};

struct options {
  lead_pipeline::topics topics;
  lead_pipeline::failures failures;
  std::chrono::milliseconds step_timeout{5000};
};

/// The lead saga: reserve quota (tenant) -> enrich -> score -> notify CRM; compensations
/// release the quota and retract the notification.
result<sagas::saga_definition> lead_saga(const options& opts);

/// Reads a `lead.detected` event: saga id = event id, input = payload.
std::optional<sagas::saga_start> start_of(const runtime::envelope& ev);

/// Sends a record (the participants' replies); must be callable from several threads.
using publish_fn = std::function<void(const std::string& topic, const std::string& key,
                                      const runtime::envelope& env)>;

/// The four participant services of the pipeline in one object, as a test or the demo
/// runs them: quota per tenant, enrichment, scoring, CRM notifications. Each applies a
/// command id at most once and answers every delivery of it (a resend after a saga
/// restart is answered from memory). A compensation may come before its action (the
/// saga compensates a timed-out step whose command is still on its way): it undoes
/// nothing and the late action is refused, so the quota never goes negative and a
/// retracted notification never appears. Thread-safe.
class participants {
public:
  explicit participants(options opts);

  /// Applies `c` (or recalls it) and says what to reply; nullopt: no reply (injected).
  std::optional<sagas::outcome> handle(const sagas::command& c);

  /// A Kafka handler for the command topics: reads the command, handles it, publishes
  /// the reply keyed by saga id. An undecodable command is rejected. A lead whose event
  /// carries `"fail": {"<step>": N}` finds that step's service unavailable for the first
  /// N deliveries of its command (not its compensation): the handler answers `retry`, so
  /// the record goes through the topic's retry policy and, for `notify_crm`, counts as a
  /// failure of the downstream "crm" (its breaker).
  kafka::record_handler handler(publish_fn publish);

  /// Deliveries answered `retry` by failure injection, per command id.
  std::map<std::string, int> unavailable_answers() const;

  /// How often each command id was applied (to check that none was applied twice).
  std::map<std::string, int> applied() const;
  std::size_t duplicates() const;
  /// Quota held per tenant: reserves minus releases.
  std::map<std::string, int> quota() const;
  /// Leads whose notification is in the CRM now.
  std::set<std::string> notified() const;

private:
  bool unavailable(const sagas::command& c);

  options opts_;
  mutable std::mutex mtx_;
  std::map<std::string, sagas::outcome> done_; // command id -> outcome replied
  std::map<std::string, int> applied_;
  std::map<std::string, int> unavailable_; // command id -> deliveries answered retry
  std::map<std::string, int> quota_;
  std::set<std::string> reserved_; // saga ids holding quota
  std::set<std::string> notified_;
  // (saga id, step) compensated before its action arrived: the action is refused.
  std::set<std::pair<std::string, std::string>> cancelled_;
  std::size_t duplicates_ = 0;
};

} // namespace phoenix::lead_pipeline
