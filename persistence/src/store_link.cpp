#include "phoenix/persistence/store_link.hpp"

#include <atomic>
#include <caf/actor_cast.hpp>
#include <mutex>

namespace phoenix::persistence {

struct store_link::state {
  mutable std::mutex mtx;
  caf::actor_addr actor; // weak, as runtime::actor_slot: keeps no actor alive
  std::string reason = "store not started";
  std::atomic<bool> ready{false}; // read without the lock, by health probes
  store_batch_stats batches;
};

void store_batch_stats::observe(std::size_t size, std::chrono::nanoseconds took,
                                bool ok) noexcept {
  std::size_t i = 0;
  while (i < size_bounds.size() && static_cast<double>(size) > size_bounds[i])
    ++i;
  sizes[i].fetch_add(1, std::memory_order_relaxed);
  requests.fetch_add(size, std::memory_order_relaxed);
  if (!ok)
    failed.fetch_add(1, std::memory_order_relaxed);
  latency.observe(took);
}

store_batch_stats& store_link::batches() const noexcept {
  return s_->batches;
}

store_link::store_link() : s_(std::make_shared<state>()) {}

caf::actor store_link::actor() const {
  std::lock_guard<std::mutex> g{s_->mtx};
  return caf::actor_cast<caf::actor>(s_->actor);
}

bool store_link::ready() const noexcept {
  return s_->ready.load(std::memory_order_acquire);
}

std::string store_link::reason() const {
  std::lock_guard<std::mutex> g{s_->mtx};
  return s_->reason;
}

void store_link::attach(caf::actor store) {
  std::lock_guard<std::mutex> g{s_->mtx};
  s_->actor = store.address();
  s_->reason.clear();
  s_->ready.store(true, std::memory_order_release);
}

void store_link::report(const caf::actor_addr& source, bool up, std::string why) {
  std::lock_guard<std::mutex> g{s_->mtx};
  if (!s_->actor || s_->actor != source)
    return;
  s_->reason = up ? std::string{} : std::move(why);
  s_->ready.store(up, std::memory_order_release);
}

void store_link::detach(const caf::actor_addr& source, std::string why) {
  std::lock_guard<std::mutex> g{s_->mtx};
  if (!s_->actor || s_->actor != source)
    return;
  s_->actor = caf::actor_addr{};
  s_->reason = std::move(why);
  s_->ready.store(false, std::memory_order_release);
}

} // namespace phoenix::persistence
