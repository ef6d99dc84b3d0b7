#include "phoenix/sagas/coordinator.hpp"

#include "instance.hpp"
#include "phoenix/persistence/store_actor.hpp"
#include "phoenix/runtime/actor_error.hpp"
#include "phoenix/sagas/errc.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>
#include <unordered_map>

namespace phoenix::sagas {
namespace {

using namespace detail;
using persistence::store_errc;
using sweep_atom = caf::atom_constant<caf::atom("sg_sweep")>;
using depth_atom = caf::atom_constant<caf::atom("sg_depth")>;

// How long after the last sample the mailbox is sampled again while it was not empty, so
// that the gauge returns to 0 on a node that went idle.
constexpr auto depth_resample = std::chrono::seconds{1};

// One in-flight saga as the coordinator holds it: its live instance, or (passivated)
// its compact state.
struct entry {
  saga_state st;          ///< Whole while passivated; only topic and partition while live.
  caf::actor inst;        ///< The live instance, or null.
  std::uint64_t sent = 0; ///< Events forwarded to `inst`.
  caf::actor_clock::time_point last; ///< When the last one was.
  std::uint8_t restarts = 0;
};

class coordinator : public caf::event_based_actor {
public:
  coordinator(caf::actor_config& cfg, saga_definition def, coordinator_options opts)
      : caf::event_based_actor(cfg),
        ctx_(std::make_shared<saga_context>(std::move(def), std::move(opts))),
        stats_(ctx_->opts.stats) {}

  ~coordinator() override { stats_->in_flight -= static_cast<std::int64_t>(map_.size()); }

  // Its instances end with it (their state is durable; a new coordinator recovers it).
  void on_exit() override {
    for (const auto& i : instances_)
      caf::anon_send_exit(i.first, caf::exit_reason::user_shutdown);
    instances_.clear();
  }

  caf::behavior make_behavior() override {
    runtime::crash_on_exception(this);
    set_down_handler([this](caf::down_msg& m) { on_instance_down(m); });
    return {
        [this](saga_start_atom a, std::string& id, std::string& data, std::string& topic,
               std::int32_t partition) -> caf::result<bool> {
          return start(a, id, data, topic, partition, std::string{});
        },
        [this](saga_start_atom a, std::string& id, std::string& data, std::string& topic,
               std::int32_t partition, std::string& trace) -> caf::result<bool> {
          return start(a, id, data, topic, partition, std::move(trace));
        },
        [this](saga_reply_atom a, saga_reply& r) -> caf::result<bool> {
          auto e = route(r.saga_id, true);
          delegate(e->inst, a, std::move(r));
          return caf::delegated<bool>{};
        },
        [this](local_atom a, const std::string& id, int step, command_kind kind,
               outcome& o) {
          if (auto e = route(id, false))
            send(e->inst, a, step, kind, std::move(o));
        },
        [this](timer_atom a, const std::string& id, std::int64_t token) {
          auto i = map_.find(id);
          if (i == map_.end() || (!i->second.inst && token != i->second.st.version))
            return; // finished, moved away, or armed before a later transition
          if (auto e = route(id, false))
            send(e->inst, a, token);
        },
        [this](inst_idle_atom, const std::string& id, std::uint64_t handled,
               saga_state& st) {
          auto i = map_.find(id);
          if (i == map_.end() || i->second.inst.address() != sender() ||
              i->second.sent != handled)
            return false; // events are on their way to it
          forget_instance(i->second);
          i->second.st = std::move(st);
          ++stats_->passivations;
          return true;
        },
        [this](inst_finished_atom, saga_state& st) {
          auto i = map_.find(st.id);
          if (i == map_.end() || i->second.inst.address() != sender())
            return;
          count_final(st.status);
          if (ctx_->opts.on_finished)
            ctx_->opts.on_finished(st);
          erase(i);
        },
        [this](inst_released_atom, const std::string& id) {
          auto i = map_.find(id);
          if (i != map_.end() && i->second.inst.address() == sender())
            erase(i);
        },
        [this](saga_recover_atom, std::string& topic, std::int32_t partition)
            -> caf::result<std::uint64_t> { return recover(std::move(topic), partition); },
        [this](saga_revoke_atom, const std::string& topic,
               std::int32_t partition) -> std::uint64_t {
          std::uint64_t n = 0;
          for (auto i = map_.begin(); i != map_.end();) {
            if (i->second.st.topic == topic && i->second.st.partition == partition) {
              // Its state is durable: what it has not written yet, the new owner redoes.
              if (auto inst = i->second.inst) {
                forget_instance(i->second);
                send_exit(inst, caf::exit_reason::user_shutdown);
              }
              i = erase(i);
              ++n;
            } else {
              ++i;
            }
          }
          return n;
        },
        [this](sweep_atom) { sweep(); },
        [this](depth_atom) {
          depth_armed_ = false;
          sample_mailbox();
        },
        [this](saga_count_atom) { return static_cast<std::uint64_t>(map_.size()); },
        [this](saga_instance_atom, const std::string& id) {
          auto i = map_.find(id);
          return i == map_.end() ? caf::actor{} : i->second.inst;
        },
    };
  }

private:
  caf::result<bool> start(saga_start_atom a, std::string& id, std::string& data,
                          std::string& topic, std::int32_t partition, std::string trace) {
    if (map_.count(id))
      return false;
    auto& e = insert(id);
    e.st.topic = topic;
    e.st.partition = partition;
    activate(id, e, false);
    ++e.sent;
    sample_mailbox();
    delegate(e.inst, a, std::move(id), std::move(data), std::move(topic), partition,
             std::move(trace));
    return caf::delegated<bool>{};
  }

  // The live instance of `id` (spawned from its passivated state, or to load it from
  // the store when unknown and `load_if_absent`), counted one more forwarded event; null
  // for an unknown saga otherwise.
  entry* route(const std::string& id, bool load_if_absent) {
    auto i = map_.find(id);
    if (i == map_.end()) {
      if (!load_if_absent)
        return nullptr; // a timer or local outcome of a saga that finished or moved away
      auto& e = insert(id);
      activate(id, e, true);
      ++e.sent;
      sample_mailbox();
      return &e;
    }
    auto& e = i->second;
    if (!e.inst)
      activate(id, e, false);
    ++e.sent;
    e.last = clock().now();
    sample_mailbox();
    return &e;
  }

  // The depth gauge, sampled per event routed; while it reads more than 0 it is sampled
  // again after depth_resample, so that it does not keep a burst's depth once the
  // messages behind the last event are handled and no event comes.
  void sample_mailbox() {
    const auto depth = mailbox().size();
    stats_->mailbox_depth = depth;
    if (depth > 0 && !depth_armed_) {
      depth_armed_ = true;
      delayed_send(this, depth_resample, depth_atom::value);
    }
  }

  // Passivation: one timer for all live instances; those that got no event for
  // passivate_after are asked to hand their state back (they refuse while busy).
  void sweep() {
    sweep_armed_ = false;
    auto now = clock().now();
    for (const auto& [addr, id] : instances_) {
      auto i = map_.find(*id);
      if (i != map_.end() && i->second.inst && now - i->second.last >= passivate_after())
        send(i->second.inst, passivate_atom::value);
    }
    arm_sweep();
  }

  void arm_sweep() {
    if (sweep_armed_ || instances_.empty() || passivate_after().count() <= 0)
      return;
    sweep_armed_ = true;
    delayed_send(this, passivate_after() / 2, sweep_atom::value);
  }

  std::chrono::milliseconds passivate_after() const { return ctx_->opts.passivate_after; }

  void activate(const std::string& id, entry& e, bool load) {
    std::optional<saga_state> st;
    if (!load && !e.st.id.empty()) { // passivated: the instance takes the state
      st = std::move(e.st);
      e.st = saga_state{};
      e.st.topic = st->topic;
      e.st.partition = st->partition;
    }
    e.inst = spawn_instance(system(), ctx_, caf::actor_cast<caf::actor>(this), id,
                            std::move(st), load);
    monitor(e.inst);
    e.sent = 0;
    e.last = clock().now();
    instances_.emplace(e.inst.address(), &map_.find(id)->first);
    arm_sweep();
  }

  void forget_instance(entry& e) {
    instances_.erase(e.inst.address());
    e.inst = nullptr;
  }

  // An instance ended without handing its saga back: it crashed (or was killed). The
  // saga restarts from the store; the events it had not handled are lost with it:
  // requests (starts, replies) are answered with an error, so their senders retry, and
  // the new instance resends what the steps wait for (same command ids) and arms the
  // timers from the stored times.
  void on_instance_down(caf::down_msg& m) {
    auto a = instances_.find(m.source);
    if (a == instances_.end())
      return; // handed back, finished or released: nothing to do
    auto id = *a->second;
    instances_.erase(a);
    if (!m.reason || m.reason == caf::exit_reason::normal)
      return; // its last message (finished, released) is still on its way
    auto i = map_.find(id);
    if (i == map_.end())
      return;
    auto& e = i->second;
    e.inst = nullptr;
    if (++e.restarts > ctx_->opts.max_restarts) {
      spdlog::error("saga {}: instance crashed {} times ({}); forgotten here, its state "
                    "stays in the store",
                    id, static_cast<int>(e.restarts), runtime::describe(m.reason));
      erase(i);
      return;
    }
    spdlog::warn("saga {}: instance crashed ({}); restarting it from the store", id,
                 runtime::describe(m.reason));
    ++stats_->instance_restarts;
    activate(id, e, true);
    ++e.sent;
    send(e.inst, resume_atom::value);
  }

  entry& insert(const std::string& id) {
    auto [it, fresh] = map_.try_emplace(id);
    if (fresh)
      ++stats_->in_flight;
    return it->second;
  }

  std::unordered_map<std::string, entry>::iterator
  erase(std::unordered_map<std::string, entry>::iterator i) {
    if (i->second.inst)
      instances_.erase(i->second.inst.address());
    --stats_->in_flight;
    return map_.erase(i);
  }

  void count_final(saga_status s) {
    auto& st = *stats_;
    (s == saga_status::completed     ? st.completed
     : s == saga_status::compensated ? st.compensated
                                     : st.compensation_failed)++;
  }

  caf::result<std::uint64_t> recover(std::string topic, std::int32_t partition) {
    auto store = ctx_->opts.store.actor();
    if (!store)
      return runtime::to_caf_error(
          persistence::make_store_error(store_errc::store_unavailable, "no store actor"));
    auto rp = make_response_promise<std::uint64_t>();
    request(store, caf::infinite, persistence::store_sagas_atom::value, topic, partition)
        .then(
            [this, rp](persistence::saga_list& rows) mutable {
              std::uint64_t n = 0;
              for (auto& r : rows) {
                if (r.type != ctx_->def.type || r.finished || map_.count(r.id.value))
                  continue;
                auto st = from_record(r);
                if (!st) {
                  spdlog::error("saga {}: cannot resume: {}", r.id.value,
                                st.error().message());
                  continue;
                }
                auto& e = insert(r.id.value);
                e.st = std::move(*st);
                activate(r.id.value, e, false);
                ++e.sent;
                send(e.inst, resume_atom::value);
                ++n;
              }
              rp.deliver(n);
            },
            [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
    return rp;
  }

  caf::actor_addr sender() { return caf::actor_cast<caf::actor_addr>(current_sender()); }

  std::shared_ptr<const saga_context> ctx_;
  std::shared_ptr<saga_stats> stats_;
  std::unordered_map<std::string, entry> map_;
  /// Live ones, by address; the saga id is the map_ key's (nodes do not move).
  std::unordered_map<caf::actor_addr, const std::string*> instances_;
  bool sweep_armed_ = false;
  bool depth_armed_ = false;
};

} // namespace

caf::actor spawn_coordinator(caf::actor_system& sys, saga_definition def,
                             coordinator_options opts) {
  return sys.spawn<coordinator>(std::move(def), std::move(opts));
}

} // namespace phoenix::sagas
