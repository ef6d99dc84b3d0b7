// Writes group-committed batches to a store until killed, and acknowledges each batch
// on stdout once its transaction has committed:
//
//   persistence_crash_writer sqlite|postgres PATH|DSN PREFIX BATCH [KEY_LOG_ROWS]
//   -> "ack <batch> <first> <last>\n" per committed batch of keys PREFIX<first..last>
//
// Each request claims and completes one key and records a trace row, as the partition
// pipeline will. The kill -9 tests kill it at a random point and check that every
// acknowledged key is complete and that no request was half applied.

#include "phoenix/persistence/store.hpp"

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

int main(int argc, char** argv) {
  using namespace phoenix::persistence;
  if (argc != 5 && argc != 6) {
    std::fprintf(stderr, "usage: %s sqlite|postgres PATH|DSN PREFIX BATCH [KEY_LOG_ROWS]\n",
                 argv[0]);
    return 2;
  }
  store_config cfg;
  cfg.backend = argv[1];
  (cfg.backend == "sqlite" ? cfg.path : cfg.dsn) = argv[2];
  const std::string prefix = argv[3];
  const std::size_t batch_size = std::stoul(argv[4]);
  if (argc == 6) // small: the kill also lands in sorting the key log and merging runs
    cfg.key_log_rows = std::stoul(argv[5]);
  auto db = open_store(cfg);
  if (!db) {
    std::fprintf(stderr, "%s\n", db.error().describe().c_str());
    return 1;
  }
  std::size_t next = 0;
  for (std::size_t b = 0;; ++b) {
    std::vector<store_request> batch;
    for (std::size_t i = next; i < next + batch_size; ++i) {
      idempotency_key k{prefix + std::to_string(i)};
      trace_record t{k, "crash", 0, static_cast<std::int64_t>(i), "done", "writer", "", {}};
      batch.push_back(store_request{{claim_op{k}, trace_op{t}, complete_op{k}}});
    }
    auto out = (*db)->apply(batch, std::chrono::system_clock::now());
    if (!out) {
      std::fprintf(stderr, "batch %zu failed: %s\n", b, out.error().describe().c_str());
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
      (void)(*db)->reconnect();
      continue;
    }
    std::printf("ack %zu %zu %zu\n", b, next, next + batch_size - 1);
    std::fflush(stdout);
    next += batch_size;
  }
}
