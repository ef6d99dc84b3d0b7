// kill -9 in the middle of group-committed batches (SQLite): after a restart the
// database is intact, every acknowledged key is complete, and no request is half
// applied. The writer is src/testing/crash_writer.cpp.

#include "phoenix/persistence/store.hpp"
#include "phoenix/testkit/child_process.hpp"
#include "testing/temp_dir.hpp"

#include <csignal>
#include <gtest/gtest.h>
#include <sstream>
#include <thread>

namespace {

using namespace phoenix::persistence;
using namespace std::chrono_literals;

struct acks {
  std::size_t batches = 0;
  std::size_t last_key = 0; ///< Highest acknowledged key index (valid if batches > 0).
};

acks parse_acks(const std::string& out) {
  acks a;
  std::istringstream in{out};
  std::string word;
  std::size_t b = 0, first = 0, last = 0;
  while (in >> word >> b >> first >> last) {
    if (word != "ack")
      break;
    ++a.batches;
    a.last_key = last;
  }
  return a;
}

TEST(crash_recovery, sqlite_keeps_every_acknowledged_key_across_kill_9) {
  phoenix::persistence::testing::temp_dir dir;
  store_config cfg;
  cfg.path = dir.file("crash");
  constexpr std::size_t batch = 50;
  // A key log of three batches: the writer sorts it into a run every third batch and
  // merges runs every twelfth, so kill -9 also lands in those.
  constexpr std::size_t key_log_rows = 3 * batch;
  for (int round = 0; round < 3; ++round) {
    const std::string prefix = "r" + std::to_string(round) + "-";
    phoenix::testkit::child_process writer{{PHOENIX_CRASH_WRITER, "sqlite", cfg.path,
                                            prefix, std::to_string(batch),
                                            std::to_string(key_log_rows)}};
    // Let it commit a few dozen batches, then kill it wherever it is.
    ASSERT_TRUE(writer.wait_for_stdout("ack " + std::to_string(20 + 10 * round) + " ", 60s))
        << writer.err();
    std::this_thread::sleep_for(std::chrono::milliseconds{3 + 7 * round});
    writer.signal(SIGKILL);
    EXPECT_EQ(writer.wait(10s), 128 + SIGKILL);
    auto a = parse_acks(writer.out());
    ASSERT_GT(a.batches, 20u);

    auto db = open_store(cfg);
    ASSERT_TRUE(db) << db.error().describe();
    ASSERT_TRUE((*db)->verify()) << (*db)->verify().error().describe();
    for (std::size_t i = 0; i <= a.last_key; ++i) {
      auto k = (*db)->lookup({prefix + std::to_string(i)});
      ASSERT_TRUE(k);
      ASSERT_EQ(k->state, key_state::completed) << prefix << i << " was acknowledged";
      ASSERT_EQ((*db)->traces({prefix + std::to_string(i)})->size(), 1u);
    }
    // Past the last acknowledgement: whole requests or nothing (claim, trace and
    // completion are one request), never a claimed-but-not-completed key.
    for (std::size_t i = a.last_key + 1; i <= a.last_key + 4 * batch; ++i) {
      auto k = (*db)->lookup({prefix + std::to_string(i)});
      ASSERT_TRUE(k);
      EXPECT_NE(k->state, key_state::claimed) << prefix << i;
      EXPECT_EQ((*db)->traces({prefix + std::to_string(i)})->size(),
                k->state == key_state::completed ? 1u : 0u);
    }
    std::printf("round %d: %zu batches acknowledged before kill -9\n", round, a.batches);
  }
}

} // namespace
