#include "phoenix/sagas/errc.hpp"

#include "phoenix/runtime/actor_error.hpp"

#include <caf/error.hpp>

namespace phoenix::sagas {
namespace {

class category final : public std::error_category {
public:
  const char* name() const noexcept override { return "phoenix.sagas"; }

  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
    case errc::invalid_definition:
      return "invalid saga definition";
    case errc::unknown_saga:
      return "unknown saga";
    case errc::bad_message:
      return "bad saga message";
    case errc::duplicate_saga:
      return "saga already started";
    }
    return "unknown sagas error";
  }
};

} // namespace

const std::error_category& sagas_category() noexcept {
  static const category instance;
  return instance;
}

bool is_saga_error(const caf::error& err, errc e) {
  return err.category() == runtime::phoenix_error_category &&
         err.code() == static_cast<uint8_t>(e);
}

} // namespace phoenix::sagas
