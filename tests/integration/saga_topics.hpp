#pragma once

// The lead pipeline's topics with a suffix on every name, shared by the saga tests and
// their saga_node: the real cluster outlives a test, so each test names its own topics.

#include "phoenix/lead_pipeline/lead_pipeline.hpp"

#include <string>

namespace phoenix::itest {

inline void add_suffix(lead_pipeline::topics& t, const std::string& suffix) {
  for (auto* name : {&t.lead_detected, &t.quota, &t.enrich, &t.score, &t.crm, &t.replies})
    *name += suffix;
}

} // namespace phoenix::itest
