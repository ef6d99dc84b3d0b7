#include "phoenix/runtime/error.hpp"

namespace phoenix::runtime {
namespace {

class category final : public std::error_category {
public:
  const char* name() const noexcept override { return "phoenix.runtime"; }

  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
    case errc::config_unreadable:
      return "config file unreadable";
    case errc::config_unknown_key:
      return "unknown config key";
    case errc::config_wrong_type:
      return "config value of wrong type";
    case errc::config_bad_value:
      return "invalid config value";
    case errc::child_start_failed:
      return "supervised child failed to start";
    case errc::restart_intensity:
      return "restart intensity exceeded";
    case errc::shutdown_failed:
      return "shutdown failed";
    case errc::kafka_error:
      return "kafka error";
    case errc::invalid_argument:
      return "invalid argument";
    }
    return "unknown runtime error";
  }
};

} // namespace

const std::error_category& runtime_category() noexcept {
  static const category instance;
  return instance;
}

} // namespace phoenix::runtime

namespace phoenix {

std::string error::describe() const {
  if (!code_)
    return "no error";
  std::string out = code_.category().name();
  out += ": ";
  out += code_.message();
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

} // namespace phoenix
