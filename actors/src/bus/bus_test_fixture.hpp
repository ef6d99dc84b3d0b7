#pragma once

// What the bus's unit tests share: a bus on the deterministic scheduler, requests with
// their answers, a recording handler, and a subscriber actor that holds its records
// until the test answers them.

#include "phoenix/actors/bus/bus.hpp"
#include "phoenix/runtime/actor_error.hpp"
#include "phoenix/testkit/actor_test.hpp"

#include <algorithm>
#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace phoenix::bus_test {

using namespace phoenix;
using namespace std::chrono_literals;
using runtime::topic_route;

/// A record as a handler saw it.
struct seen_record {
  std::string handler;
  runtime::envelope env;
  kafka::record_position pos;
};
using seen_log = std::vector<seen_record>;

/// The answer to one request, once it came.
template <class T>
struct answer {
  bool came = false;
  std::optional<T> value;
  caf::error error;
};
template <>
struct answer<void> {
  bool came = false;
  bool ok = false;
  caf::error error;
};

/// What a holder (below) has been handed and not answered yet, oldest first.
struct holder_state {
  std::vector<seen_record> waiting;
  std::vector<caf::response_promise> promises;
  std::size_t max_waiting = 0; // most records held at once
};
using hold_answer_atom = caf::atom_constant<caf::atom("hold_ans")>;

/// A subscriber actor that answers each `(handle_atom, ...)` only when the test says so
/// (`(hold_answer_atom, index, status)` answers its index-th held record), and records
/// everything it was handed in `seen` under `name`.
inline caf::behavior holder(caf::event_based_actor* self, std::string name,
                            std::shared_ptr<holder_state> st,
                            std::shared_ptr<seen_log> seen) {
  return {
      [=](kafka::handle_atom, const runtime::envelope& env,
          const kafka::record_position& pos) -> caf::result<kafka::handler_status> {
        seen->push_back({name, env, pos});
        st->waiting.push_back({name, env, pos});
        st->promises.push_back(self->make_response_promise());
        st->max_waiting = std::max(st->max_waiting, st->waiting.size());
        return st->promises.back();
      },
      [=](hold_answer_atom, std::size_t index, kafka::handler_status status) {
        auto promise = st->promises.at(index);
        st->promises.erase(st->promises.begin() + static_cast<std::ptrdiff_t>(index));
        st->waiting.erase(st->waiting.begin() + static_cast<std::ptrdiff_t>(index));
        promise.deliver(status);
      },
  };
}

inline runtime::envelope event(const std::string& id, const std::string& payload = "{}") {
  runtime::envelope env;
  env.id = id;
  env.source = "/test";
  env.type = "test.event";
  env.payload = payload;
  return env;
}

class bus_test : public testkit::actor_test {
protected:
  std::shared_ptr<bus::bus_stats> stats = std::make_shared<bus::bus_stats>();
  std::shared_ptr<seen_log> seen = std::make_shared<seen_log>();

  ~bus_test() override {
    for (auto& a : keep_)
      caf::anon_send_exit(a, caf::exit_reason::kill);
    run();
  }

  /// Routes every topic in-process unless told otherwise.
  static bus::bus_config
  config(std::optional<topic_route> default_route = topic_route::in_process) {
    bus::bus_config cfg;
    cfg.origin = "test.toml";
    cfg.routes.default_route = default_route;
    return cfg;
  }

  result<caf::actor> start_bus(bus::bus_config cfg) {
    auto started = bus::bus_child("bus", std::move(cfg), nullptr, stats).start(sys);
    if (started)
      keep_.push_back(*started);
    return started;
  }

  /// Starts a bus that must start.
  caf::actor make_bus(bus::bus_config cfg = config()) {
    auto started = start_bus(std::move(cfg));
    EXPECT_TRUE(started.has_value()) << started.error().describe();
    return started ? *started : caf::actor{};
  }

  /// A function handler that records what it sees under `name` and says done.
  kafka::handler recorder(const std::string& name) {
    auto log = seen;
    return [log, name](const runtime::envelope_view& env, const kafka::record_view& rec) {
      log->push_back({name, env.to_envelope(), rec.position()});
      return kafka::handler_status::done;
    };
  }

  /// A holder actor (see holder()) and its state.
  std::pair<caf::actor, std::shared_ptr<holder_state>>
  spawn_holder(const std::string& name) {
    auto st = std::make_shared<holder_state>();
    auto h = sys.spawn(holder, name, st, seen);
    keep_.push_back(h);
    return {h, st};
  }

  template <class T, class... Ts>
  std::shared_ptr<answer<T>> ask(const caf::actor& dest, Ts... xs) {
    auto out = std::make_shared<answer<T>>();
    sys.spawn([=](caf::event_based_actor* self) {
      auto on_error = [out](caf::error& err) {
        out->came = true;
        out->error = err;
      };
      if constexpr (std::is_void_v<T>)
        self->request(dest, caf::infinite, xs...)
            .then(
                [out] {
                  out->came = true;
                  out->ok = true;
                },
                on_error);
      else
        self->request(dest, caf::infinite, xs...)
            .then(
                [out](T& value) {
                  out->came = true;
                  out->value = std::move(value);
                },
                on_error);
    });
    run();
    return out;
  }

  std::shared_ptr<answer<bus::receipt>> publish(const caf::actor& b,
                                                const std::string& topic,
                                                const std::string& key,
                                                runtime::envelope env) {
    return ask<bus::receipt>(b, bus::publish_atom::value, topic, key, std::move(env));
  }

  std::shared_ptr<answer<bus::subscription_id>> subscribe(const caf::actor& b,
                                                          bus::subscription sub) {
    return ask<bus::subscription_id>(b, bus::subscribe_atom::value, std::move(sub));
  }

  /// Subscribes and expects success.
  bus::subscription_id must_subscribe(const caf::actor& b, bus::subscription sub) {
    auto a = subscribe(b, std::move(sub));
    EXPECT_TRUE(a->came && a->value) << runtime::describe(a->error);
    return a->value.value_or(bus::subscription_id{});
  }

  /// Answers the index-th record `h` holds with `status`.
  void answer_held(const caf::actor& h, std::size_t index = 0,
                   kafka::handler_status status = kafka::handler_status::done) {
    caf::anon_send(h, hold_answer_atom::value, index, status);
    run();
  }

  /// Event ids the handler `name` was handed, in order (repeats included).
  std::vector<std::string> ids_seen_by(const std::string& name) const {
    std::vector<std::string> out;
    for (auto& r : *seen)
      if (r.handler == name)
        out.push_back(r.env.id);
    return out;
  }

  std::vector<caf::actor> keep_; // actors the test needs alive
};

/// The bus errc of an answer's error, for assertions.
template <class T>
std::optional<bus::errc> code_of(const answer<T>& a) {
  return bus::error_code(a.error);
}

} // namespace phoenix::bus_test
