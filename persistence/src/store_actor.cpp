#include "phoenix/persistence/store_actor.hpp"

#include "phoenix/runtime/actor_error.hpp"
#include "postgres/pg_store.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_response_promise.hpp>
#include <spdlog/spdlog.h>

namespace phoenix::persistence {
namespace {

using flush_atom = caf::atom_constant<caf::atom("st_flush")>;
using reconnect_atom = caf::atom_constant<caf::atom("st_reconn")>;
using purge_tick_atom = caf::atom_constant<caf::atom("st_ptick")>;
using health_tick_atom = caf::atom_constant<caf::atom("st_htick")>;

template <class T>
caf::result<T> to_caf(result<T>&& r) {
  if (!r)
    return runtime::to_caf_error(r.error());
  return std::move(r.value());
}

class store_actor : public caf::event_based_actor {
public:
  store_actor(caf::actor_config& cfg, std::unique_ptr<store> db, store_actor_options opts)
      : caf::event_based_actor(cfg), db_(std::move(db)), opts_(std::move(opts)) {}

  const char* name() const override { return "phoenix.store"; }

  caf::behavior make_behavior() override {
    runtime::crash_on_exception(this);
    // Requests inside the window are accepted work: write them before stopping.
    set_exit_handler([this](caf::exit_msg& msg) {
      flush();
      quit(msg.reason);
    });
    if (opts_.purge_interval.count() > 0)
      delayed_send(this, opts_.purge_interval, purge_tick_atom::value);
    if (opts_.health_interval.count() > 0)
      delayed_send(this, opts_.health_interval, health_tick_atom::value);
    return {
        [this](store_apply_atom, store_request& req) -> caf::result<reply> {
          if (!healthy_)
            return unavailable();
          pending_.push_back(std::move(req));
          promises_.push_back(make_response_promise<reply>());
          if (pending_.size() >= opts_.batch_max)
            flush();
          else if (pending_.size() == 1 && opts_.batch_window.count() == 0)
            // No window: the batch is whatever is queued behind this request, i.e.
            // what arrived while the previous transaction committed.
            send(this, flush_atom::value, generation_);
          else if (pending_.size() == 1)
            delayed_send(this, opts_.batch_window, flush_atom::value, generation_);
          return caf::delegated<reply>{};
        },
        [this](flush_atom, std::uint64_t generation) {
          // A timer of a batch that batch_max already flushed must not cut the
          // window of the next batch short.
          if (generation == generation_)
            flush();
        },
        [this](store_lookup_atom, const idempotency_key& key) -> caf::result<key_record> {
          return to_caf(read([&] { return db_->lookup(key); }));
        },
        [this](store_saga_atom, const saga_id& id) -> caf::result<saga_record> {
          auto r = read([&] { return db_->load_saga(id); });
          if (!r)
            return runtime::to_caf_error(r.error());
          if (!*r)
            return runtime::to_caf_error(
                make_store_error(store_errc::not_found, "saga " + id.value));
          return std::move(**r);
        },
        [this](store_sagas_atom, const std::string& topic,
               std::int32_t partition) -> caf::result<saga_list> {
          return to_caf(read([&] { return db_->unfinished_sagas(topic, partition); }));
        },
        [this](store_outbox_atom, std::uint64_t limit) -> caf::result<outbox_list> {
          return to_caf(
              read([&] { return db_->pending_outbox(static_cast<std::size_t>(limit)); }));
        },
        [this](store_outbox_atom, std::uint64_t limit,
               const outbox_scope& scope) -> caf::result<outbox_list> {
          return to_caf(read(
              [&] { return db_->pending_outbox(static_cast<std::size_t>(limit), scope); }));
        },
        [this](store_purge_atom) -> caf::result<purge_counts> { return purge(); },
        [this](purge_tick_atom) {
          if (healthy_) {
            auto r = purge();
            if (r.err)
              spdlog::warn("store: purge failed: {}", runtime::describe(r.err));
          }
          delayed_send(this, opts_.purge_interval, purge_tick_atom::value);
        },
        [this](health_tick_atom) {
          // While unhealthy the reconnect loop probes; a failure here starts it.
          if (healthy_)
            (void)read([&] { return db_->schema_version(); });
          delayed_send(this, opts_.health_interval, health_tick_atom::value);
        },
        [this](store_health_atom) -> caf::result<bool, std::string> {
          return {healthy_, last_error_};
        },
        [this](store_stats_atom) { return db_->stats(); },
        [this](reconnect_atom) { try_reconnect(); },
    };
  }

private:
  caf::error unavailable() const {
    return runtime::to_caf_error(make_store_error(
        store_errc::store_unavailable, "reconnecting; last error: " + last_error_));
  }

  /// One transaction for everything pending; each requester gets its own slot.
  void flush() {
    ++generation_;
    if (pending_.empty())
      return;
    // Swapped with spares, not moved out: the vectors keep their capacity from batch
    // to batch instead of growing again to batch_max every time.
    std::swap(batch_, pending_);
    std::swap(batch_promises_, promises_);
    auto done = [this] {
      batch_.clear();
      batch_promises_.clear();
    };
    auto& batch = batch_;
    auto& promises = batch_promises_;
    const auto started = std::chrono::steady_clock::now();
    auto out = db_->apply(batch, opts_.clock());
    opts_.link.batches().observe(batch.size(), std::chrono::steady_clock::now() - started,
                                 out.has_value());
    if (!out) {
      auto err = runtime::to_caf_error(out.error());
      for (auto& p : promises)
        p.deliver(err);
      done();
      on_failure(out.error());
      return;
    }
    for (std::size_t i = 0; i < promises.size(); ++i) {
      auto& r = (*out)[i];
      if (r)
        promises[i].deliver(std::move(r.value()));
      else
        promises[i].deliver(runtime::to_caf_error(r.error()));
    }
    done();
    if (auto m = db_->maintain(); !m)
      spdlog::warn("store: housekeeping failed, tried again after the next batch: {}",
                   m.error().message());
  }

  /// Reads go after the pending writes, so a requester sees what it asked to write.
  template <class F>
  auto read(F&& f) -> decltype(f()) {
    if (!healthy_)
      return make_store_error(store_errc::store_unavailable,
                              "reconnecting; last error: " + last_error_);
    flush();
    auto r = f();
    if (!r)
      on_failure(r.error());
    return r;
  }

  caf::result<purge_counts> purge() {
    auto r = read([&] { return db_->purge(opts_.clock() - opts_.retention); });
    if (!r)
      return runtime::to_caf_error(r.error());
    if (r->keys + r->traces + r->sagas > 0)
      spdlog::info("store: purged {} keys, {} traceability rows and {} finished sagas "
                   "older than {} h",
                   r->keys, r->traces, r->sagas, opts_.retention.count());
    return *r;
  }

  /// A conflict is the batch's own misfortune; anything else means the database is
  /// gone or damaged until a reconnect proves otherwise.
  void on_failure(const error& err) {
    last_error_ = err.describe();
    if (err.code() == store_errc::conflict || !healthy_)
      return;
    healthy_ = false;
    opts_.link.report(address(), false, last_error_);
    backoff_ = opts_.reconnect_min;
    spdlog::warn("store: {}; reconnecting", last_error_);
    delayed_send(this, backoff_, reconnect_atom::value);
  }

  void try_reconnect() {
    if (auto r = db_->reconnect(); !r) {
      last_error_ = r.error().describe();
      backoff_ = std::min(backoff_ * 2, opts_.reconnect_max);
      spdlog::debug("store: reconnect failed ({}); next attempt in {} ms", last_error_,
                    backoff_.count());
      delayed_send(this, backoff_, reconnect_atom::value);
      return;
    }
    healthy_ = true;
    opts_.link.report(address(), true, "");
    spdlog::info("store: reconnected after: {}", last_error_);
  }

  std::unique_ptr<store> db_;
  store_actor_options opts_;
  std::vector<store_request> pending_;
  std::vector<caf::typed_response_promise<reply>> promises_;
  std::vector<store_request> batch_; // the batch being written (spare between flushes)
  std::vector<caf::typed_response_promise<reply>> batch_promises_;
  std::uint64_t generation_ = 0;
  bool healthy_ = true;
  std::string last_error_;
  std::chrono::milliseconds backoff_{0};
};

} // namespace

store_actor_options actor_options(const store_config& cfg) {
  store_actor_options o;
  o.batch_max = cfg.batch_max;
  o.batch_window = cfg.batch_window;
  o.retention = cfg.retention;
  o.health_interval = std::chrono::seconds{2};
  return o;
}

caf::actor spawn_store_actor(caf::actor_system& sys, std::unique_ptr<store> db,
                             store_actor_options opts) {
  if (opts.detached)
    return sys.spawn<store_actor, caf::detached>(std::move(db), std::move(opts));
  return sys.spawn<store_actor>(std::move(db), std::move(opts));
}

result<caf::actor> start_store(caf::actor_system& sys, const store_config& cfg,
                               store_link link) {
  if (auto ok = validate(cfg, cfg.origin); !ok)
    return ok.error();
  auto db = open_store(cfg);
  if (!db) // the key that says where the database is: what the operator has to fix
    return error{db.error().code(), cfg.origin + ": [store] " +
                                        (cfg.backend == "sqlite" ? "path" : "dsn") + ": " +
                                        db.error().message()};
  spdlog::info("store: {} at {}, schema version {}", cfg.backend,
               cfg.backend == "sqlite" ? cfg.path : pg_redacted_dsn(cfg.dsn),
               latest_schema_version(cfg.backend));
  auto opts = actor_options(cfg);
  opts.link = link;
  auto actor = spawn_store_actor(sys, std::move(*db), std::move(opts));
  link.attach(actor);
  actor->attach_functor([link, addr = actor.address()](const caf::error& reason) mutable {
    link.detach(addr, "store actor stopped: " + runtime::describe(reason));
  });
  return actor;
}

runtime::child_spec store_child(store_config cfg, store_link link) {
  runtime::child_spec spec;
  spec.id = "store";
  spec.start = [cfg = std::move(cfg), link = std::move(link)](caf::actor_system& sys) {
    return start_store(sys, cfg, link);
  };
  return spec;
}

} // namespace phoenix::persistence
