#pragma once

// The CPU time of the process, split by whose threads used it: librdkafka's (named
// "rdk:...": each client's main and broker threads, and the thread of the in-process mock
// brokers) and the rest, the application's (the raw loop, or Phoenix's consumer thread
// and lanes). Both sides of a consume round wait on librdkafka's fetch chain
// (bench/README.md, "Rounds that wait on librdkafka"), so a side's rate moves with it;
// the application's share is what the side itself spent on the records.

#include <map>
#include <sys/types.h>

namespace phoenix::bench {

/// CPU seconds the process has used so far, all threads together.
double process_cpu_seconds();

/// CPU clocks read at one moment.
struct cpu_sample {
  double process = 0;                 ///< Every thread (CLOCK_PROCESS_CPUTIME_ID).
  std::map<pid_t, double> librdkafka; ///< Per thread named rdk:*, by thread id.
};

/// Reads the process's CPU clock and that of each librdkafka thread alive now.
cpu_sample sample_cpu();

/// CPU seconds used between two samples.
struct cpu_split {
  double process = 0;
  /// librdkafka's threads; a thread started in between counts from its start. One that
  /// ended in between is not seen by the later sample: its time falls to the application.
  double librdkafka = 0;
  double application() const { return process - librdkafka; }
};

cpu_split cpu_between(const cpu_sample& from, const cpu_sample& to);

} // namespace phoenix::bench
