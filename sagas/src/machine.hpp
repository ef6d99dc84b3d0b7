#pragma once

// The saga state machine, free of actors and I/O: the coordinator feeds it events and
// carries out what it returns, after the new state is durable.

#include "phoenix/sagas/definition.hpp"
#include "phoenix/sagas/state.hpp"

#include <optional>
#include <vector>

namespace phoenix::sagas::detail {

/// What a transition asks for once its state is stored.
struct effects {
  bool changed = false;          ///< The state changed and must be written.
  std::vector<command> commands; ///< To participants, through the outbox.
  std::vector<command> locals;   ///< Local calls to make.
};

class machine {
public:
  explicit machine(const saga_definition& def) : def_(def) {}

  /// A new saga: starts the first stage.
  saga_state start(std::string id, std::string data, std::string topic,
                   std::int32_t partition, micros now, effects& fx) const;

  /// A participant's (or local call's) outcome for `step`. Stale and duplicate
  /// outcomes (the step is no longer waiting for this kind) change nothing.
  void on_outcome(saga_state& s, int step, command_kind kind, const outcome& o, micros now,
                  effects& fx) const;

  /// Timeouts and retry waits that fell due by `now`.
  void on_timer(saga_state& s, micros now, effects& fx) const;

  /// After a restart or a rebalance: sends again what steps are waiting for (the same
  /// command ids, so participants that applied them already only reply again).
  void resume(saga_state& s, effects& fx) const;

  /// The earliest timeout or retry of `s`, or 0 for none.
  micros next_due(const saga_state& s) const;

private:
  void send(const saga_state& s, int step, command_kind kind, effects& fx) const;
  void start_stage(saga_state& s, micros now, effects& fx) const;
  void advance(saga_state& s, micros now, effects& fx) const;
  /// `timed_out`: no outcome came in time (rather than a failure reply).
  void fail_attempt(saga_state& s, int step, command_kind kind, const std::string& why,
                    micros now, bool timed_out) const;
  micros timeout_of(int step) const;

  const saga_definition& def_;
};

} // namespace phoenix::sagas::detail
