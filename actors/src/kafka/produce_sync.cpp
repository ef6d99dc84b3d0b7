// produce_sync(): a producer request from code that is no actor (tools, tests).

#include "phoenix/actors/kafka/producer_actor.hpp"
#include "phoenix/runtime/actor_error.hpp"

#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>

namespace phoenix::kafka {
namespace {

// A Phoenix error from a producer's answer, without the category prefix that
// to_caf_error() put into its text.
phoenix::error from_answer(const caf::error& err, const std::string& topic) {
  auto text = runtime::describe(err);
  if (err.category() == runtime::phoenix_error_category) {
    const auto& cat = runtime::runtime_category();
    auto prefix = std::string{cat.name()} + ": " + cat.message(err.code()) + ": ";
    if (text.compare(0, prefix.size(), prefix) == 0)
      text.erase(0, prefix.size());
    return {std::error_code{err.code(), cat}, std::move(text)};
  }
  if (err == caf::sec::request_receiver_down)
    return {runtime::errc::kafka_error, "produce to " + topic + ": producer unavailable"};
  return {runtime::errc::kafka_error, "produce to " + topic + ": " + text};
}

} // namespace

result<delivery_report> produce_sync(caf::actor_system& sys, const caf::actor& producer,
                                     outgoing_record record,
                                     std::chrono::milliseconds timeout) {
  auto topic = record.topic;
  if (!producer)
    return phoenix::error{runtime::errc::kafka_error,
                          "produce to " + topic + ": producer unavailable"};
  result<delivery_report> out =
      phoenix::error{runtime::errc::kafka_error, "produce to " + topic + ": no answer"};
  caf::scoped_actor self{sys};
  self->request(producer, timeout, produce_atom::value, std::move(record))
      .receive([&](delivery_report& report) { out = std::move(report); },
               [&](caf::error& err) {
                 if (err == caf::sec::request_timeout)
                   out = phoenix::error{runtime::errc::kafka_error,
                                        "produce to " + topic + ": no answer within " +
                                            std::to_string(timeout.count()) + " ms"};
                 else
                   out = from_answer(err, topic);
               });
  return out;
}

} // namespace phoenix::kafka
