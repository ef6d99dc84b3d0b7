#include "phoenix/observability/readiness.hpp"

#include <exception>

namespace phoenix::observability {

void readiness_flag::set(bool ok, std::string detail) {
  std::lock_guard<std::mutex> guard{mtx_};
  state_ = check_state{ok, std::move(detail)};
}

check_state readiness_flag::get() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return state_;
}

void readiness::add(std::string name, std::function<check_state()> check) {
  std::lock_guard<std::mutex> guard{mtx_};
  checks_[std::move(name)] = entry{std::move(check), {}};
}

std::shared_ptr<readiness_flag> readiness::add_flag(std::string name, check_state initial) {
  auto flag = std::make_shared<readiness_flag>();
  flag->state_ = std::move(initial);
  // Held weakly: once its owner drops the flag, the check is gone.
  std::lock_guard<std::mutex> guard{mtx_};
  checks_[std::move(name)] = entry{{}, flag};
  return flag;
}

void readiness::remove(const std::string& name) {
  std::lock_guard<std::mutex> guard{mtx_};
  checks_.erase(name);
}

readiness_report readiness::evaluate() const {
  std::map<std::string, entry> checks;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto it = checks_.begin(); it != checks_.end();) {
      if (!it->second.check && it->second.flag.expired())
        it = checks_.erase(it);
      else
        ++it;
    }
    checks = checks_;
  }
  readiness_report out;
  for (auto& [name, e] : checks) {
    check_state s;
    try {
      if (e.check) {
        s = e.check();
      } else if (auto flag = e.flag.lock()) {
        s = flag->get();
      } else {
        continue;
      }
    } catch (const std::exception& e) {
      s = {false, std::string{"check threw: "} + e.what()};
    }
    out.ready = out.ready && s.ok;
    out.checks.push_back(check_report{name, s.ok, std::move(s.detail)});
  }
  return out;
}

} // namespace phoenix::observability
