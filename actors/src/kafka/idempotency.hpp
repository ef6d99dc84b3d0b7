#pragma once

// The idempotent consumer inside a lane (see kafka/idempotency.hpp): before the lane
// runs a batch, the gate claims the keys of its records; it tells the lane per record
// whether to run, skip or wait, and completes (or releases) the keys of finished
// records. A record's progress becomes committable (the channel's `last`) only once its
// completion is durable.
//
// One store request at a time per lane, in order: the completions of what finished go
// before the claims of the next batch, so a key finished in one batch is seen complete
// by its duplicate in the next. A failed request is sent again, unchanged (every
// operation in it is idempotent), after a backoff; nothing else is sent meanwhile.
// Private to the kafka actors.

#include "kafka/lane_channel.hpp"
#include "phoenix/actors/kafka/group_consumer.hpp"
#include "phoenix/persistence/types.hpp"

#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace phoenix::kafka {

/// What a consumer's lanes share: the config, with the scope settled.
struct gate_settings {
  idempotency_config cfg;
  std::string scope; ///< cfg.scope, or the group.id when that is empty.
};

/// The gate settings for `cfg`, or null when the consumer is not idempotent.
/// Errors: errc::invalid_argument for a scope with `|` or control characters.
result<std::shared_ptr<const gate_settings>>
make_gate_settings(const group_consumer_config& cfg);

/// What the gate decided for a record the lane is about to run.
enum class verdict : std::uint8_t {
  run,     ///< Claimed: run the handler, then call `finished`.
  skip,    ///< Already complete: counted and finished by the gate; go on.
  recheck, ///< A record before it in this lane holds the key: ask again (now).
  wait,    ///< Another owner holds the key: ask again after a backoff.
};

/// Timer message of a lane's gate: retry a failed request or ask again about keys held
/// by other owners.
using gate_tick_atom = caf::atom_constant<caf::atom("gate_tick")>;

class idempotency_gate {
public:
  /// How the gate acts on its lane.
  struct hooks {
    std::function<void()> resume; ///< Verdicts are in: run the lane again.
    /// Every record up to this offset is finished and durable: make it committable.
    std::function<void(std::int64_t)> durable;
  };

  /// Takes over what a crashed predecessor on `channel` left unsent (lane_channel::unsent):
  /// it goes out first, with the gate's first request.
  idempotency_gate(std::shared_ptr<const gate_settings> settings, lane_channel& channel,
                   std::uint32_t lane, std::shared_ptr<consumer_stats> stats,
                   std::shared_ptr<partition_stats> part, hooks h);

  /// True once the claims of `batch` (the lane's oldest) are answered. Before that, claims
  /// them (once: its records above `done_upto`) and returns false; the gate resumes the
  /// lane when the answers are in. A record of it the consumer gave up
  /// (lane_channel::given_up) has its key released.
  bool ready(caf::event_based_actor* self, const lane_batch& batch, std::int64_t done_upto);

  /// For the record at `offset`, which the lane is about to run (in offset order).
  verdict check(caf::event_based_actor* self, std::int64_t offset);

  /// The record at `offset` (verdict run) is finished: its key is completed if the
  /// handler's effect is done, else released for a later delivery to try again.
  void finished(std::int64_t offset, bool effect_done);

  /// The lane is done with the batch `ready` admitted (before it destroys it).
  void batch_finished() {
    admitted_ = {nullptr, -1};
    unanswered_ = 0;
  }

  /// The lane ran what it could: sends what is due (completions, claims).
  void flush(caf::event_based_actor* self);

  /// `gate_tick_atom` arrived.
  void on_tick(caf::event_based_actor* self);

  /// The lane is crashing: leaves the completions and releases not yet durable in the
  /// channel, for the next lane's gate to send first, and sends them now too (unanswered,
  /// in case no lane follows: the consumer is stopping).
  void crashed(caf::event_based_actor* self);

private:
  struct entry {
    std::string key;
    verdict v = verdict::run;
    bool answered = false; ///< Its claim came back (else it waits for one).
  };
  struct claim_target {
    std::int64_t offset;
    std::size_t claim; ///< Index in the reply's claims; npos: repeats an earlier key.
  };

  void send(caf::event_based_actor* self);
  void on_reply(caf::event_based_actor* self, const persistence::reply& rep);
  void on_failure(caf::event_based_actor* self, const std::string& why);
  void tick_after(caf::event_based_actor* self, std::chrono::milliseconds delay);
  std::string scoped(const std::string& key) const;
  std::string key_of(rd_kafka_message_t& m, std::string_view topic);

  std::shared_ptr<const gate_settings> settings_;
  lane_channel& channel_;
  std::uint32_t lane_;
  std::string owner_; // scope/topic/partition/lane, set with the first batch
  std::shared_ptr<consumer_stats> stats_;
  std::shared_ptr<partition_stats> part_; // duplicates by topic, for the metrics
  hooks hooks_;

  std::pair<const lane_batch*, std::int64_t> admitted_{nullptr, -1}; // batch, 1st offset
  std::size_t unanswered_ = 0;                      // its records whose claims are not back
  std::vector<runtime::header_view> headers_;       // reused for every record
  std::unordered_map<std::int64_t, entry> records_; // admitted, not finished
  std::unordered_map<std::string, int> held_;       // keys of records with verdict run
  std::vector<std::int64_t> to_claim_;              // claims to send, in offset order
  std::vector<persistence::store_op> ops_;          // completions/releases not yet sent
  std::vector<std::int64_t> finished_;              // finished, not yet durable, in order

  // The request in flight (at most one), kept whole for a retry.
  bool in_flight_ = false;
  persistence::store_request request_;
  std::size_t request_finished_ = 0; // prefix of finished_ its ops make durable
  std::vector<claim_target> request_claims_;

  bool failing_ = false;             // the request failed; a tick sends it again
  bool tick_due_ = false;            // a gate_tick is on its way
  std::int64_t waiting_offset_ = -1; // stopped at a key another owner holds
  std::chrono::milliseconds backoff_{0};
};

} // namespace phoenix::kafka
