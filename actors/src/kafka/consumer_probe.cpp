#include "phoenix/actors/kafka/consumer_probe.hpp"

#include "probe_util.hpp"

#include <array>
#include <limits>
#include <map>
#include <mutex>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <vector>

namespace phoenix::kafka {

using probe_util::family;
using probe_util::histogram_sum;
using probe_util::labelled;
using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

namespace {

struct topic_totals {
  std::uint64_t consumed = 0, handled = 0, rejected = 0, retried = 0, undecodable = 0;
  std::uint64_t failed_attempts = 0, retry_topic = 0, dead_lettered = 0, move_failures = 0;
  std::uint64_t duplicates = 0;
  histogram_sum handling;
};

} // namespace

class consumer_probe::collector : public prometheus::Collectable {
public:
  void add(std::string consumer, std::shared_ptr<const consumer_stats> stats) {
    std::lock_guard<std::mutex> guard{mtx_};
    consumers_.emplace_back(std::move(consumer), std::move(stats));
  }

  std::vector<MetricFamily> Collect() const override {
    auto counter = MetricType::Counter;
    auto gauge = MetricType::Gauge;
    std::vector<MetricFamily> out{
        family("phoenix_records_consumed_total", "Records taken from Kafka", counter),
        family("phoenix_records_handled_total", "Records the handler finished as done",
               counter),
        family("phoenix_records_rejected_total",
               "Records rejected by the handler, or given up after retries or crashes",
               counter),
        family("phoenix_records_retried_total", "Handler attempts that asked for a retry",
               counter),
        family("phoenix_records_undecodable_total", "Records that are no valid envelope",
               counter),
        family("phoenix_record_handling_seconds",
               "Time the handler took per record, all attempts", MetricType::Histogram),
        family("phoenix_consumer_lag_records",
               "Records between the committed offset and the end of the partition", gauge),
        family("phoenix_partition_in_flight_records",
               "Records in the mailboxes of a partition's actors, not done yet", gauge),
        family("phoenix_offset_commit_seconds",
               "Offset commits, from request to the broker's answer",
               MetricType::Histogram),
        family("phoenix_offset_commits_total", "Offset commits requested", counter),
        family("phoenix_offset_commit_failures_total", "Offset commits that failed",
               counter),
        family("phoenix_partition_pauses_total",
               "Partitions paused at their in-flight bound", counter),
        family("phoenix_assigned_partitions", "Partitions assigned to the consumer", gauge),
        family("phoenix_records_duplicate_total",
               "Records skipped because their idempotency key was already complete",
               counter),
        family("phoenix_store_retries_total",
               "Store requests of the idempotent consumer that failed and were retried",
               counter),
        family("phoenix_store_waiting_lanes",
               "Lanes waiting for the store, their partitions' commits held back", gauge),
        family(
            "phoenix_breaker_paused_partitions",
            "Partitions paused because the breaker of their handler's downstream is open",
            gauge),
        family("phoenix_record_failed_attempts_total",
               "Handler calls that did not finish a record (retry, rejected, crash, "
               "undecodable)",
               counter),
        family("phoenix_records_retry_topic_total",
               "Records moved to a retry topic (<topic>.retry.<n>), by the topic they left",
               counter),
        family("phoenix_records_dead_lettered_total",
               "Records moved to the dead-letter queue (<topic>.dlq)", counter),
        family("phoenix_record_move_failures_total",
               "Failed requests to produce a record to a retry topic or the DLQ (sent "
               "again; the record stays uncommitted)",
               counter),
        family("phoenix_policy_topics_missing",
               "Retry and DLQ topics the consumer needs and could not create or find",
               gauge),
        family("phoenix_partition_fetch_pauses_total",
               "Partitions at their in-flight bound also paused at librdkafka, because "
               "what it fetched for them meanwhile passed the bound (fetched again on "
               "resume)",
               counter),
    };
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [consumer, stats] : consumers_)
      collect(consumer, *stats, out);
    return out;
  }

private:
  static void collect(const std::string& consumer, const consumer_stats& s,
                      std::vector<MetricFamily>& out) {
    std::map<std::string, topic_totals> topics;
    double assigned = 0;
    s.partitions.for_each([&](const topic_partition& tp, const partition_stats& p) {
      auto& t = topics[tp.topic];
      t.consumed += p.consumed.load(std::memory_order_relaxed);
      t.handled += p.handled.load(std::memory_order_relaxed);
      t.rejected += p.rejected.load(std::memory_order_relaxed);
      t.retried += p.retried.load(std::memory_order_relaxed);
      t.undecodable += p.undecodable.load(std::memory_order_relaxed);
      t.failed_attempts += p.failed_attempts.load(std::memory_order_relaxed);
      t.retry_topic += p.retry_topic_records.load(std::memory_order_relaxed);
      t.dead_lettered += p.dead_lettered.load(std::memory_order_relaxed);
      t.move_failures += p.produce_failures.load(std::memory_order_relaxed);
      t.duplicates += p.duplicates.load(std::memory_order_relaxed);
      t.handling.add(p.handling);
      if (!p.assigned.load(std::memory_order_relaxed))
        return;
      ++assigned;
      std::vector<ClientMetric::Label> labels{{"consumer", consumer},
                                              {"partition", std::to_string(tp.partition)},
                                              {"topic", tp.topic}};
      auto high = p.high_watermark.load(std::memory_order_relaxed);
      auto committed = p.committed.load(std::memory_order_relaxed);
      if (high >= 0 && committed >= 0) {
        auto m = labelled(labels);
        m.gauge.value = static_cast<double>(high > committed ? high - committed : 0);
        out[6].metric.push_back(m);
      }
      auto m = labelled(labels);
      m.gauge.value = static_cast<double>(p.in_flight.load(std::memory_order_relaxed));
      out[7].metric.push_back(m);
    });
    for (auto& [topic, t] : topics) {
      std::vector<ClientMetric::Label> labels{{"consumer", consumer}, {"topic", topic}};
      std::size_t i = 0;
      for (auto v : {t.consumed, t.handled, t.rejected, t.retried, t.undecodable}) {
        auto m = labelled(labels);
        m.counter.value = static_cast<double>(v);
        out[i++].metric.push_back(m);
      }
      auto m = labelled(labels);
      m.histogram = t.handling.to_prometheus();
      out[5].metric.push_back(m);
      i = 17; // after phoenix_breaker_paused_partitions (16)
      for (auto v : {t.failed_attempts, t.retry_topic, t.dead_lettered, t.move_failures}) {
        auto c = labelled(labels);
        c.counter.value = static_cast<double>(v);
        out[i++].metric.push_back(c);
      }
      auto d = labelled(labels);
      d.counter.value = static_cast<double>(t.duplicates);
      out[13].metric.push_back(d);
    }
    std::vector<ClientMetric::Label> labels{{"consumer", consumer}};
    histogram_sum commit;
    commit.add(s.commit_latency);
    auto m = labelled(labels);
    m.histogram = commit.to_prometheus();
    out[8].metric.push_back(m);
    std::size_t i = 9;
    for (auto v : {s.commits.load(), s.commit_failures.load(), s.pauses.load()}) {
      auto c = labelled(labels);
      c.counter.value = static_cast<double>(v);
      out[i++].metric.push_back(c);
    }
    auto a = labelled(labels);
    a.gauge.value = assigned;
    out[12].metric.push_back(a);
    auto r = labelled(labels);
    r.counter.value = static_cast<double>(s.store_retries.load());
    out[14].metric.push_back(r);
    auto w = labelled(labels);
    w.gauge.value = static_cast<double>(s.store_waiting.load());
    out[15].metric.push_back(w);
    auto b = labelled(labels);
    b.gauge.value = static_cast<double>(s.breaker_paused.load());
    out[16].metric.push_back(b);
    auto missing = labelled(labels);
    missing.gauge.value = static_cast<double>(s.policy_topics.size());
    out[21].metric.push_back(missing);
    auto fetch_pauses = labelled(labels);
    fetch_pauses.counter.value = static_cast<double>(s.fetch_pauses.load());
    out[22].metric.push_back(fetch_pauses);
  }

  mutable std::mutex mtx_;
  std::vector<std::pair<std::string, std::shared_ptr<const consumer_stats>>> consumers_;
};

consumer_probe::consumer_probe(observability::metrics_registry& metrics)
    : collector_(std::make_shared<collector>()) {
  metrics.add_collectable(collector_);
}

consumer_probe::~consumer_probe() = default;

void consumer_probe::add(std::string consumer,
                         std::shared_ptr<const consumer_stats> stats) {
  collector_->add(std::move(consumer), std::move(stats));
}

} // namespace phoenix::kafka
