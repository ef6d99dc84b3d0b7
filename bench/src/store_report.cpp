#include "phoenix/bench/store.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace phoenix::bench {
namespace {

// Phoenix on SQLite at its best batch size: what the ≥ 100k keys/s goal is about.
double best_sqlite_rate(const store_report& report) {
  double best = 0;
  for (auto& m : report.measures)
    if (m.backend == "sqlite" && m.error.empty())
      best = std::max(best, m.phoenix_median());
  return best;
}

bool measured_sqlite(const store_report& report) {
  for (auto& m : report.measures)
    if (m.backend == "sqlite" && m.error.empty())
      return true;
  return false;
}

bool ratio_goal_met(const store_report& report) {
  bool any = false;
  for (auto& m : report.measures) {
    if (!m.error.empty() || m.ratio() < report.goal_ratio)
      return false;
    any = true;
  }
  return any;
}

} // namespace

std::string to_json(const store_report& report) {
  auto measures = nlohmann::json::array();
  for (auto& m : report.measures) {
    auto rounds = nlohmann::json::array();
    for (std::size_t i = 0; i < m.raw.size() && i < m.phoenix.size(); ++i) {
      auto& raw = m.raw[i];
      auto& phx = m.phoenix[i];
      rounds.push_back({
          {"raw_keys_per_s", round_to(raw.rps(), 0)},
          {"phoenix_keys_per_s", round_to(phx.rps(), 0)},
          {"ratio", round_to(bench::ratio(phx.rps(), raw.rps()), 4)},
          {"raw_keys", raw.records},
          {"raw_seconds", round_to(raw.seconds, 6)},
          {"raw_cpu_seconds", round_to(raw.cpu_seconds, 3)},
          {"phoenix_keys", phx.records},
          {"phoenix_seconds", round_to(phx.seconds, 6)},
          {"phoenix_cpu_seconds", round_to(phx.cpu_seconds, 3)},
          {"phoenix_keys_per_transaction",
           round_to(i < m.phoenix_transactions.size() && m.phoenix_transactions[i] > 0
                        ? static_cast<double>(phx.records) /
                              static_cast<double>(m.phoenix_transactions[i])
                        : 0,
                    1)},
      });
    }
    nlohmann::json j{
        {"backend", m.backend},
        {"batch", m.batch},
        {"rounds", std::move(rounds)},
        {"raw_keys_per_s_median", round_to(m.raw_median(), 0)},
        {"phoenix_keys_per_s_median", round_to(m.phoenix_median(), 0)},
        {"ratio", round_to(m.ratio(), 4)},
        {"goal_ratio_met", m.error.empty() && m.ratio() >= report.goal_ratio},
    };
    if (!m.error.empty())
      j["error"] = m.error;
    measures.push_back(std::move(j));
  }
  auto best = best_sqlite_rate(report);
  nlohmann::json doc{
      {"scenario", "store"},
      {"existing_keys", report.existing},
      {"keys", report.keys},
      {"max_seconds", round_to(static_cast<double>(report.max_time.count()) / 1000, 3)},
      {"rounds", report.rounds},
      {"synchronous", report.synchronous},
      {"key_order", report.key_order},
      {"keys_per_request", report.keys_per_request},
      {"measures", std::move(measures)},
      {"skipped", report.skipped},
      {"goals",
       {{"ratio", report.goal_ratio},
        {"ratio_met", ratio_goal_met(report)},
        {"sqlite_keys_per_s", report.goal_sqlite_rate},
        {"sqlite_best_keys_per_s", round_to(best, 0)},
        {"sqlite_met", measured_sqlite(report) && best >= report.goal_sqlite_rate}}},
      {"timing", "per side: first statement (raw) or request (phoenix) to the last commit "
                 "acknowledged; opening the database and the fill excluded; a key is one "
                 "claim and one completion"},
      {"machine", {{"cores", report.cores}, {"allocator", report.allocator}}},
      {"command", report.command},
  };
  return doc.dump(2);
}

std::string summary_lines(const store_report& report) {
  std::string out;
  char buf[256];
  for (auto& m : report.measures) {
    if (!m.error.empty())
      std::snprintf(buf, sizeof buf, "store: %-8s batch %5zu: failed: %s\n",
                    m.backend.c_str(), m.batch, m.error.c_str());
    else
      std::snprintf(buf, sizeof buf,
                    "store: %-8s batch %5zu: raw %8.0f keys/s, phoenix %8.0f keys/s "
                    "(medians), ratio %.3f\n",
                    m.backend.c_str(), m.batch, m.raw_median(), m.phoenix_median(),
                    m.ratio());
    out += buf;
  }
  for (auto& s : report.skipped)
    out += "store: skipped " + s + "\n";
  auto best = best_sqlite_rate(report);
  std::snprintf(buf, sizeof buf,
                "store: goals: ratio >= %.2f everywhere: %s; SQLite >= %.0f keys/s: %s "
                "(best %.0f)",
                report.goal_ratio, ratio_goal_met(report) ? "met" : "not met",
                report.goal_sqlite_rate,
                !measured_sqlite(report)          ? "not measured"
                : best >= report.goal_sqlite_rate ? "met"
                                                  : "not met",
                best);
  return out + buf;
}

} // namespace phoenix::bench
