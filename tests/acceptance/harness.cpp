#include "harness.hpp"

#include "kafka/rdkafka.hpp"
#include "phoenix/actors/kafka/producer.hpp"
#include "phoenix/runtime/envelope.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <httplib.h>
#include <regex>
#include <signal.h>
#include <sstream>
#include <thread>

namespace phoenix::acceptance {

namespace rd = kafka::rd;

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds bound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline)
      return done();
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

// ---- phoenix_node ------------------------------------------------------------------

namespace {

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string config_text(const testkit::client_properties_map& kafka, const node_spec& s) {
  std::ostringstream t;
  t << "[node]\nid = " << quoted(s.id) << "\nshutdown_timeout_ms = 20000\n"
    << "[http]\nlisten = \"127.0.0.1:0\"\n"
    << "[kafka]\n";
  for (auto& [k, v] : kafka)
    t << quoted(k) << " = " << quoted(v) << "\n";
  // A killed node's partitions wait for its session to time out before the group gives
  // them to another member: 6 s (the brokers' minimum) rather than librdkafka's 45 s.
  t << "\"group.id\" = " << quoted(s.group) << "\n"
    << "\"session.timeout.ms\" = \"6000\"\n"
    << "[store]\npath = " << quoted(s.store) << "\n"
    << "[app]\nname = \"lead-pipeline\"\n"
    << "[app.lead-pipeline]\ntopic_prefix = " << quoted(s.prefix)
    << "\nstep_timeout_ms = " << s.step_timeout_ms << "\n"
    << s.app_options << "\n"
    << s.extra << "\n";
  return t.str();
}

} // namespace

phoenix_node::phoenix_node(const testkit::real_cluster&,
                           const testkit::client_properties_map& kafka, node_spec spec,
                           const std::string& dir)
    : spec_(std::move(spec)) {
  config_ = dir + "/" + spec_.id + ".toml";
  std::ofstream{config_} << config_text(kafka, spec_);
}

phoenix_node::~phoenix_node() {
  if (proc_)
    stop();
}

void phoenix_node::start(bool ready) {
  ASSERT_FALSE(proc_) << spec_.id << " runs already";
  proc_ = std::make_unique<testkit::child_process>(
      std::vector<std::string>{PHOENIX_BIN, "run", "--config", config_});
  ASSERT_TRUE(proc_->wait_for_stderr("http: listening on", 30s)) << spec_.id << ":\n"
                                                                 << proc_->err();
  std::smatch m;
  auto err = proc_->err();
  ASSERT_TRUE(
      std::regex_search(err, m, std::regex{"listening on http://127\\.0\\.0\\.1:(\\d+)"}))
      << err;
  port_ = std::stoi(m[1]);
  if (ready)
    ASSERT_TRUE(wait_ready(60s)) << spec_.id << " not ready: " << get("/ready").body << "\n"
                                 << log();
}

std::optional<int> phoenix_node::stop() {
  if (!proc_)
    return std::nullopt;
  proc_->signal(SIGTERM);
  auto code = proc_->wait(60s);
  last_log_ = proc_->err();
  proc_.reset();
  return code;
}

void phoenix_node::kill9() {
  if (!proc_)
    return;
  proc_->signal(SIGKILL);
  proc_->wait(30s);
  last_log_ = proc_->err();
  proc_.reset();
}

std::string phoenix_node::log() const {
  return proc_ ? proc_->err() : last_log_;
}

http_answer phoenix_node::get(const std::string& path) const {
  httplib::Client cli{"127.0.0.1", port_};
  cli.set_connection_timeout(2);
  cli.set_read_timeout(5);
  auto res = cli.Get(path.c_str());
  if (!res)
    return {};
  return {res->status, res->body};
}

bool phoenix_node::wait_ready(std::chrono::milliseconds bound) const {
  return eventually([&] { return get("/ready").status == 200; }, bound);
}

double phoenix_node::metric(const std::string& name,
                            const std::map<std::string, std::string>& labels) const {
  return metric_in(get("/metrics").body, name, labels);
}

namespace {

// Calls `f(value)` for every sample of `name` whose labels include `labels`.
template <class F>
void for_samples(const std::string& text, const std::string& name,
                 const std::map<std::string, std::string>& labels, F f) {
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);) {
    if (line.compare(0, name.size(), name) != 0)
      continue;
    auto rest = line.substr(name.size());
    if (rest.empty() || (rest[0] != '{' && rest[0] != ' '))
      continue; // a longer name
    bool all = true;
    for (auto& [k, v] : labels)
      all = all && rest.find(k + "=\"" + v + "\"") != std::string::npos;
    if (all)
      f(std::strtod(line.substr(line.rfind(' ') + 1).c_str(), nullptr));
  }
}

} // namespace

double metric_in(const std::string& text, const std::string& name,
                 const std::map<std::string, std::string>& labels) {
  double sum = 0;
  for_samples(text, name, labels, [&](double v) { sum += v; });
  return sum;
}

int samples_in(const std::string& text, const std::string& name,
               const std::map<std::string, std::string>& labels) {
  int n = 0;
  for_samples(text, name, labels, [&](double) { ++n; });
  return n;
}

// ---- read_topic --------------------------------------------------------------------

std::vector<read_record> read_topic(const testkit::client_properties_map& client,
                                    const std::string& topic, std::size_t count,
                                    std::chrono::milliseconds bound) {
  std::vector<read_record> out;
  auto props = client;
  props["group.id"] = "acceptance-reader"; // never joins: partitions are assigned
  props["enable.auto.commit"] = "false";
  auto conf = rd::make_conf(props, "acceptance reader");
  if (!conf) {
    ADD_FAILURE() << conf.error().describe();
    return out;
  }
  auto rk = rd::make_handle(RD_KAFKA_CONSUMER, std::move(*conf), "acceptance reader");
  if (!rk) {
    ADD_FAILURE() << rk.error().describe();
    return out;
  }
  rd_kafka_poll_set_consumer(rk->get());
  rd::topic_partition_list_ptr parts{rd_kafka_topic_partition_list_new(8)};
  {
    rd_kafka_topic_t* t = rd_kafka_topic_new(rk->get(), topic.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    auto err = rd_kafka_metadata(rk->get(), 0, t, &md, 10000);
    rd::metadata_ptr owned{md};
    rd_kafka_topic_destroy(t);
    if (err || md->topic_cnt != 1 || md->topics[0].err) {
      ADD_FAILURE() << "no metadata for " << topic;
      return out;
    }
    for (int i = 0; i < md->topics[0].partition_cnt; ++i)
      rd_kafka_topic_partition_list_add(parts.get(), topic.c_str(), i)->offset =
          RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(rk->get(), parts.get());
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
    rd::message_ptr msg{rd_kafka_consumer_poll(rk->get(), 100)};
    if (!msg || msg->err)
      continue;
    read_record r;
    if (msg->key)
      r.key.assign(static_cast<const char*>(msg->key), msg->key_len);
    if (msg->payload)
      r.value.assign(static_cast<const char*>(msg->payload), msg->len);
    r.partition = msg->partition;
    r.offset = msg->offset;
    r.timestamp_ms = rd_kafka_message_timestamp(msg.get(), nullptr);
    for (auto& [k, v] : rd::read_headers(*msg))
      r.headers[k] = v;
    out.push_back(std::move(r));
  }
  rd_kafka_consumer_close(rk->get());
  return out;
}

// ---- lead_sender -------------------------------------------------------------------

struct lead_sender::impl {
  std::optional<kafka::producer> producer;
};

lead_sender::lead_sender(const testkit::client_properties_map& client)
    : impl_(std::make_unique<impl>()) {
  auto p = kafka::producer::create(client, "acceptance sender");
  if (!p) {
    ADD_FAILURE() << p.error().describe();
    return;
  }
  impl_->producer.emplace(std::move(*p));
}

lead_sender::~lead_sender() = default;

void lead_sender::lead(const std::string& topic, const std::string& id, int number,
                       const std::string& extra) {
  runtime::envelope env;
  env.id = id;
  env.source = "/acceptance/radar";
  env.type = "lead.detected";
  env.tenant_id = "t1";
  env.payload = "{\"lead\":" + std::to_string(number) + ",\"tenant\":\"t1\"" +
                (extra.empty() ? "" : "," + extra) + "}";
  ASSERT_TRUE(impl_->producer);
  auto ok = impl_->producer->produce(topic, id, env.payload, runtime::encode_headers(env));
  ASSERT_TRUE(ok) << ok.error().describe();
}

void lead_sender::raw(const std::string& topic, const std::string& key,
                      const std::string& value) {
  ASSERT_TRUE(impl_->producer);
  auto ok = impl_->producer->produce(topic, key, value, {});
  ASSERT_TRUE(ok) << ok.error().describe();
}

void lead_sender::flush() {
  ASSERT_TRUE(impl_->producer);
  auto ok = impl_->producer->flush(30s);
  ASSERT_TRUE(ok) << ok.error().describe();
  EXPECT_EQ(impl_->producer->failed(), 0u);
}

// ---- acceptance_test ---------------------------------------------------------------

void acceptance_test::SetUp() {
  kafka_cluster_fixture::SetUp();
  if (HasFatalFailure())
    return;
  ASSERT_TRUE(real() && real()->mode == "tls")
      << "the acceptance tests need the system tier's TLS cluster: run them through "
         "ctest (-L acceptance), which starts it with deploy/kafka/cluster.sh start --tls";
  prefix_ = unique_name("acc") + ".";
  group_ = unique_name("acc-group");
  auto tmpl = std::filesystem::temp_directory_path() / "phoenix-acceptance-XXXXXX";
  std::string buf = tmpl.string();
  ASSERT_TRUE(mkdtemp(buf.data())) << "cannot create " << buf;
  dir_ = buf;
}

void acceptance_test::stop_nodes() {
  for (auto& n : nodes_)
    if (n->running()) {
      auto code = n->stop();
      EXPECT_EQ(code, 0) << n->spec().id << " did not stop cleanly:\n" << n->log();
    }
}

void acceptance_test::TearDown() {
  stop_nodes();
  if (HasFailure())
    for (auto& n : nodes_)
      std::cerr << "---- log of " << n->spec().id << " ----\n" << n->log() << '\n';
  nodes_.clear();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  kafka_cluster_fixture::TearDown();
}

void acceptance_test::create_pipeline_topics(const std::string& prefix, int partitions,
                                             const std::vector<std::string>& extra) {
  std::vector<std::string> names{"lead.detected",        "lead.quota.commands",
                                 "lead.enrich.commands", "lead.score.commands",
                                 "lead.crm.commands",    "lead.saga.replies"};
  names.insert(names.end(), extra.begin(), extra.end());
  for (auto& n : names)
    ASSERT_NO_FATAL_FAILURE(create_topic(prefix + n, partitions));
}

phoenix_node& acceptance_test::add_node(const std::string& id, node_spec spec) {
  spec.id = id;
  if (spec.group.empty())
    spec.group = group_;
  if (spec.prefix.empty())
    spec.prefix = prefix_;
  if (spec.store.empty())
    spec.store = dir_ + "/" + spec.id + ".db";
  nodes_.push_back(std::make_unique<phoenix_node>(*real(), client_properties(spec.identity),
                                                  std::move(spec), dir_));
  return *nodes_.back();
}

testkit::process_result acceptance_test::phoenix(std::vector<std::string> args) const {
  args.insert(args.begin(), PHOENIX_BIN);
  return testkit::run_process(std::move(args), 60s);
}

std::vector<saga_row> acceptance_test::sagas_of(const phoenix_node& node) const {
  auto r = phoenix({"sagas", "list", "--limit", "100000", "--config", node.config()});
  EXPECT_EQ(r.code, 0) << r.err;
  std::vector<saga_row> out;
  std::istringstream in{r.out};
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields{line};
    saga_row row;
    std::getline(fields, row.id, '\t');
    std::getline(fields, row.type, '\t');
    std::getline(fields, row.state, '\t');
    if (!row.id.empty())
      out.push_back(row);
  }
  return out;
}

} // namespace phoenix::acceptance
