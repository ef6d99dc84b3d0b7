#pragma once

#include "phoenix/runtime/error.hpp"

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>

namespace phoenix::bus {

/// Why the topic bus refused or failed a request.
enum class errc : std::uint8_t {
  unknown_topic = 1,    ///< The topic is in no `[bus]` list and `default = "none"`.
  invalid_argument,     ///< Malformed topic name, empty group, handler with neither a
                        ///< function nor an actor, key_concurrency 0 or above 256.
  invalid_envelope,     ///< The envelope would not decode on the subscriber's side
                        ///< (missing ce_id, bad UTF-8, an extension named like a mapped
                        ///< header, ...); the message carries the envelope's error.
  already_subscribed,   ///< The bus has a subscription of that group to that topic.
  unknown_subscription, ///< Unsubscribe of an id the bus does not know (any more).
  subscriber_full,      ///< In-process: a subscription of the topic holds `max_pending`
                        ///< records; the record was queued for none of them.
  delivery_failed,      ///< Kafka: the producer reported a failure (librdkafka's reason)
                        ///< or did not answer within `publish_timeout`.
  producer_unavailable, ///< Kafka: no producer has been started.
  subscribe_failed,     ///< Kafka: the subscription's group consumer did not start.
  stopping,             ///< The bus is stopping: it takes no new subscriptions, and no
                        ///< in-process records once those subscriptions have stopped.
  no_answer,            ///< (sync helpers) The bus did not answer: not running, or not
                        ///< within the caller's timeout.
};

const char* to_string(errc code) noexcept;

const std::error_category& bus_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), bus_category()};
}

/// CAF error category under which bus errors answer requests: the code is an errc, the
/// context holds one string (what was asked, and why it failed). runtime::describe()
/// prints it.
inline constexpr caf::atom_value bus_error_category = caf::atom("phx_bus");

/// The errc of a bus error; nullopt for any other error.
std::optional<errc> error_code(const caf::error& err);

/// A bus error for CAF, with `message` as its context.
caf::error make_caf_error(errc code, std::string message);

} // namespace phoenix::bus

template <>
struct std::is_error_code_enum<phoenix::bus::errc> : std::true_type {};
