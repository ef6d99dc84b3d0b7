#include "phoenix/runtime/actor_error.hpp"

#include <caf/exit_reason.hpp>
#include <caf/message.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/sec.hpp>
#include <exception>
#include <typeinfo>

namespace phoenix::runtime {

caf::error to_caf_error(const error& err) {
  return caf::error{static_cast<uint8_t>(err.code().value()), phoenix_error_category,
                    caf::make_message(err.describe())};
}

std::string describe(const caf::error& err) {
  if (!err)
    return "normal";
  const auto& ctx = err.context();
  if (err.category() == phoenix_error_category && ctx.match_elements<std::string>())
    return ctx.get_as<std::string>(0);
  std::string out;
  if (err.category() == caf::atom("exit"))
    out = to_string(static_cast<caf::exit_reason>(err.code()));
  else if (err.category() == caf::atom("system"))
    out = to_string(static_cast<caf::sec>(err.code()));
  else if (ctx.match_elements<std::string>()) // a module's own category (bus, txn)
    out = to_string(err.category()) + " error " + std::to_string(err.code());
  else
    out = to_string(err);
  if (ctx.match_elements<std::string>())
    out += ": " + ctx.get_as<std::string>(0);
  return out;
}

bool is_normal_exit(const caf::error& reason) {
  return !reason || reason == caf::make_error(caf::exit_reason::user_shutdown);
}

void crash_on_exception(caf::scheduled_actor* self) {
  self->set_exception_handler([](caf::scheduled_actor*, std::exception_ptr& ptr) {
    try {
      std::rethrow_exception(ptr);
    } catch (const std::exception& e) {
      return caf::make_error(caf::sec::runtime_error,
                             std::string{"unhandled exception: "} + e.what());
    } catch (...) {
      return caf::make_error(caf::sec::runtime_error,
                             std::string{"unhandled exception of unknown type"});
    }
  });
}

} // namespace phoenix::runtime
