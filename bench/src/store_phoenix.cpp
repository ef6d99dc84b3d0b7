// The Phoenix side of `phoenix bench store`: the group-commit store actor, fed requests
// of `per_request` keys (each key claimed and completed), with enough requests
// outstanding that its batches fill up to `batch_max`.

#include "phoenix/persistence/store_actor.hpp"
#include "phoenix/runtime/actor_error.hpp"
#include "phoenix/runtime/node_runner.hpp"
#include "store_sides.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <future>

namespace phoenix::bench {
namespace {

using clock = std::chrono::steady_clock;

struct drive_result {
  std::uint64_t acked = 0;
  clock::time_point end;
  std::string error;
};

// Keeps `window` requests outstanding until the load is sent or its time is up, then
// waits for the last answer.
class driver : public caf::event_based_actor {
public:
  driver(caf::actor_config& cfg, caf::actor store, store_load load, std::size_t window,
         std::promise<drive_result> done)
      : caf::event_based_actor(cfg), store_(std::move(store)), load_(std::move(load)),
        window_(window), done_(std::move(done)) {}

  caf::behavior make_behavior() override {
    start_ = clock::now();
    for (std::size_t i = 0; i < window_ && more(); ++i)
      send_next();
    if (outstanding_ == 0)
      finish();
    return {[](caf::unit_t) {}}; // answers arrive through the requests' handlers
  }

private:
  bool more() const {
    return error_.empty() && sent_ < load_.keys &&
           // Stop at a batch boundary, so the last transaction is as full as the others.
           (sent_ % load_.batch != 0 || clock::now() - start_ < load_.max_time);
  }

  void send_next() {
    // As a lane's request: the claims of its keys, then their completions (in the
    // pipeline those of the batch before).
    const auto n = std::min<std::uint64_t>(load_.per_request, load_.keys - sent_);
    persistence::store_request req;
    req.ops.reserve(2 * n);
    for (std::uint64_t i = 0; i < n; ++i)
      req.ops.emplace_back(persistence::claim_op{{load_.source.key(sent_ + i)}});
    for (std::uint64_t i = 0; i < n; ++i)
      req.ops.emplace_back(persistence::complete_op{{load_.source.key(sent_ + i)}});
    sent_ += n;
    ++outstanding_;
    // No timeout: the store actor answers every request (a timer per request would
    // measure the actor clock, not the store).
    request(store_, caf::infinite, persistence::store_apply_atom::value, std::move(req))
        .then(
            [this, n](persistence::reply&) {
              acked_ += n;
              answered();
            },
            [this](caf::error& err) {
              if (error_.empty())
                error_ = "phoenix: " + runtime::describe(err);
              answered();
            });
  }

  void answered() {
    --outstanding_;
    if (more())
      send_next();
    else if (outstanding_ == 0)
      finish();
  }

  void finish() {
    done_.set_value({acked_, clock::now(), error_});
    quit();
  }

  caf::actor store_;
  store_load load_;
  std::size_t window_;
  std::promise<drive_result> done_;
  clock::time_point start_;
  std::uint64_t sent_ = 0;
  std::uint64_t acked_ = 0;
  std::size_t outstanding_ = 0;
  std::string error_;
};

} // namespace

store_outcome run_phoenix_store(const persistence::store_config& cfg,
                                const store_load& load) {
  store_outcome out;
  auto db = persistence::open_store(cfg);
  if (!db) {
    out.error = "phoenix: " + db.error().describe();
    return out;
  }
  caf::actor_system_config sys_cfg;
  runtime::configure_scheduler(sys_cfg); // as the node does
  caf::actor_system sys{sys_cfg};
  auto opts = persistence::actor_options(cfg);
  const auto per_request = std::max<std::size_t>(1, load.per_request);
  opts.batch_max = (load.batch + per_request - 1) / per_request;
  // The window bounds the wait for a batch at low load. Here the load is high and the
  // batch size is what is measured, so the window must not cut batches short.
  opts.batch_window = std::chrono::milliseconds{20};
  opts.purge_interval = std::chrono::milliseconds{0};
  auto store = persistence::spawn_store_actor(sys, std::move(*db), opts);

  std::promise<drive_result> promise;
  auto future = promise.get_future();
  const auto start = clock::now();
  const auto cpu = process_cpu_seconds();
  sys.spawn<driver>(store, load, std::max<std::size_t>(64, 2 * opts.batch_max),
                    std::move(promise));
  auto r = future.get();
  out.result.cpu_seconds = process_cpu_seconds() - cpu;
  out.result.records = r.acked;
  out.result.seconds = std::chrono::duration<double>(r.end - start).count();
  out.error = r.error;
  caf::scoped_actor self{sys};
  self->request(store, std::chrono::seconds{10}, persistence::store_stats_atom::value)
      .receive(
          [&](const persistence::store_stats& st) { out.transactions = st.transactions; },
          [](caf::error&) {});
  self->send_exit(store, caf::exit_reason::user_shutdown);
  return out;
}

} // namespace phoenix::bench
