// The consumer's side of the circuit breakers: while the breaker of a handler's
// downstream is open, the partitions of that handler's topics are paused at librdkafka,
// so nothing more is fetched for a downstream that cannot take it (and nothing piles up
// to be retried or dead-lettered). Checked once per poll round, with one atomic load per
// breaker while it is closed; a cool-down that ends resumes them within a round (at most
// 100 ms), and the half-open probe runs on the first record that arrives.

#include "kafka/consumer_actor.hpp"

#include <spdlog/spdlog.h>

namespace phoenix::kafka {

void consumer_actor::find_breakers() {
  if (!cfg_.admission || !cfg_.admission->breakers)
    return;
  for (auto& [topic, h] : handlers_)
    if (!h.downstream_name().empty())
      breakers_[topic] = cfg_.admission->breakers->of(h.downstream_name());
}

void consumer_actor::apply_breakers() {
  if (breakers_.empty())
    return;
  for (auto& [tp, st] : parts_) {
    auto it = breakers_.find(tp.topic);
    if (it == breakers_.end())
      continue;
    bool blocked = !it->second->admits_traffic();
    if (blocked == st.breaker_paused)
      continue;
    // A partition paused at librdkafka for its bound (fetch_paused) stays paused; its
    // backpressure resume leaves it paused while the breaker is open.
    if (!st.fetch_paused) {
      if (auto ok = rk_->pause(tp, blocked); !ok) {
        spdlog::warn("consumer: {}", ok.error().message());
        continue;
      }
    }
    st.breaker_paused = blocked;
    stats_->breaker_paused.fetch_add(blocked ? 1 : -1, std::memory_order_relaxed);
    spdlog::info("consumer: {} {} (breaker {} {})", to_string(tp),
                 blocked ? "paused" : "resumed", it->second->downstream(),
                 blocked ? "open" : "no longer open");
  }
}

} // namespace phoenix::kafka
