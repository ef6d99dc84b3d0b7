#include "phoenix/persistence/trace_log.hpp"

#include "phoenix/persistence/store_actor.hpp"
#include "phoenix/runtime/actor_error.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/system_messages.hpp>
#include <spdlog/spdlog.h>

namespace phoenix::persistence {

trace_log::trace_log(std::string node, std::size_t max_pending)
    : node_(std::move(node)), max_pending_(std::max<std::size_t>(1, max_pending)) {}

void trace_log::submit(std::vector<trace_record> rows) {
  for (auto& r : rows)
    if (r.node.empty())
      r.node = node_;
  std::lock_guard<std::mutex> guard{mtx_};
  std::move(rows.begin(), rows.end(), std::back_inserter(queue_));
  trim();
}

std::vector<trace_record> trace_log::take(std::size_t max) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto n = std::min(max, queue_.size());
  std::vector<trace_record> out{
      std::make_move_iterator(queue_.begin()),
      std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(n))};
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
  return out;
}

void trace_log::put_back(std::vector<trace_record> rows) {
  std::lock_guard<std::mutex> guard{mtx_};
  queue_.insert(queue_.begin(), std::make_move_iterator(rows.begin()),
                std::make_move_iterator(rows.end()));
  trim();
}

std::size_t trace_log::pending() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return queue_.size();
}

void trace_log::trim() {
  if (queue_.size() <= max_pending_)
    return;
  auto over = queue_.size() - max_pending_;
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(over));
  dropped.fetch_add(over, std::memory_order_relaxed);
}

std::string trace_message_id(std::string_view ce_id, std::string_view topic,
                             std::int32_t partition, std::int64_t offset) {
  if (!ce_id.empty())
    return std::string(ce_id);
  std::string out{topic};
  out += '/' + std::to_string(partition) + '/' + std::to_string(offset);
  return out;
}

namespace {

using write_tick_atom = caf::atom_constant<caf::atom("tr_tick")>;

class trace_writer : public caf::event_based_actor {
public:
  trace_writer(caf::actor_config& cfg, std::shared_ptr<trace_log> log, store_link link,
               trace_writer_options opts)
      : caf::event_based_actor(cfg), log_(std::move(log)), link_(std::move(link)),
        opts_(opts) {}

  const char* name() const override { return "phoenix.trace_writer"; }

  caf::behavior make_behavior() override {
    runtime::crash_on_exception(this);
    set_exit_handler([this](caf::exit_msg& msg) {
      stopping_ = std::move(msg.reason);
      stop_requested_ = true;
      if (!busy_)
        write_or_quit();
    });
    delayed_send(this, opts_.interval, write_tick_atom::value);
    return {[this](write_tick_atom) {
      if (!busy_)
        write();
      delayed_send(this, opts_.interval, write_tick_atom::value);
    }};
  }

  void on_exit() override {
    // Killed or crashed with rows in hand: they go back for the next writer.
    if (!in_hand_.empty())
      log_->put_back(std::move(in_hand_));
  }

private:
  // Writes one request's worth of rows; false when there was nothing to write.
  bool write() {
    in_hand_ = log_->take(opts_.max_rows);
    if (in_hand_.empty())
      return false;
    auto store = link_.actor();
    if (!store) {
      failed("no store actor is running");
      return true;
    }
    store_request req;
    req.ops.reserve(in_hand_.size());
    for (const auto& r : in_hand_)
      req.ops.emplace_back(trace_op{r});
    busy_ = true;
    auto timeout = stop_requested_ ? opts_.stop_timeout : std::chrono::milliseconds{30000};
    request(store, timeout, store_apply_atom::value, std::move(req))
        .then(
            [this](const reply&) {
              busy_ = false;
              if (failing_)
                spdlog::info("trace writer: the store takes rows again");
              failing_ = false;
              log_->written.fetch_add(in_hand_.size(), std::memory_order_relaxed);
              in_hand_.clear();
              if (stop_requested_)
                write_or_quit();
              else if (log_->pending() >= opts_.max_rows)
                write(); // a full request's worth waits: no need to wait for the tick
            },
            [this](const caf::error& err) {
              busy_ = false;
              failed(runtime::describe(err));
              if (stop_requested_)
                quit(stopping_);
            });
    return true;
  }

  // The rows in hand go back to the log for the next round.
  void failed(const std::string& why) {
    log_->failed_writes.fetch_add(1, std::memory_order_relaxed);
    if (!failing_ || stop_requested_)
      spdlog::warn("trace writer: {} row(s) not written, kept for later: {}",
                   in_hand_.size(), why);
    failing_ = true;
    log_->put_back(std::move(in_hand_));
    in_hand_.clear();
  }

  void write_or_quit() {
    if (!write() || !busy_)
      quit(stopping_);
  }

  std::shared_ptr<trace_log> log_;
  store_link link_;
  trace_writer_options opts_;
  std::vector<trace_record> in_hand_;
  bool busy_ = false;
  bool failing_ = false; // the last write failed: log the next success
  bool stop_requested_ = false;
  caf::error stopping_;
};

} // namespace

runtime::child_spec trace_writer_child(std::shared_ptr<trace_log> log, store_link link,
                                       trace_writer_options opts) {
  runtime::child_spec spec;
  spec.id = "trace_writer";
  spec.shutdown_timeout = opts.stop_timeout + std::chrono::seconds{1};
  spec.start = [log = std::move(log), link = std::move(link),
                opts](caf::actor_system& sys) -> result<caf::actor> {
    return sys.spawn<trace_writer>(log, link, opts);
  };
  return spec;
}

} // namespace phoenix::persistence
