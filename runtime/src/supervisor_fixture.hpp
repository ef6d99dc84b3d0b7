// The supervisor tests' fixture: children that journal their starts and stops.
#pragma once

#include "phoenix/runtime/actor_error.hpp"
#include "phoenix/runtime/supervisor.hpp"
#include "phoenix/testkit/actor_test.hpp"

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace phoenix::runtime::test {

using namespace std::chrono_literals;

using crash_atom = caf::atom_constant<caf::atom("crash")>;
using finish_atom = caf::atom_constant<caf::atom("finish")>;

// What the test children did, in order, as "start a" / "stop a" lines.
struct journal {
  std::vector<std::string> lines;
  std::map<std::string, caf::actor> current;
  std::map<std::string, int> starts;
  std::vector<supervisor_event> events;

  std::vector<std::string> since(std::size_t mark) const {
    return {lines.begin() + static_cast<std::ptrdiff_t>(mark), lines.end()};
  }
  int count(supervisor_event::kind_t k) const {
    int n = 0;
    for (auto& e : events)
      n += e.kind == k;
    return n;
  }
};

struct worker_options {
  restart_type restart = restart_type::permanent;
  bool ignores_shutdown = false; // traps exit requests, so only a kill stops it
  bool fails_to_start = false;
};

inline child_spec worker(std::shared_ptr<journal> j, std::string id,
                         worker_options opt = {}) {
  auto start = [j, id, opt](caf::actor_system& sys) -> phoenix::result<caf::actor> {
    if (opt.fails_to_start)
      return phoenix::error{errc::invalid_argument, "database file is read-only"};
    auto a = sys.spawn([opt](caf::event_based_actor* self) -> caf::behavior {
      crash_on_exception(self);
      if (opt.ignores_shutdown)
        self->set_exit_handler([](caf::exit_msg&) {});
      return {
          [](crash_atom) { throw std::runtime_error("boom in handler"); },
          [self](finish_atom) { self->quit(); },
      };
    });
    a->attach_functor([j, id](const caf::error&) { j->lines.push_back("stop " + id); });
    j->lines.push_back("start " + id);
    j->current[id] = a;
    ++j->starts[id];
    return a;
  };
  return child_spec{id, start, opt.restart, 100ms};
}

// `child`, whose start fails ("broker unreachable") while `*fail` is true.
inline child_spec fails_to_restart_when(std::shared_ptr<bool> fail, child_spec child) {
  child.start =
      [fail, start = child.start](caf::actor_system& sys) -> phoenix::result<caf::actor> {
    if (*fail)
      return phoenix::error{errc::invalid_argument, "broker unreachable"};
    return start(sys);
  };
  return child;
}

class supervisor_test : public phoenix::testkit::actor_test {
protected:
  std::shared_ptr<journal> j = std::make_shared<journal>();

  supervisor_spec spec(restart_strategy s, int intensity,
                       std::vector<child_spec> children) {
    supervisor_spec out;
    out.name = "sup";
    out.strategy = s;
    out.intensity = intensity;
    out.period = 10s;
    out.children = std::move(children);
    auto jj = j;
    out.on_event = [jj](const supervisor_event& e) { jj->events.push_back(e); };
    return out;
  }

  // Keeps the supervisor referenced, as its parent or the node runner does in use: an
  // actor nobody references is destroyed.
  caf::actor start(supervisor_spec s) {
    auto r = start_supervisor(sys, std::move(s));
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().describe());
    run();
    if (r)
      keep_.push_back(*r);
    return r ? *r : caf::actor{};
  }

  std::vector<caf::actor> keep_;

  // Records the exit reason of `a` once it terminates.
  std::shared_ptr<std::optional<caf::error>> watch(const caf::actor& a) {
    auto out = std::make_shared<std::optional<caf::error>>();
    keep_.push_back(sys.spawn([a, out](caf::event_based_actor* self) -> caf::behavior {
      self->monitor(a);
      self->set_down_handler([self, out](caf::down_msg& m) {
        *out = m.reason;
        self->quit();
      });
      return {[](finish_atom) {}};
    }));
    run();
    return out;
  }

  void kill(const std::string& id) {
    caf::anon_send_exit(j->current.at(id), caf::exit_reason::kill);
    run();
  }

  void crash(const std::string& id) {
    caf::anon_send(j->current.at(id), crash_atom::value);
    run();
  }
};

using lines = std::vector<std::string>;

} // namespace phoenix::runtime::test
