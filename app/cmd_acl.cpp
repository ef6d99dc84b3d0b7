#include "client_options.hpp"
#include "commands.hpp"
#include "phoenix/actors/kafka/acl.hpp"
#include "phoenix/runtime/config.hpp"

#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace phoenix::app {
namespace {

struct acl_options {
  std::string config;
  std::vector<std::string> properties; // -X key=value
  std::string principal;
  std::vector<std::string> operations;
  std::string topic;
  std::string group;
  bool cluster = false;
  bool prefixed = false;
  bool deny = false;
  std::string host;
  int timeout_ms = 30000;
};

enum class acl_verb { grant, list, revoke };

// The one resource the options name, into `filter`; false (with a message) if several.
bool pick_resource(const acl_options& o, kafka::acl_filter& filter, bool required) {
  int given = 0;
  if (!o.topic.empty()) {
    filter.resource = kafka::acl_resource::topic;
    filter.name = o.topic;
    ++given;
  }
  if (!o.group.empty()) {
    filter.resource = kafka::acl_resource::group;
    filter.name = o.group;
    ++given;
  }
  if (o.cluster) {
    filter.resource = kafka::acl_resource::cluster;
    filter.name = "kafka-cluster";
    ++given;
  }
  if (given > 1 || (required && given == 0)) {
    std::cerr << "phoenix acl: give " << (required ? "exactly one" : "at most one")
              << " of --topic, --group, --cluster\n";
    return false;
  }
  if (given == 1)
    filter.pattern =
        o.prefixed ? kafka::acl_pattern::prefixed : kafka::acl_pattern::literal;
  else if (o.prefixed) {
    std::cerr << "phoenix acl: --prefixed needs --topic or --group\n";
    return false;
  }
  return true;
}

int run_acl(acl_verb verb, const acl_options& o) {
  kafka::acl_filter filter;
  if (!pick_resource(o, filter, verb != acl_verb::list))
    return exit_usage;
  if (!o.principal.empty())
    filter.principal = o.principal;
  if (!o.host.empty())
    filter.host = o.host;
  if (o.deny)
    filter.permission = kafka::acl_permission::deny;
  std::vector<kafka::acl_operation> operations;
  for (const auto& word : o.operations) {
    auto op = kafka::parse_acl_operation(word);
    if (!op) {
      std::cerr << "phoenix acl: --operation: " << op.error().message() << '\n';
      return exit_usage;
    }
    operations.push_back(*op);
  }
  if (verb == acl_verb::grant && (o.principal.empty() || operations.empty())) {
    std::cerr << "phoenix acl grant: --principal and --operation are required\n";
    return exit_usage;
  }
  if (verb != acl_verb::grant && operations.size() > 1) {
    std::cerr << "phoenix acl: list and revoke take at most one --operation\n";
    return exit_usage;
  }

  auto props = client_properties(o.config, o.properties);
  if (!props) {
    std::cerr << "phoenix acl: " << props.error().message() << '\n';
    return exit_usage;
  }
  auto admin = kafka::acl_admin::connect(*props, o.config.empty() ? "-X" : o.config);
  if (!admin) {
    std::cerr << "phoenix acl: " << admin.error().message() << '\n';
    return admin.error().code() == runtime::errc::kafka_error ? exit_failed : exit_usage;
  }
  const std::chrono::milliseconds timeout{o.timeout_ms};

  std::vector<kafka::acl_binding> shown;
  phoenix::error failure;
  if (verb == acl_verb::grant) {
    for (auto op : operations) {
      kafka::acl_binding b;
      b.resource = filter.resource;
      b.name = *filter.name;
      b.pattern = filter.pattern;
      b.principal = o.principal;
      b.host = o.host.empty() ? "*" : o.host;
      b.operation = op;
      b.permission = o.deny ? kafka::acl_permission::deny : kafka::acl_permission::allow;
      shown.push_back(b);
    }
    if (auto res = admin->grant(shown, timeout); !res)
      failure = res.error();
  } else {
    if (!operations.empty())
      filter.operation = operations.front();
    auto res = verb == acl_verb::list ? admin->list(filter, timeout)
                                      : admin->revoke(filter, timeout);
    if (res)
      shown = std::move(*res);
    else
      failure = res.error();
  }
  if (failure) {
    std::cerr << "phoenix acl: " << failure.message() << '\n';
    return failure.code() == runtime::errc::kafka_error ? exit_failed : exit_usage;
  }
  const char* prefix = verb == acl_verb::grant    ? "granted: "
                       : verb == acl_verb::revoke ? "revoked: "
                                                  : "";
  for (const auto& acl : shown)
    std::cout << prefix << kafka::describe(acl) << '\n';
  if (shown.empty())
    std::cerr << "phoenix acl: no ACL matched\n";
  return 0;
}

void add_verb(CLI::App& parent, acl_verb verb, const char* name, const char* about,
              int& exit_code) {
  auto o = std::make_shared<acl_options>();
  CLI::App* cmd = parent.add_subcommand(name, about);
  add_client_options(*cmd, o->config, o->properties);
  cmd->add_option("--principal", o->principal, "Who the ACL is for, e.g. User:reader")
      ->type_name("TYPE:NAME");
  cmd->add_option("--operation", o->operations,
                  "read, write, create, delete, alter, describe, cluster_action, "
                  "describe_configs, alter_configs, idempotent_write or all" +
                      std::string{verb == acl_verb::grant ? "; repeatable" : ""})
      ->type_name("OP")
      ->delimiter(',');
  cmd->add_option("--topic", o->topic, "A topic (or topic prefix with --prefixed)");
  cmd->add_option("--group", o->group, "A consumer group (or prefix with --prefixed)");
  cmd->add_flag("--cluster", o->cluster, "The cluster itself (resource kafka-cluster)");
  cmd->add_flag("--prefixed", o->prefixed,
                "The name is a prefix: the ACL covers every resource starting with it");
  cmd->add_option("--host", o->host, "Client host the ACL applies to (default: any, *)");
  cmd->add_flag("--deny", o->deny, "A DENY rule instead of ALLOW");
  cmd->add_option("--timeout-ms", o->timeout_ms, "How long to wait for the cluster")
      ->check(CLI::Range(1, 3'600'000))
      ->capture_default_str();
  cmd->callback([verb, o, &exit_code] { exit_code = run_acl(verb, *o); });
}

} // namespace

void add_acl_command(CLI::App& app, int& exit_code) {
  CLI::App* acl = app.add_subcommand(
      "acl", "Manage the cluster's access control lists through Kafka's Admin API.\n"
             "The client identity in --config needs ALTER (grant, revoke) or DESCRIBE\n"
             "(list) on the cluster: use a super user's certificate.");
  acl->require_subcommand(1);
  add_verb(*acl, acl_verb::grant, "grant",
           "Allow (or with --deny forbid) a principal operations on one resource",
           exit_code);
  add_verb(*acl, acl_verb::list, "list",
           "Print the ACLs that match the given principal, resource, operation", exit_code);
  add_verb(*acl, acl_verb::revoke, "revoke",
           "Delete the ACLs that match the given principal, resource, operation; print "
           "them",
           exit_code);
  acl->footer(
      "Examples (certificates from deploy/kafka/cluster.sh start --tls):\n"
      "  phoenix acl grant --config $CLIENTS/admin.toml --principal User:reader \\\n"
      "      --operation read,describe --topic orders\n"
      "  phoenix acl grant --config $CLIENTS/admin.toml --principal User:reader \\\n"
      "      --operation read --group readers --prefixed\n"
      "  phoenix acl list --config $CLIENTS/admin.toml --principal User:reader\n"
      "  phoenix acl revoke --config $CLIENTS/admin.toml --principal User:reader --topic "
      "orders\n"
      "Output: one line per ACL on stdout. Exit codes: 0 done, 1 the cluster refused or\n"
      "did not answer, 2 a usage or config error.");
}

} // namespace phoenix::app
