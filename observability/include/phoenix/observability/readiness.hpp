#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace phoenix::observability {

/// The state of one readiness check: `detail` says why it fails (or what it saw).
struct check_state {
  bool ok = false;
  std::string detail;
};

/// One check's answer in a readiness report.
struct check_report {
  std::string name;
  bool ok = false;
  std::string detail;
};

/// All checks at one moment; `ready` when every check is ok (and when there is none).
struct readiness_report {
  bool ready = true;
  std::vector<check_report> checks; ///< Ordered by name.
};

class readiness;

/// A check whose owner sets its state (push style): "consumer joined", "breaker
/// closed". Thread-safe; the check leaves the registry when the last handle is gone.
class readiness_flag {
public:
  void set(bool ok, std::string detail = {});
  check_state get() const;

private:
  friend class readiness;
  mutable std::mutex mtx_;
  check_state state_;
};

/// The registry of named checks behind `/ready`. Modules register what the node needs to
/// serve traffic: the store reachable, the consumer joined, no breaker of a required
/// downstream open, no restart storm. Thread-safe.
class readiness {
public:
  /// A check evaluated on every `/ready` request, on the HTTP thread: it must be quick
  /// and thread-safe (read state others keep; do not block on I/O). Replaces a check of
  /// the same name.
  void add(std::string name, std::function<check_state()> check);

  /// A push-style check, starting as `initial`. Replaces a check of the same name.
  std::shared_ptr<readiness_flag> add_flag(std::string name, check_state initial);

  void remove(const std::string& name);

  /// Runs every check. A check that throws counts as failing, with the exception text.
  readiness_report evaluate() const;

private:
  struct entry {
    std::function<check_state()> check; // pull style
    std::weak_ptr<readiness_flag> flag; // push style, when `check` is empty
  };
  mutable std::mutex mtx_;
  mutable std::map<std::string, entry> checks_;
};

} // namespace phoenix::observability
