#include "thread_cpu.hpp"

#include <cstdlib>
#include <ctime>
#include <dirent.h>
#include <fstream>
#include <memory>
#include <string>

namespace phoenix::bench {
namespace {

double seconds(const timespec& ts) {
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The CPU clock of thread `tid` of this process: Linux encodes a thread's clock id as
// the bitwise complement of its id shifted by 3, with the per-thread and scheduler-time
// bits set (what glibc's pthread_getcpuclockid returns for a pthread_t); librdkafka's
// threads have no pthread_t here, only their ids under /proc/self/task.
bool thread_cpu(pid_t tid, double& out) {
  const auto clock = static_cast<clockid_t>((~static_cast<unsigned>(tid) << 3) | 6u);
  timespec ts{};
  if (clock_gettime(clock, &ts) != 0)
    return false; // the thread ended meanwhile
  out = seconds(ts);
  return true;
}

bool is_librdkafka_thread(pid_t tid) {
  std::ifstream in{"/proc/self/task/" + std::to_string(tid) + "/comm"};
  std::string name;
  std::getline(in, name);
  return name.rfind("rdk:", 0) == 0;
}

} // namespace

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return seconds(ts);
}

cpu_sample sample_cpu() {
  cpu_sample s;
  s.process = process_cpu_seconds();
  std::unique_ptr<DIR, int (*)(DIR*)> dir{opendir("/proc/self/task"), &closedir};
  if (!dir)
    return s; // no /proc: everything counts as the application's
  while (const dirent* e = readdir(dir.get())) {
    const auto tid = static_cast<pid_t>(std::atoi(e->d_name));
    double cpu = 0;
    if (tid > 0 && is_librdkafka_thread(tid) && thread_cpu(tid, cpu))
      s.librdkafka[tid] = cpu;
  }
  return s;
}

cpu_split cpu_between(const cpu_sample& from, const cpu_sample& to) {
  cpu_split out;
  out.process = to.process - from.process;
  for (const auto& [tid, cpu] : to.librdkafka) {
    auto before = from.librdkafka.find(tid);
    out.librdkafka += cpu - (before == from.librdkafka.end() ? 0.0 : before->second);
  }
  return out;
}

} // namespace phoenix::bench
