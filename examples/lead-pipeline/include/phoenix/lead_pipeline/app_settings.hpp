#pragma once

#include "phoenix/lead_pipeline/lead_pipeline.hpp"
#include "phoenix/runtime/config.hpp"

namespace phoenix::lead_pipeline {

/// What `phoenix run` with `[app] name = "lead-pipeline"` runs, from the section
/// `[app.lead-pipeline]` of the node config:
///
///   topic_prefix = ""            # put before every topic name ("t1." -> t1.lead.detected)
///   partitions = 3               # partitions of the topics created on the embedded
///   cluster step_timeout_ms = 5000       # timeout of each saga step participants = true
///   # run the four participant services in this node quota_exhausted_every = 0    #
///   failure injection by lead number (0: off) score_fails_every = 0 crm_silent_every = 0
struct app_settings {
  lead_pipeline::options options;
  int partitions = 0; ///< 0: `[embedded] partitions`.
  bool participants = true;
};

/// Reads and checks `[app.lead-pipeline]` (absent: the defaults). Errors:
/// errc::config_unknown_key / config_wrong_type / config_bad_value, naming `origin`, the
/// section and the key.
result<app_settings> app_settings_from(const runtime::config_table& section,
                                       const std::string& origin);

} // namespace phoenix::lead_pipeline
