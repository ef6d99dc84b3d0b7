#include "instance.hpp"

#include "phoenix/persistence/store_actor.hpp"
#include "phoenix/runtime/actor_error.hpp"
#include "phoenix/runtime/trace_context.hpp"
#include "phoenix/sagas/outbox_relay.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

namespace phoenix::sagas::detail {
namespace {

using retry_atom = caf::atom_constant<caf::atom("sg_retry")>;

using persistence::store_errc;

struct event {
  enum class type : std::uint8_t { outcome, timer, resume };
  type what = type::outcome;
  int step = -1;
  command_kind kind = command_kind::action;
  sagas::outcome result;
  std::int64_t token = 0;
  std::string trace; ///< The traceparent of the reply, if it had one.
  caf::response_promise rp;
};

// A transition written but not yet acknowledged by the store.
struct pending_write {
  effects fx;
  caf::response_promise rp;
  std::string why; // what caused it, for the saga's traceability row
};

// What an event did to a saga, as its traceability row says it.
std::string describe(const saga_definition& def, const event& ev) {
  switch (ev.what) {
  case event::type::outcome: {
    std::string out = def.steps[static_cast<std::size_t>(ev.step)].decl.name;
    out += ' ';
    out += to_string(ev.kind);
    out += ev.result.ok ? " succeeded" : " failed: " + ev.result.error;
    return out;
  }
  case event::type::timer:
    return "a timeout or retry fell due";
  case event::type::resume:
    return "resumed after a restart or rebalance";
  }
  return {};
}

class instance : public caf::event_based_actor {
public:
  instance(caf::actor_config& cfg, std::shared_ptr<const saga_context> ctx,
           caf::actor coordinator, std::string id, std::optional<saga_state> state,
           bool load)
      : caf::event_based_actor(cfg), ctx_(std::move(ctx)),
        coordinator_(std::move(coordinator)), loading_(load) {
    st_.id = std::move(id);
    if (state)
      st_ = std::move(*state);
    ++ctx_->opts.stats->instances;
  }

  // Counted down when it terminates (its memory may live on while a timer it armed is
  // pending).
  void on_exit() override { --ctx_->opts.stats->instances; }

  caf::behavior make_behavior() override {
    runtime::crash_on_exception(this);
    if (loading_)
      load();
    return {
        [this](saga_start_atom, std::string& id, std::string& data, std::string& topic,
               std::int32_t partition, std::string& trace) -> caf::result<bool> {
          ++handled_;
          if (st_.version != 0 || write_)
            return false;
          effects fx;
          auto t = ctx_->now();
          st_ = ctx_->machine.start(std::move(id), std::move(data), std::move(topic),
                                    partition, t, fx);
          st_.trace = std::move(trace);
          auto rp = make_response_promise<bool>();
          write(std::move(fx), std::move(rp), "started");
          return caf::delegated<bool>{};
        },
        [this](saga_reply_atom, saga_reply& r) -> caf::result<bool> {
          ++handled_;
          auto step = ctx_->def.index_of(r.step);
          if (step < 0)
            return false;
          auto rp = make_response_promise<bool>();
          dispatch(event{event::type::outcome, step, r.kind, std::move(r.outcome), 0,
                         std::move(r.trace), rp});
          return caf::delegated<bool>{};
        },
        [this](local_atom, int step, command_kind kind, outcome& o) {
          ++handled_;
          dispatch(event{event::type::outcome, step, kind, std::move(o), 0, {}, {}});
        },
        [this](timer_atom, std::int64_t token) {
          ++handled_;
          dispatch(event{event::type::timer, -1, command_kind::action, {}, token, {}, {}});
        },
        [this](resume_atom) {
          ++handled_;
          dispatch(event{event::type::resume, -1, command_kind::action, {}, 0, {}, {}});
        },
        [this](retry_atom) { send_write(); },
        [this](passivate_atom) { offer_state(); },
    };
  }

private:
  bool busy() const noexcept { return loading_ || write_ != nullptr; }

  void dispatch(event ev) {
    if (busy()) {
      queue_.push_back(std::move(ev));
      return;
    }
    apply(std::move(ev));
    idle_check();
  }

  void load() {
    auto store = ctx_->opts.store.actor();
    if (!store) {
      release("store not available");
      return;
    }
    request(store, caf::infinite, persistence::store_saga_atom::value,
            persistence::saga_id{st_.id})
        .then(
            [this](persistence::saga_record& r) {
              auto st = from_record(r);
              if (!st || st->type != ctx_->def.type || r.finished) {
                release(st ? "finished or of another type" : st.error().message());
                return;
              }
              st_ = std::move(*st);
              loading_ = false;
              arm();
              drain();
            },
            [this](caf::error& e) { release(runtime::describe(e)); });
  }

  void apply(event ev) {
    effects fx;
    auto t = ctx_->now();
    const auto& m = ctx_->machine;
    switch (ev.what) {
    case event::type::outcome:
      m.on_outcome(st_, ev.step, ev.kind, ev.result, t, fx);
      if (fx.changed && !ev.trace.empty())
        st_.trace = std::move(ev.trace); // its commands continue the reply's trace
      break;
    case event::type::timer:
      if (ev.token != st_.version)
        return; // armed before a later transition, which armed its own
      m.on_timer(st_, t, fx);
      if (!fx.changed) {
        arm(); // woke early (clocks differ): wait for the rest
        return;
      }
      break;
    case event::type::resume:
      m.resume(st_, fx);
      fx.changed = true;
      break;
    }
    if (!fx.changed) {
      if (ev.rp.pending())
        ev.rp.deliver(true);
      return;
    }
    auto why = ctx_->opts.trace ? describe(ctx_->def, ev) : std::string{};
    write(std::move(fx), std::move(ev.rp), std::move(why));
  }

  void write(effects fx, caf::response_promise rp, std::string why) {
    auto w = std::make_unique<pending_write>();
    w->fx = std::move(fx);
    w->rp = std::move(rp);
    w->why = std::move(why);
    write_ = std::move(w);
    send_write();
  }

  // The transition's request: the state and its commands, one transaction. Made again
  // for a retry rather than kept, so that the message takes it without a copy.
  persistence::store_request make_request() const {
    persistence::saga_op op;
    op.state = to_record(st_, ctx_->names);
    op.expected_version = st_.version;
    op.outbox.reserve(write_->fx.commands.size());
    // Commands continue the trace of the event that started or last advanced the saga:
    // same trace id, this transition's span as their parent.
    std::optional<runtime::trace_context> parent;
    if (!st_.trace.empty())
      if (auto t = runtime::trace_context::parse(st_.trace))
        parent = std::move(*t);
    runtime::trace_scope span{parent};
    for (const auto& c : write_->fx.commands) {
      auto env = command_envelope(c);
      const auto& decl =
          ctx_->def.steps[static_cast<std::size_t>(ctx_->def.index_of(c.step))].decl;
      const auto& act = c.kind == command_kind::action ? decl.action : *decl.compensation;
      op.outbox.push_back({act.topic, c.saga_id, std::move(env.payload),
                           pack_headers(runtime::encode_headers(env))});
    }
    persistence::store_request req;
    req.ops.emplace_back(std::move(op));
    return req;
  }

  void send_write() {
    if (!write_)
      return;
    auto store = ctx_->opts.store.actor();
    if (!store) {
      retry_later();
      return;
    }
    request(store, caf::infinite, persistence::store_apply_atom::value, make_request())
        .then([this](persistence::reply& r) { written(r.saga_versions.at(0)); },
              [this](caf::error& e) {
                if (persistence::is_store_error(e, store_errc::conflict)) {
                  ++ctx_->opts.stats->conflicts;
                  release("write refused: " + runtime::describe(e));
                } else {
                  spdlog::warn("saga {}: store write failed, retrying: {}", st_.id,
                               runtime::describe(e));
                  retry_later();
                }
              });
  }

  void retry_later() {
    ++ctx_->opts.stats->store_retries;
    delayed_send(this, ctx_->opts.store_retry, retry_atom::value);
  }

  // Not this node's saga (any more): another writer holds a newer version, or it is
  // finished or gone. Everything waiting is answered false and the instance stops.
  void release(const std::string& why) {
    if (write_ && write_->rp.pending())
      write_->rp.deliver(false);
    write_.reset();
    for (auto& ev : queue_)
      if (ev.rp.pending())
        ev.rp.deliver(false);
    queue_.clear();
    spdlog::debug("saga {}: {}, released", st_.id, why);
    send(coordinator_, inst_released_atom::value, st_.id);
    quit();
  }

  void written(std::int64_t version) {
    auto w = std::move(write_);
    auto& stats = *ctx_->opts.stats;
    bool first = st_.version == 0;
    st_.version = version;
    ++stats.transitions;
    if (first)
      ++stats.started;
    if (!w->fx.commands.empty() && ctx_->opts.relay)
      if (auto relay = ctx_->opts.relay())
        send(relay, relay_kick_atom::value);
    if (w->rp.pending())
      w->rp.deliver(true);
    if (ctx_->opts.trace)
      trace_transition(*w);
    if (is_final(st_.status)) {
      for (auto& ev : queue_)
        if (ev.rp.pending())
          ev.rp.deliver(true);
      queue_.clear();
      send(coordinator_, inst_finished_atom::value, std::move(st_));
      quit();
      return;
    }
    for (auto& c : w->fx.locals)
      run_local(c);
    arm();
    drain();
  }

  // The durable transition in the journey of the saga's id, which is the id of the
  // message that started it (`phoenix trace <id>`): its state, what caused it and
  // the commands it sent.
  void trace_transition(const pending_write& w) {
    persistence::trace_record row;
    row.key.value = st_.id;
    row.topic = st_.topic;
    row.partition = st_.partition;
    row.stage = std::string{"saga:"} + to_string(st_.status);
    row.detail = st_.type + " v" + std::to_string(st_.version) + ": " + w.why;
    for (const auto& c : w.fx.commands)
      row.detail +=
          "; sent " + c.command_id + " (attempt " + std::to_string(c.attempt) + ")";
    for (const auto& c : w.fx.locals)
      row.detail += "; calls " + c.command_id;
    if (is_final(st_.status) && !st_.last_error.empty())
      row.detail += "; last error: " + st_.last_error;
    row.at = std::chrono::system_clock::now();
    std::vector<persistence::trace_record> rows;
    rows.push_back(std::move(row));
    ctx_->opts.trace->submit(std::move(rows));
  }

  void run_local(const command& c) {
    const auto& def = ctx_->def;
    const auto& decl = def.steps[static_cast<std::size_t>(def.index_of(c.step))].decl;
    const auto& act = c.kind == command_kind::action ? decl.action : *decl.compensation;
    outcome o;
    try {
      o = act.local(c);
    } catch (const std::exception& e) {
      o = outcome::failure(e.what());
    }
    // Through the coordinator, which counts what it forwards (see passivation).
    send(coordinator_, local_atom::value, c.saga_id, def.index_of(c.step), c.kind,
         std::move(o));
  }

  // Timers go to the coordinator: they must reach the saga after it passivated too.
  void arm() {
    auto due = ctx_->machine.next_due(st_);
    if (due == 0)
      return;
    auto wait = std::chrono::microseconds{std::max<micros>(0, due - ctx_->now())};
    delayed_send(coordinator_, wait, timer_atom::value, st_.id, st_.version);
  }

  void drain() {
    while (!busy() && !queue_.empty()) {
      auto ev = std::move(queue_.front());
      queue_.erase(queue_.begin());
      apply(std::move(ev));
    }
    if (queue_.empty())
      queue_.shrink_to_fit();
    idle_check();
  }

  void idle_check() {
    if (!busy())
      last_active_ = clock().now();
  }

  // Asked by the coordinator's sweep: an instance idle for passivate_after offers its
  // state back; the coordinator takes it if no event is on its way here.
  void offer_state() {
    if (busy() || offering_ || clock().now() - last_active_ < ctx_->opts.passivate_after)
      return; // the next sweep asks again
    offering_ = true;
    request(coordinator_, caf::infinite, inst_idle_atom::value, st_.id, handled_, st_)
        .then(
            [this](bool taken) {
              offering_ = false;
              if (taken)
                quit();
            },
            [this](caf::error&) { offering_ = false; });
  }

  std::shared_ptr<const saga_context> ctx_;
  caf::actor coordinator_;
  saga_state st_;
  bool loading_ = false;
  bool offering_ = false;
  std::uint64_t handled_ = 0; ///< Events the coordinator forwarded, received.
  std::unique_ptr<pending_write> write_;
  std::vector<event> queue_; // empty while idle: an idle instance stays small
  caf::actor_clock::time_point last_active_ = clock().now();
};

} // namespace

caf::actor spawn_instance(caf::actor_system& sys, std::shared_ptr<const saga_context> ctx,
                          caf::actor coordinator, std::string id,
                          std::optional<saga_state> state, bool load) {
  // lazy_init: a message always follows the spawn; it schedules the actor once.
  return sys.spawn<instance, caf::lazy_init>(std::move(ctx), std::move(coordinator),
                                             std::move(id), std::move(state), load);
}

} // namespace phoenix::sagas::detail
