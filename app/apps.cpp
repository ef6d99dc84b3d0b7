#include "apps.hpp"

#include "phoenix/actors/kafka/group_consumer.hpp"
#include "phoenix/lead_pipeline/app_settings.hpp"
#include "phoenix/lead_pipeline/node.hpp"

#include <spdlog/spdlog.h>

namespace phoenix::app {
namespace {

constexpr const char* lead_pipeline_name = "lead-pipeline";

error app_error(runtime::errc code, const runtime::node_config& cfg,
                const std::string& what) {
  return error{code, cfg.origin + ": " + what};
}

// The name of `[app]`, checked: known keys, a known application, options only for it.
result<std::string> app_name(const runtime::node_config& cfg) {
  const auto& app = cfg.app;
  for (auto& [key, value] : app.settings)
    if (key != "name")
      return app_error(runtime::errc::config_unknown_key, cfg,
                       "[app] " + key + ": unknown key (line " +
                           std::to_string(value.line) + ")");
  auto it = app.settings.find("name");
  if (it == app.settings.end())
    return app_error(runtime::errc::config_bad_value, cfg,
                     "[app] name: missing (the application to run: lead-pipeline)");
  auto* name = std::get_if<std::string>(&it->second.value);
  if (!name)
    return app_error(runtime::errc::config_wrong_type, cfg,
                     "[app] name: expected a string (line " +
                         std::to_string(it->second.line) + ")");
  if (*name != lead_pipeline_name)
    return app_error(runtime::errc::config_bad_value, cfg,
                     "[app] name: unknown application \"" + *name +
                         "\" (known: lead-pipeline)");
  for (auto& [other, table] : app.options)
    if (other != *name)
      return app_error(runtime::errc::config_unknown_key, cfg,
                       "[app." + other +
                           "]: options of an application this node does "
                           "not run (it runs " +
                           *name + ")");
  return *name;
}

const runtime::config_table& options_of(const runtime::node_config& cfg,
                                        const std::string& name) {
  static const runtime::config_table none;
  auto it = cfg.app.options.find(name);
  return it == cfg.app.options.end() ? none : it->second;
}

result<app_instance> make_lead_pipeline(const runtime::node_config& cfg, node_services& svc,
                                        const node_handles& handles,
                                        kafka::mock_cluster* embedded) {
  auto settings =
      lead_pipeline::app_settings_from(options_of(cfg, lead_pipeline_name), cfg.origin);
  if (!settings)
    return settings.error();
  auto node = std::make_shared<lead_pipeline::lead_pipeline_node>();
  node->options = settings->options;
  node->producer = handles.producer;
  node->own_producer = false;
  if (settings->participants)
    node->participants = std::make_shared<lead_pipeline::participants>(node->options);
  if (embedded) {
    auto partitions =
        settings->partitions > 0 ? settings->partitions : cfg.embedded.partitions;
    auto ok = embedded->create_topic(node->options.topics.lead_detected, partitions);
    if (ok)
      ok = lead_pipeline::create_pipeline_topics(*embedded, node->options, partitions);
    if (!ok)
      return ok.error();
  }
  kafka::group_consumer_config consumer;
  consumer.properties = consumer_properties(cfg, embedded != nullptr);
  consumer.properties.emplace("group.id", "phoenix");
  consumer.origin = cfg.origin;
  consumer.idempotency.store = svc.store;
  consumer.admission = svc.admission;
  consumer.policies = cfg.policy;
  consumer.producer = node->producer;
  consumer.node_id = cfg.node.id;
  consumer.trace = svc.trace; // [store] traceability: each record's journey
  node->prepare_consumer = [ready = svc.ready](kafka::group_consumer_config& c,
                                               const std::string& id) {
    kafka::add_readiness_check(c, *ready, id);
  };
  svc.consumers->add("sagas", node->saga_consumer);
  if (node->participants)
    svc.consumers->add("participants", node->participants_consumer);
  svc.sagas->add("lead", node->stats);
  svc.sagas->add_relay(node->relay_stats);
  app_instance out;
  out.saga_children = lead_pipeline::pipeline_saga_children(*node, svc.store, svc.trace);
  out.kafka_children = lead_pipeline::pipeline_kafka_children(*node, consumer);
  spdlog::info("app: lead-pipeline on {} (participants {})",
               node->options.topics.lead_detected,
               settings->participants ? "in this node" : "elsewhere");
  out.state = node;
  return out;
}

} // namespace

result<void> check_app(const runtime::node_config& cfg) {
  if (!cfg.app.present)
    return {};
  auto name = app_name(cfg);
  if (!name)
    return name.error();
  if (auto ok = lead_pipeline::app_settings_from(options_of(cfg, *name), cfg.origin); !ok)
    return ok.error();
  return {};
}

result<app_instance> make_app(const runtime::node_config& cfg, node_services& svc,
                              const node_handles& handles, kafka::mock_cluster* embedded) {
  if (!cfg.app.present)
    return app_instance{};
  auto name = app_name(cfg);
  if (!name)
    return name.error();
  return make_lead_pipeline(cfg, svc, handles, embedded);
}

} // namespace phoenix::app
