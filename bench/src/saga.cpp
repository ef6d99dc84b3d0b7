#include "phoenix/bench/saga.hpp"

#include "phoenix/actors/kafka/producer_actor.hpp"
#include "phoenix/persistence/store_actor.hpp"
#include "phoenix/runtime/allocator.hpp"
#include "phoenix/runtime/node_runner.hpp"
#include "phoenix/sagas/coordinator.hpp"
#include "phoenix/sagas/outbox_relay.hpp"
#include "phoenix/sagas/wire.hpp"

#include <algorithm>
#include <caf/all.hpp>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>

namespace phoenix::bench {
namespace {

using clock_type = std::chrono::steady_clock;

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

std::size_t rss_bytes() {
  std::ifstream statm{"/proc/self/statm"};
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

// What the coordinator reports back, shared with the driving thread.
struct tracker {
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<clock_type::time_point> started;
  std::vector<double> ms;
  std::uint64_t finished = 0;

  void reset(std::size_t n) {
    std::lock_guard<std::mutex> g{mtx};
    started.assign(n, {});
    ms.assign(n, 0);
    finished = 0;
  }
  void done(const std::string& id) {
    auto i = std::stoull(id.substr(id.find('-') + 1));
    std::lock_guard<std::mutex> g{mtx};
    if (i < ms.size())
      ms[i] =
          std::chrono::duration<double, std::milli>(clock_type::now() - started[i]).count();
    // The driver polls every millisecond while its window is full; waking it per saga
    // cost a futex wake-up (and a thread switch) per saga, charged to the saga rate.
    if (++finished == ms.size())
      cv.notify_all();
  }
};

// The participants: answer each command at once (or never, while `silent`), as the
// reply topic would deliver the answer to the coordinator.
caf::behavior participants(caf::event_based_actor*, std::shared_ptr<caf::actor> coordinator,
                           std::shared_ptr<std::atomic<bool>> silent) {
  return {[=](kafka::produce_atom, kafka::outgoing_record& rec) {
    auto env = runtime::decode_envelope(rec.headers, rec.value);
    if (env && !*silent)
      if (auto c = sagas::read_command(*env))
        caf::anon_send(*coordinator, sagas::saga_reply_atom::value,
                       sagas::saga_reply{c->saga_id, c->step, c->kind, sagas::outcome{}});
    return kafka::delivery_report{rec.topic, 0, 0};
  }};
}

double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1,
                    static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

// Starts `n` sagas named <prefix>-<i>, at most `window` unfinished (or, `idle`, not yet
// passivated) at a time.
void drive(caf::actor coordinator, tracker& t, const sagas::saga_stats& stats,
           const std::string& prefix, std::uint64_t n, std::uint64_t window, bool idle) {
  auto base = stats.passivations.load();
  for (std::uint64_t i = 0; i < n; ++i) {
    {
      std::unique_lock<std::mutex> g{t.mtx};
      while ((idle ? stats.passivations.load() - base : t.finished) + window <= i)
        t.cv.wait_for(g, std::chrono::milliseconds{1});
      if (!idle)
        t.started[i] = clock_type::now();
    }
    caf::anon_send(
        coordinator, sagas::saga_start_atom::value, prefix + "-" + std::to_string(i),
        std::string{R"({"lead":1,"tenant":"t1"})"}, std::string{"bench"}, std::int32_t{0});
  }
}

} // namespace

result<saga_report> run_saga(const saga_options& opts) {
  if (opts.sagas == 0 || opts.in_flight == 0 || opts.rounds < 1)
    return error{runtime::errc::invalid_argument,
                 "bench saga: --sagas, --in-flight and --rounds must be at least 1"};
  saga_report report;
  report.options = opts;
  report.cores = std::thread::hardware_concurrency();
  report.allocator = runtime::allocator_name();
  std::string dir;
  auto path = opts.sqlite_path;
  if (path.empty()) {
    char tmpl[] = "/tmp/phoenix-bench-saga-XXXXXX";
    if (!mkdtemp(tmpl))
      return error{runtime::errc::invalid_argument, "bench saga: cannot create a temp dir"};
    dir = tmpl;
    path = dir + "/saga.db";
  }
  persistence::store_config scfg;
  scfg.path = path;
  scfg.batch_window = std::chrono::microseconds{opts.store_window_us};
  auto db = persistence::open_store(scfg);
  if (!db)
    return db.error();
  auto def = sagas::saga_builder{"bench"}
                 .reply_topic("bench.replies")
                 .step({"reserve", sagas::action::command("bench.a"),
                        sagas::action::command("bench.a")})
                 .step({"enrich", sagas::action::command("bench.b")})
                 .step({"notify", sagas::action::command("bench.c"),
                        sagas::action::command("bench.c")})
                 .build();
  {
    caf::actor_system_config cfg;
    runtime::configure_scheduler(cfg);
    caf::actor_system sys{cfg};
    persistence::store_link link;
    auto store = persistence::spawn_store_actor(sys, std::move(*db),
                                                persistence::actor_options(scfg));
    link.attach(store);
    auto coordinator = std::make_shared<caf::actor>();
    auto silent = std::make_shared<std::atomic<bool>>(false);
    auto parts = sys.spawn(participants, coordinator, silent);
    sagas::relay_options ro;
    ro.store = link;
    ro.producer = [parts] { return parts; };
    ro.rounds_in_flight = static_cast<std::size_t>(opts.relay_rounds);
    auto relay_stats = ro.stats;
    auto relay = sagas::spawn_outbox_relay(sys, ro);
    tracker t;
    sagas::coordinator_options co;
    co.store = link;
    co.relay = [relay] { return relay; };
    co.on_finished = [&t](const sagas::saga_state& s) { t.done(s.id); };
    auto stats = co.stats;
    *coordinator = sagas::spawn_coordinator(sys, *def, co);

    for (int r = 0; r < opts.rounds; ++r) {
      t.reset(opts.sagas);
      auto cpu = cpu_seconds();
      auto begin = clock_type::now();
      drive(*coordinator, t, *stats, "r" + std::to_string(r), opts.sagas, opts.in_flight,
            false);
      {
        std::unique_lock<std::mutex> g{t.mtx};
        if (!t.cv.wait_for(g, std::chrono::minutes{5},
                           [&] { return t.finished >= opts.sagas; })) {
          report.error =
              "round " + std::to_string(r + 1) + ": sagas did not finish in 5 min";
          break;
        }
      }
      auto secs = std::chrono::duration<double>(clock_type::now() - begin).count();
      report.sagas_per_second.push_back(static_cast<double>(opts.sagas) / secs);
      report.cpu_us_per_saga.push_back((cpu_seconds() - cpu) * 1e6 /
                                       static_cast<double>(opts.sagas));
      report.p50_ms.push_back(percentile(t.ms, 0.50));
      report.p99_ms.push_back(percentile(t.ms, 0.99));
    }

    if (relay_stats->rounds.load() > 0)
      report.outbox_rows_per_round = static_cast<double>(relay_stats->published.load()) /
                                     static_cast<double>(relay_stats->rounds.load());
    if (report.error.empty() && opts.idle > 0) {
      *silent = true;
      auto published = relay_stats->published.load();
      auto passivated = stats->passivations.load();
      auto before = rss_bytes();
      // At most --in-flight live instances at a time, so that the memory of the
      // passivated ones' actors is reused rather than measured.
      drive(*coordinator, t, *stats, "idle", opts.idle, opts.in_flight, true);
      auto until = clock_type::now() + std::chrono::minutes{5};
      // Wait until every idle saga is durable, its first command published and its
      // instance passivated (the coordinator's default passivate_after, 1 s).
      while (clock_type::now() < until &&
             (relay_stats->published.load() - published < opts.idle ||
              stats->passivations.load() - passivated < opts.idle))
        std::this_thread::sleep_for(std::chrono::milliseconds{50});
      if (stats->passivations.load() - passivated < opts.idle)
        report.error = "idle sagas not all passivated in 5 min";
      auto after = rss_bytes();
      report.bytes_per_idle_saga = after > before ? static_cast<double>(after - before) /
                                                        static_cast<double>(opts.idle)
                                                  : 0;
    }
    for (const auto& a : {relay, parts, *coordinator, store})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
  if (!dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return report;
}

std::string to_json(const saga_report& r) {
  auto median = [](std::vector<double> v) { return percentile(std::move(v), 0.5); };
  nlohmann::json j{
      {"scenario", "saga"},
      {"command", r.command},
      {"cores", r.cores},
      {"allocator", r.allocator},
      {"sagas", r.options.sagas},
      {"in_flight", r.options.in_flight},
      {"rounds", r.options.rounds},
      {"steps", 3},
      {"store", "sqlite"},
      {"sagas_per_second", r.sagas_per_second},
      {"p50_ms", r.p50_ms},
      {"p99_ms", r.p99_ms},
      {"cpu_us_per_saga", r.cpu_us_per_saga},
      {"outbox_rows_per_round", r.outbox_rows_per_round},
      {"median_sagas_per_second", median(r.sagas_per_second)},
      {"idle_sagas", r.options.idle},
      {"bytes_per_idle_saga", r.bytes_per_idle_saga},
      {"goal_sagas_per_second", r.goal_sagas_per_second},
      {"goal_bytes_per_idle_saga", r.goal_bytes_per_idle_saga},
      {"ratio_to_goal_rate", median(r.sagas_per_second) / r.goal_sagas_per_second},
      {"ratio_to_goal_memory", r.bytes_per_idle_saga / r.goal_bytes_per_idle_saga},
      {"error", r.error},
  };
  return j.dump();
}

std::string summary_line(const saga_report& r) {
  std::ostringstream out;
  auto med = percentile(r.sagas_per_second, 0.5);
  out << "bench saga: " << static_cast<long>(med) << " sagas/s (goal "
      << static_cast<long>(r.goal_sagas_per_second) << "), p50 "
      << percentile(r.p50_ms, 0.5) << " ms, p99 " << percentile(r.p99_ms, 0.5) << " ms, "
      << static_cast<long>(percentile(r.cpu_us_per_saga, 0.5)) << " us CPU per saga, "
      << static_cast<long>(r.bytes_per_idle_saga) << " B per idle saga (goal "
      << static_cast<long>(r.goal_bytes_per_idle_saga) << ")";
  return out.str();
}

} // namespace phoenix::bench
