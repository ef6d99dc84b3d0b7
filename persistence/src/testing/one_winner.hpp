#pragma once

// Two store actors on one database (as two nodes sharing it), four threads claiming the
// same keys through both: each key must have exactly one winner. Shared by the SQLite
// (unit) and PostgreSQL (integration) tiers.

#include "phoenix/persistence/store_actor.hpp"
#include "phoenix/runtime/actor_error.hpp"

#include <atomic>
#include <caf/all.hpp>
#include <chrono>
#include <gtest/gtest.h>
#include <string>
#include <thread>
#include <vector>

namespace phoenix::persistence::testing {

inline void expect_one_winner_per_key(const store_config& cfg) {
  caf::actor_system_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  std::vector<caf::actor> stores;
  for (int i = 0; i < 2; ++i) {
    auto st = start_store(sys, cfg);
    ASSERT_TRUE(st) << st.error().describe();
    stores.push_back(*st);
  }
  constexpr int threads = 4;
  constexpr int keys = 100;
  std::vector<std::atomic<int>> wins(keys);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      caf::scoped_actor self{sys};
      for (int k = 0; k < keys; ++k)
        self->request(stores[(t + k) % 2], std::chrono::seconds{30},
                      store_apply_atom::value,
                      store_request::claim({"k" + std::to_string(k)}))
            .receive([&](reply& r) { wins[k] += r.claims.at(0) == claim_outcome::claimed; },
                     [&](caf::error& e) { ADD_FAILURE() << runtime::describe(e); });
    });
  for (auto& th : pool)
    th.join();
  for (int k = 0; k < keys; ++k)
    EXPECT_EQ(wins[k], 1) << "k" << k;
  for (auto& st : stores)
    caf::anon_send_exit(st, caf::exit_reason::user_shutdown);
}

} // namespace phoenix::persistence::testing
