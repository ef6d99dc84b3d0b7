#include "phoenix/actors/bus/error.hpp"

#include <caf/make_message.hpp>

namespace phoenix::bus {
namespace {

class category final : public std::error_category {
public:
  const char* name() const noexcept override { return "phoenix.bus"; }
  std::string message(int code) const override {
    return to_string(static_cast<errc>(code));
  }
};

} // namespace

const char* to_string(errc code) noexcept {
  switch (code) {
  case errc::unknown_topic:
    return "unknown topic";
  case errc::invalid_argument:
    return "invalid argument";
  case errc::invalid_envelope:
    return "invalid envelope";
  case errc::already_subscribed:
    return "already subscribed";
  case errc::unknown_subscription:
    return "unknown subscription";
  case errc::subscriber_full:
    return "subscriber full";
  case errc::delivery_failed:
    return "delivery failed";
  case errc::producer_unavailable:
    return "producer unavailable";
  case errc::subscribe_failed:
    return "subscribe failed";
  case errc::stopping:
    return "bus stopping";
  case errc::no_answer:
    return "no answer from the bus";
  }
  return "unknown bus error";
}

const std::error_category& bus_category() noexcept {
  static const category instance;
  return instance;
}

std::optional<errc> error_code(const caf::error& err) {
  if (!err || err.category() != bus_error_category)
    return std::nullopt;
  return static_cast<errc>(err.code());
}

caf::error make_caf_error(errc code, std::string message) {
  return caf::error{static_cast<std::uint8_t>(code), bus_error_category,
                    caf::make_message(std::move(message))};
}

} // namespace phoenix::bus
