#include "phoenix/sagas/testing/saga_test.hpp"

#include "phoenix/persistence/store_actor.hpp"

#include <caf/all.hpp>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace phoenix::sagas::testing {

saga_test::saga_test()
    : log_(std::make_shared<participant_log>()), stats_(std::make_shared<saga_stats>()),
      wall_base_(std::chrono::system_clock::now()), steady_base_(sched.clock().now()) {
  char tmpl[] = "/tmp/phoenix-saga-test-XXXXXX";
  if (!mkdtemp(tmpl))
    throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  persistence::store_config cfg;
  cfg.path = dir_ + "/sagas.db";
  auto db = persistence::open_store(cfg);
  if (!db)
    throw std::runtime_error(db.error().describe());
  persistence::store_actor_options opts;
  opts.detached = false;
  opts.batch_max = 1; // each request written at once: no batch timer to drive
  opts.purge_interval = std::chrono::milliseconds{0};
  opts.clock = [this] { return now(); };
  opts.link = link_;
  store_ = persistence::spawn_store_actor(sys, std::move(*db), std::move(opts));
  link_.attach(store_);
}

saga_test::~saga_test() {
  for (auto* a : {&participants_, &relay_, &coordinator_, &store_})
    if (*a)
      caf::anon_send_exit(*a, caf::exit_reason::user_shutdown);
  run();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

persistence::time_point saga_test::now() const {
  return wall_base_ + std::chrono::duration_cast<persistence::time_point::duration>(
                          sched.clock().now() - steady_base_);
}

void saga_test::use(result<saga_definition> def) {
  ASSERT_TRUE(def.has_value()) << def.error().message();
  def_ = std::move(*def);
  spawn_coordinator_and_friends();
}

void saga_test::spawn_coordinator_and_friends() {
  relay_options ro;
  ro.store = link_;
  ro.interval = std::chrono::milliseconds{0};
  auto participants = std::make_shared<caf::actor>();
  ro.producer = [participants] { return *participants; };
  relay_ = spawn_outbox_relay(sys, std::move(ro));
  coordinator_options co;
  co.store = link_;
  co.relay = [relay = relay_] { return relay; };
  co.clock = [this] { return now(); };
  co.stats = stats_;
  co.trace = trace;
  coordinator_ = spawn_coordinator(sys, *def_, std::move(co));
  participants_ = spawn_participants(sys, log_, coordinator_);
  *participants = participants_;
  run();
}

bool saga_test::start(const std::string& id, std::string data) {
  return start(id, std::move(data), std::string{});
}

bool saga_test::start(const std::string& id, std::string data, std::string traceparent) {
  auto res = request(coordinator_, saga_start_atom::value, id, std::move(data), topic,
                     partition, std::move(traceparent));
  run();
  if (!res || !res->match_elements<bool>())
    return false;
  return res->get_as<bool>(0);
}

caf::actor saga_test::instance(const std::string& id) {
  auto res = request(coordinator_, saga_instance_atom::value, id);
  if (!res || !res->match_elements<caf::actor>())
    return {};
  return res->get_as<caf::actor>(0);
}

bool saga_test::crash(const std::string& id) {
  auto inst = instance(id);
  if (!inst)
    return false;
  caf::anon_send_exit(inst, caf::exit_reason::unhandled_exception);
  run();
  return true;
}

script& saga_test::on(const std::string& step, command_kind kind) {
  return log_->scripts[{step, kind}];
}

void saga_test::advance(std::chrono::milliseconds d) {
  advance_time(d);
  run();
}

std::optional<saga_state> saga_test::saga(const std::string& id) {
  auto res = request(store_, persistence::store_saga_atom::value, persistence::saga_id{id});
  if (!res || !res->match_elements<persistence::saga_record>())
    return std::nullopt;
  auto st = from_record(res->get_as<persistence::saga_record>(0));
  if (!st)
    return std::nullopt;
  return std::move(*st);
}

saga_status saga_test::status(const std::string& id) {
  auto s = saga(id);
  EXPECT_TRUE(s.has_value()) << "no saga " << id;
  return s ? s->status : saga_status::running;
}

std::uint64_t saga_test::restart(const std::string& t, std::int32_t p) {
  for (auto* a : {&participants_, &relay_, &coordinator_})
    caf::anon_send_exit(*a, caf::exit_reason::kill);
  run();
  spawn_coordinator_and_friends();
  auto res = request(coordinator_, saga_recover_atom::value, t, p);
  run();
  if (!res || !res->match_elements<std::uint64_t>())
    return 0;
  return res->get_as<std::uint64_t>(0);
}

} // namespace phoenix::sagas::testing
