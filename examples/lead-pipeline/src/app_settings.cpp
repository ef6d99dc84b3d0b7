#include "phoenix/lead_pipeline/app_settings.hpp"

#include "phoenix/runtime/config_table.hpp"

#include <limits>

namespace phoenix::lead_pipeline {
namespace {

topics with_prefix(const std::string& p) {
  topics t;
  for (auto* name : {&t.lead_detected, &t.quota, &t.enrich, &t.score, &t.crm, &t.replies})
    *name = p + *name;
  return t;
}

} // namespace

result<app_settings> app_settings_from(const runtime::config_table& section,
                                       const std::string& origin) {
  runtime::table_reader r{section, origin, "app.lead-pipeline"};
  if (auto ok =
          r.check_known({"topic_prefix", "partitions", "step_timeout_ms", "participants",
                         "quota_exhausted_every", "score_fails_every", "crm_silent_every"});
      !ok)
    return ok.error();
  app_settings out;
  std::string prefix;
  std::int64_t partitions = 0;
  std::int64_t every[3] = {0, 0, 0};
  constexpr std::int64_t every_max = std::numeric_limits<std::uint32_t>::max();
  for (auto ok :
       {r.text("topic_prefix", prefix), r.integer("partitions", partitions, 1, 1024),
        r.millis("step_timeout_ms", out.options.step_timeout),
        r.boolean("participants", out.participants),
        r.integer("quota_exhausted_every", every[0], 0, every_max),
        r.integer("score_fails_every", every[1], 0, every_max),
        r.integer("crm_silent_every", every[2], 0, every_max)})
    if (!ok)
      return ok.error();
  if (auto problem = runtime::topic_name_problem(prefix + "lead.detected"))
    return r.bad("topic_prefix", "makes a bad topic name: " + *problem);
  out.options.topics = with_prefix(prefix);
  out.partitions = static_cast<int>(partitions);
  out.options.failures.quota_exhausted_every = static_cast<std::uint32_t>(every[0]);
  out.options.failures.score_fails_every = static_cast<std::uint32_t>(every[1]);
  out.options.failures.crm_silent_every = static_cast<std::uint32_t>(every[2]);
  return out;
}

} // namespace phoenix::lead_pipeline
