#include "phoenix/persistence/errc.hpp"

#include "phoenix/runtime/actor_error.hpp"

#include <caf/error.hpp>

namespace phoenix::persistence {
namespace {

class category final : public std::error_category {
public:
  const char* name() const noexcept override { return "phoenix.store"; }

  std::string message(int code) const override {
    switch (static_cast<store_errc>(code)) {
    case store_errc::store_unavailable:
      return "store unavailable";
    case store_errc::conflict:
      return "store conflict";
    case store_errc::corrupt:
      return "store corrupt";
    case store_errc::migration_failed:
      return "store migration failed";
    case store_errc::bad_config:
      return "bad store configuration";
    case store_errc::not_found:
      return "not found in store";
    }
    return "unknown store error";
  }
};

} // namespace

const std::error_category& store_category() noexcept {
  static const category instance;
  return instance;
}

bool is_store_error(const caf::error& err, store_errc e) {
  return err.category() == runtime::phoenix_error_category &&
         err.code() == static_cast<uint8_t>(e);
}

} // namespace phoenix::persistence
