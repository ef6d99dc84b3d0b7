#include "phoenix/actors/policies/breaker.hpp"

#include <spdlog/spdlog.h>

namespace phoenix::policies {

const char* to_string(breaker_state s) noexcept {
  switch (s) {
  case breaker_state::closed:
    return "closed";
  case breaker_state::open:
    return "open";
  case breaker_state::half_open:
    return "half_open";
  }
  return "?";
}

circuit_breaker::circuit_breaker(std::string downstream, runtime::breaker_settings settings,
                                 clock_fn now)
    : name_(std::move(downstream)), cfg_(settings), now_(std::move(now)),
      window_(static_cast<std::size_t>(std::max(1, cfg_.window)), false) {}

breaker_state circuit_breaker::state() const {
  auto s = static_cast<breaker_state>(state_.load(std::memory_order_acquire));
  if (s != breaker_state::open)
    return s;
  std::lock_guard<std::mutex> guard{mtx_};
  s = static_cast<breaker_state>(state_.load(std::memory_order_relaxed));
  if (s == breaker_state::open && now_() >= open_until_)
    return breaker_state::half_open;
  return s;
}

breaker_permit circuit_breaker::acquire() {
  if (state_.load(std::memory_order_acquire) == static_cast<int>(breaker_state::closed))
    return {true, false, {}};
  std::lock_guard<std::mutex> guard{mtx_};
  auto now = now_();
  auto s = static_cast<breaker_state>(state_.load(std::memory_order_relaxed));
  if (s == breaker_state::closed)
    return {true, false, {}};
  if (s == breaker_state::open && now >= open_until_) {
    move_to(breaker_state::half_open);
    s = breaker_state::half_open;
    probe_out_ = false;
  }
  if (s == breaker_state::half_open && (!probe_out_ || now >= open_until_)) {
    probe_out_ = true;
    open_until_ = now + cfg_.cool_down; // the probe's deadline
    return {true, true, {}};
  }
  refused_.fetch_add(1, std::memory_order_relaxed);
  // Open: until the cool-down ends. Half-open: the probe's answer usually comes well
  // before its deadline, so ask again soon.
  auto wait = open_until_ - now;
  if (s == breaker_state::half_open)
    wait = std::min<clock::duration>(wait, std::chrono::milliseconds{10});
  return {false, false, wait};
}

void circuit_breaker::record(bool success, bool probe) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto s = static_cast<breaker_state>(state_.load(std::memory_order_relaxed));
  if (s == breaker_state::half_open) {
    if (!probe)
      return; // admitted before the breaker opened; the probe decides
    probe_out_ = false;
    if (success)
      move_to(breaker_state::closed);
    else
      open_now();
    return;
  }
  if (s == breaker_state::open)
    return; // calls admitted before it opened say nothing new
  consecutive_ = success ? 0 : consecutive_ + 1;
  if (calls_ == window_.size())
    failures_ -= window_[next_] ? 1 : 0;
  else
    ++calls_;
  window_[next_] = !success;
  failures_ += success ? 0 : 1;
  next_ = (next_ + 1) % window_.size();
  bool by_count =
      cfg_.consecutive_failures > 0 && consecutive_ >= cfg_.consecutive_failures;
  bool by_rate =
      cfg_.failure_rate > 0 && calls_ >= static_cast<std::size_t>(cfg_.min_calls) &&
      static_cast<double>(failures_) >= cfg_.failure_rate * static_cast<double>(calls_);
  if (!success && (by_count || by_rate))
    open_now();
}

void circuit_breaker::open_now() {
  open_until_ = now_() + cfg_.cool_down;
  move_to(breaker_state::open);
}

void circuit_breaker::move_to(breaker_state to) {
  auto from = static_cast<breaker_state>(state_.load(std::memory_order_relaxed));
  if (from == to && to != breaker_state::open)
    return;
  if (to == breaker_state::closed || to == breaker_state::open) {
    consecutive_ = 0;
    calls_ = failures_ = next_ = 0;
    std::fill(window_.begin(), window_.end(), false);
  }
  state_.store(static_cast<int>(to), std::memory_order_release);
  transitions_[static_cast<int>(to)].fetch_add(1, std::memory_order_relaxed);
  if (to == breaker_state::open)
    spdlog::warn("breaker {}: open ({} -> open), calls wait {} ms", name_, to_string(from),
                 cfg_.cool_down.count());
  else
    spdlog::info("breaker {}: {} -> {}", name_, to_string(from), to_string(to));
}

breaker_registry::breaker_registry(
    std::map<std::string, runtime::breaker_settings> settings, clock_fn now)
    : settings_(std::move(settings)), now_(std::move(now)) {}

std::shared_ptr<circuit_breaker> breaker_registry::of(const std::string& downstream) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& b = breakers_[downstream];
  if (!b) {
    auto it = settings_.find(downstream);
    b = std::make_shared<circuit_breaker>(
        downstream, it == settings_.end() ? runtime::breaker_settings{} : it->second, now_);
  }
  return b;
}

void breaker_registry::for_each(
    const std::function<void(const circuit_breaker&)>& f) const {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& [name, b] : breakers_)
    f(*b);
}

} // namespace phoenix::policies
