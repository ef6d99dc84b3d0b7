// publish_sync() and friends: bus requests from code that is no actor (tools, tests).

#include "bus/bus_shared.hpp"
#include "phoenix/runtime/actor_error.hpp"

#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>
#include <type_traits>

namespace phoenix::bus {
namespace {

phoenix::error from_answer(const caf::error& err, const std::string& what,
                           std::chrono::milliseconds timeout) {
  if (auto code = error_code(err)) {
    const auto& ctx = err.context();
    return {*code, ctx.match_elements<std::string>() ? ctx.get_as<std::string>(0) : what};
  }
  if (err == caf::sec::request_timeout)
    return {errc::no_answer,
            what + ": no answer within " + std::to_string(timeout.count()) + " ms"};
  return {errc::no_answer, what + ": " + runtime::describe(err)};
}

template <class T, class... Ts>
result<T> ask(caf::actor_system& sys, const caf::actor& bus, const std::string& what,
              std::chrono::milliseconds timeout, Ts&&... xs) {
  if (!bus)
    return phoenix::error{errc::no_answer, what + ": the bus is not running"};
  result<T> out = phoenix::error{errc::no_answer, what + ": no answer"};
  caf::scoped_actor self{sys};
  auto on_error = [&](caf::error& err) { out = from_answer(err, what, timeout); };
  if constexpr (std::is_void_v<T>)
    self->request(bus, timeout, std::forward<Ts>(xs)...)
        .receive([&] { out = result<void>{}; }, on_error);
  else
    self->request(bus, timeout, std::forward<Ts>(xs)...)
        .receive([&](T& value) { out = std::move(value); }, on_error);
  return out;
}

} // namespace

result<receipt> publish_sync(caf::actor_system& sys, const caf::actor& bus,
                             std::string topic, std::string key, runtime::envelope env,
                             std::chrono::milliseconds timeout) {
  auto what = "publish to " + topic;
  return ask<receipt>(sys, bus, what, timeout, publish_atom::value, std::move(topic),
                      std::move(key), std::move(env));
}

result<subscription_id> subscribe_sync(caf::actor_system& sys, const caf::actor& bus,
                                       subscription sub,
                                       std::chrono::milliseconds timeout) {
  auto what = "subscribe " + name_of(sub);
  return ask<subscription_id>(sys, bus, what, timeout, subscribe_atom::value,
                              std::move(sub));
}

result<void> unsubscribe_sync(caf::actor_system& sys, const caf::actor& bus,
                              subscription_id id, std::chrono::milliseconds timeout) {
  auto what = "unsubscribe #" + std::to_string(id.value);
  return ask<void>(sys, bus, what, timeout, unsubscribe_atom::value, id);
}

} // namespace phoenix::bus
