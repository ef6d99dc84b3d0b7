#pragma once

#include "phoenix/sagas/definition.hpp"

#include <caf/fwd.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace phoenix::sagas::testing {

/// How a scripted participant answers one command.
struct answer {
  enum class kind { ok, fail, silent, lose_reply } what = kind::ok;
  std::string error;
};

/// The answers one step gives, in order; once they are used up it answers ok.
class script {
public:
  script& ok() { return add({answer::kind::ok, {}}); }
  script& fail(std::string why = "failed") {
    return add({answer::kind::fail, std::move(why)});
  }
  /// No reply at all: the step's timeout decides.
  script& silent() { return add({answer::kind::silent, {}}); }
  /// Applies the command, but its reply is lost (as in a crash before it was sent).
  script& lose_reply() { return add({answer::kind::lose_reply, {}}); }
  /// Every further attempt fails.
  script& always_fail(std::string why = "failed") {
    forever_ = answer{answer::kind::fail, std::move(why)};
    return *this;
  }
  answer next();

private:
  script& add(answer a) {
    answers_.push_back(std::move(a));
    return *this;
  }
  std::deque<answer> answers_;
  std::optional<answer> forever_;
};

/// What the scripted participants saw and did, shared with the test.
struct participant_log {
  /// `<step>/<action|compensate>` of every command delivered, in order, resends included.
  std::vector<std::string> delivered;
  /// `<step>/<action|compensate>` of every effect applied, in order: once per command id.
  std::vector<std::string> applied;
  /// The same, per saga id.
  std::map<std::string, std::vector<std::string>> applied_by_saga;
  /// The `traceparent` of every command delivered, in order (empty when it had none).
  std::vector<std::string> traceparents;
  /// Commands delivered again after they were applied, answered from memory.
  std::size_t duplicates = 0;
  std::map<std::pair<std::string, command_kind>, script> scripts;
  /// How a participant dedupes: the command ids it applied.
  std::set<std::string> applied_ids;
  /// When set, real participant code answers instead of the scripts (and dedupes
  /// itself); nullopt: no reply.
  std::function<std::optional<outcome>(const command&)> serve;
};

/// An actor speaking the producer's protocol (`kafka::produce_atom`) that stands for the
/// participants of one saga type: it reads each command from its record, dedupes it by
/// command id (an applied command is answered again, not applied again), answers as its
/// script says and sends the reply to `coordinator` as the reply topic would.
caf::actor spawn_participants(caf::actor_system& sys, std::shared_ptr<participant_log> log,
                              caf::actor coordinator);

} // namespace phoenix::sagas::testing
