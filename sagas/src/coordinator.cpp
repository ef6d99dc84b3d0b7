#include "phoenix/sagas/coordinator.hpp"

#include "machine.hpp"
#include "phoenix/persistence/store_actor.hpp"
#include "phoenix/runtime/actor_error.hpp"
#include "phoenix/sagas/errc.hpp"
#include "phoenix/sagas/outbox_relay.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>
#include <unordered_map>

namespace phoenix::sagas {
namespace {

using timer_atom = caf::atom_constant<caf::atom("sg_timer")>;
using retry_atom = caf::atom_constant<caf::atom("sg_retry")>;
using local_atom = caf::atom_constant<caf::atom("sg_local")>;

using persistence::store_errc;

struct event {
  enum class type : std::uint8_t { outcome, timer, resume };
  type what = type::outcome;
  int step = -1;
  command_kind kind = command_kind::action;
  sagas::outcome result;
  std::int64_t token = 0;
  caf::response_promise rp;
};

// A transition written but not yet acknowledged by the store.
struct pending_write {
  persistence::store_request req;
  detail::effects fx;
  std::vector<caf::response_promise> rps;
};

struct instance {
  saga_state st;
  bool loading = false;
  std::unique_ptr<pending_write> write; // null while idle: an idle saga stays small
  std::vector<event> queue;
  bool busy() const noexcept { return loading || write != nullptr; }
};

class coordinator : public caf::event_based_actor {
public:
  coordinator(caf::actor_config& cfg, saga_definition def, coordinator_options opts)
      : caf::event_based_actor(cfg), def_(std::move(def)), opts_(std::move(opts)),
        machine_(def_) {
    for (const auto& st : def_.steps)
      names_.push_back(st.decl.name);
  }

  ~coordinator() override {
    opts_.stats->in_flight -= static_cast<std::int64_t>(map_.size());
  }

  caf::behavior make_behavior() override {
    runtime::crash_on_exception(this);
    return {
        [this](saga_start_atom, std::string& id, std::string& data, std::string& topic,
               std::int32_t partition) -> caf::result<bool> {
          if (map_.count(id))
            return false;
          auto rp = make_response_promise<bool>();
          detail::effects fx;
          auto st =
              machine_.start(id, std::move(data), std::move(topic), partition, now(), fx);
          auto& in = insert(id);
          in.st = std::move(st);
          write(in, std::move(fx), std::move(rp));
          return caf::delegated<bool>{};
        },
        [this](saga_reply_atom, saga_reply& r) -> caf::result<bool> {
          auto step = def_.index_of(r.step);
          if (step < 0)
            return false;
          auto rp = make_response_promise<bool>();
          event ev{event::type::outcome, step, r.kind, std::move(r.outcome), 0, rp};
          dispatch(r.saga_id, std::move(ev), true);
          return caf::delegated<bool>{};
        },
        [this](local_atom, const std::string& id, int step, command_kind kind, outcome& o) {
          dispatch(id, event{event::type::outcome, step, kind, std::move(o), 0, {}}, false);
        },
        [this](timer_atom, const std::string& id, std::int64_t token) {
          dispatch(id, event{event::type::timer, -1, command_kind::action, {}, token, {}},
                   false);
        },
        [this](retry_atom, const std::string& id) { send_write(id); },
        [this](saga_recover_atom, std::string& topic, std::int32_t partition)
            -> caf::result<std::uint64_t> { return recover(std::move(topic), partition); },
        [this](saga_revoke_atom, const std::string& topic,
               std::int32_t partition) -> std::uint64_t {
          std::uint64_t n = 0;
          for (auto i = map_.begin(); i != map_.end();) {
            if (i->second.st.topic == topic && i->second.st.partition == partition) {
              i = map_.erase(i);
              ++n;
            } else {
              ++i;
            }
          }
          opts_.stats->in_flight -= static_cast<std::int64_t>(n);
          return n;
        },
        [this](saga_count_atom) { return static_cast<std::uint64_t>(map_.size()); },
    };
  }

private:
  micros now() const { return to_micros(opts_.clock()); }

  instance& insert(const std::string& id) {
    auto [it, fresh] = map_.try_emplace(id);
    if (fresh)
      ++opts_.stats->in_flight;
    return it->second;
  }

  void erase(const std::string& id) {
    if (map_.erase(id))
      --opts_.stats->in_flight;
  }

  void dispatch(const std::string& id, event ev, bool load_if_absent) {
    auto i = map_.find(id);
    if (i == map_.end()) {
      if (!load_if_absent) // a timer of a saga that finished or moved away
        return;
      auto& in = insert(id);
      in.loading = true;
      in.queue.push_back(std::move(ev));
      load(id);
      return;
    }
    auto& in = i->second;
    if (in.busy()) {
      in.queue.push_back(std::move(ev));
      return;
    }
    apply(in, std::move(ev));
  }

  void load(const std::string& id) {
    auto store = opts_.store.actor();
    auto give_up = [this, id](const std::string& why) {
      auto i = map_.find(id);
      if (i == map_.end())
        return;
      for (auto& ev : i->second.queue)
        if (ev.rp.pending())
          ev.rp.deliver(false);
      spdlog::debug("saga {}: {}", id, why);
      erase(id);
    };
    if (!store) {
      give_up("store not available");
      return;
    }
    request(store, caf::infinite, persistence::store_saga_atom::value,
            persistence::saga_id{id})
        .then(
            [this, id, give_up](persistence::saga_record& r) {
              auto st = from_record(r);
              if (!st || st->type != def_.type || r.finished) {
                give_up(st ? "finished or of another type" : st.error().message());
                return;
              }
              auto i = map_.find(id);
              if (i == map_.end())
                return;
              i->second.st = std::move(*st);
              i->second.loading = false;
              arm(i->second);
              drain(i->second);
            },
            [give_up](caf::error& e) { give_up(runtime::describe(e)); });
  }

  void apply(instance& in, event ev) {
    detail::effects fx;
    auto t = now();
    switch (ev.what) {
    case event::type::outcome:
      machine_.on_outcome(in.st, ev.step, ev.kind, ev.result, t, fx);
      break;
    case event::type::timer:
      if (ev.token != in.st.version)
        return; // armed before a later transition, which armed its own
      machine_.on_timer(in.st, t, fx);
      if (!fx.changed) {
        arm(in); // woke early (clocks differ): wait for the rest
        return;
      }
      break;
    case event::type::resume:
      machine_.resume(in.st, fx);
      fx.changed = true;
      break;
    }
    if (!fx.changed) {
      if (ev.rp.pending())
        ev.rp.deliver(true);
      return;
    }
    write(in, std::move(fx), std::move(ev.rp));
  }

  void write(instance& in, detail::effects fx, caf::response_promise rp) {
    auto w = std::make_unique<pending_write>();
    persistence::saga_op op;
    op.state = to_record(in.st, names_);
    op.expected_version = in.st.version;
    op.outbox.reserve(fx.commands.size());
    for (const auto& c : fx.commands) {
      auto env = command_envelope(c);
      auto topic = def_.steps[static_cast<std::size_t>(def_.index_of(c.step))].decl;
      const auto& act = c.kind == command_kind::action ? topic.action : *topic.compensation;
      op.outbox.push_back({act.topic, c.saga_id, std::move(env.payload),
                           pack_headers(runtime::encode_headers(env))});
    }
    w->req.ops.emplace_back(std::move(op));
    w->fx = std::move(fx);
    if (rp.pending())
      w->rps.push_back(std::move(rp));
    in.write = std::move(w);
    opts_.stats->mailbox_depth = mailbox().size();
    send_write(in.st.id);
  }

  void send_write(const std::string& id) {
    auto i = map_.find(id);
    if (i == map_.end() || !i->second.write)
      return;
    auto store = opts_.store.actor();
    if (!store) {
      retry_later(id);
      return;
    }
    request(store, caf::infinite, persistence::store_apply_atom::value,
            i->second.write->req)
        .then([this, id](persistence::reply& r) { written(id, r.saga_versions.at(0)); },
              [this, id](caf::error& e) {
                if (persistence::is_store_error(e, store_errc::conflict)) {
                  ++opts_.stats->conflicts;
                  refused(id, runtime::describe(e));
                } else {
                  spdlog::warn("saga {}: store write failed, retrying: {}", id,
                               runtime::describe(e));
                  retry_later(id);
                }
              });
  }

  void retry_later(const std::string& id) {
    ++opts_.stats->store_retries;
    delayed_send(this, opts_.store_retry, retry_atom::value, id);
  }

  // Another writer holds a newer version (a duplicate start, or the saga moved to
  // another node): this node lets it go.
  void refused(const std::string& id, const std::string& why) {
    auto i = map_.find(id);
    if (i == map_.end())
      return;
    for (auto& rp : i->second.write->rps)
      rp.deliver(false);
    for (auto& ev : i->second.queue)
      if (ev.rp.pending())
        ev.rp.deliver(false);
    spdlog::debug("saga {}: write refused ({}), released", id, why);
    erase(id);
  }

  void written(const std::string& id, std::int64_t version) {
    auto i = map_.find(id);
    if (i == map_.end())
      return; // revoked meanwhile: the state is durable, the new owner resumes it
    auto& in = i->second;
    auto w = std::move(in.write);
    bool first = in.st.version == 0;
    in.st.version = version;
    ++opts_.stats->transitions;
    if (first)
      ++opts_.stats->started;
    if (!w->fx.commands.empty() && opts_.relay)
      if (auto relay = opts_.relay())
        send(relay, relay_kick_atom::value);
    for (auto& rp : w->rps)
      rp.deliver(true);
    if (is_final(in.st.status)) {
      count_final(in.st.status);
      if (opts_.on_finished)
        opts_.on_finished(in.st);
      for (auto& ev : in.queue)
        if (ev.rp.pending())
          ev.rp.deliver(true);
      erase(id);
      return;
    }
    for (auto& c : w->fx.locals)
      run_local(c);
    arm(in);
    drain(in);
  }

  void count_final(saga_status s) {
    auto& st = *opts_.stats;
    (s == saga_status::completed     ? st.completed
     : s == saga_status::compensated ? st.compensated
                                     : st.compensation_failed)++;
  }

  void run_local(const command& c) {
    const auto& decl = def_.steps[static_cast<std::size_t>(def_.index_of(c.step))].decl;
    const auto& act = c.kind == command_kind::action ? decl.action : *decl.compensation;
    outcome o;
    try {
      o = act.local(c);
    } catch (const std::exception& e) {
      o = outcome::failure(e.what());
    }
    send(this, local_atom::value, c.saga_id, def_.index_of(c.step), c.kind, std::move(o));
  }

  void arm(instance& in) {
    auto due = machine_.next_due(in.st);
    if (due == 0)
      return;
    auto wait = std::chrono::microseconds{std::max<micros>(0, due - now())};
    delayed_send(this, wait, timer_atom::value, in.st.id, in.st.version);
  }

  void drain(instance& in) {
    while (!in.busy() && !in.queue.empty()) {
      auto ev = std::move(in.queue.front());
      in.queue.erase(in.queue.begin());
      apply(in, std::move(ev));
    }
    if (in.queue.empty())
      in.queue.shrink_to_fit();
  }

  caf::result<std::uint64_t> recover(std::string topic, std::int32_t partition) {
    auto store = opts_.store.actor();
    if (!store)
      return runtime::to_caf_error(
          persistence::make_store_error(store_errc::store_unavailable, "no store actor"));
    auto rp = make_response_promise<std::uint64_t>();
    request(store, caf::infinite, persistence::store_sagas_atom::value, topic, partition)
        .then(
            [this, rp](persistence::saga_list& rows) mutable {
              std::uint64_t n = 0;
              for (auto& r : rows) {
                if (r.type != def_.type || r.finished || map_.count(r.id.value))
                  continue;
                auto st = from_record(r);
                if (!st) {
                  spdlog::error("saga {}: cannot resume: {}", r.id.value,
                                st.error().message());
                  continue;
                }
                auto& in = insert(r.id.value);
                in.st = std::move(*st);
                apply(in, event{event::type::resume, -1, command_kind::action, {}, 0, {}});
                ++n;
              }
              rp.deliver(n);
            },
            [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
    return rp;
  }

  saga_definition def_;
  coordinator_options opts_;
  detail::machine machine_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, instance> map_;
};

} // namespace

caf::actor spawn_coordinator(caf::actor_system& sys, saga_definition def,
                             coordinator_options opts) {
  return sys.spawn<coordinator>(std::move(def), std::move(opts));
}

} // namespace phoenix::sagas
