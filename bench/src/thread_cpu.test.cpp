#include "thread_cpu.hpp"

#include <condition_variable>
#include <ctime>
#include <gtest/gtest.h>
#include <mutex>
#include <pthread.h>
#include <thread>

using namespace phoenix::bench;

namespace {

double own_cpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Spins until this thread has used `seconds` more CPU: an amount of CPU time, not of
// wall-clock time, so the bounds below hold on a loaded machine too.
void burn(double seconds) {
  const double until = own_cpu() + seconds;
  volatile unsigned sink = 0;
  while (own_cpu() < until)
    for (int i = 0; i < 1000; ++i)
      sink = sink + 1;
}

// A thread that burns in two phases, each started by the test, and then waits to end.
class burner {
public:
  explicit burner(const char* name)
      : thread_{[this, name] {
          pthread_setname_np(pthread_self(), name);
          for (int phase = 1; phase <= 3; ++phase) {
            std::unique_lock<std::mutex> lock{mtx_};
            cv_.wait(lock, [&] { return go_ >= phase; });
            const double seconds = phase == 1 ? before_ : phase == 2 ? between_ : 0;
            lock.unlock();
            burn(seconds);
            lock.lock();
            done_ = phase;
            cv_.notify_all();
          }
        }} {}
  ~burner() {
    run(3);
    thread_.join();
  }

  void plan(double before, double between) {
    before_ = before;
    between_ = between;
  }

  // Starts phase `phase` and waits until it is done.
  void run(int phase) {
    std::unique_lock<std::mutex> lock{mtx_};
    go_ = phase;
    cv_.notify_all();
    cv_.wait(lock, [&] { return done_ >= phase; });
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  int go_ = 0;
  int done_ = 0;
  double before_ = 0;
  double between_ = 0;
  std::thread thread_;
};

} // namespace

TEST(thread_cpu, librdkafka_threads_are_counted_apart_and_only_between_the_samples) {
  burner rdk{"rdk:broker9"};
  burner app{"app-worker"};
  rdk.plan(0.03, 0.05);
  app.plan(0.0, 0.04);
  rdk.run(1); // before the first sample: not counted
  app.run(1);
  auto from = sample_cpu();
  ASSERT_EQ(from.librdkafka.size(), 1u) << "only the thread named rdk:* is librdkafka's";
  rdk.run(2);
  app.run(2);
  auto split = cpu_between(from, sample_cpu());
  EXPECT_GE(split.librdkafka, 0.05);
  EXPECT_LT(split.librdkafka, 0.06);
  EXPECT_GE(split.application(), 0.04);
  EXPECT_GE(split.process, split.librdkafka + split.application() - 1e-9);
}

TEST(thread_cpu, a_thread_started_between_the_samples_counts_from_its_start) {
  auto from = sample_cpu();
  burner rdk{"rdk:main"};
  rdk.plan(0.02, 0.0);
  rdk.run(1);
  auto split = cpu_between(from, sample_cpu());
  EXPECT_GE(split.librdkafka, 0.02);
  EXPECT_LT(split.librdkafka, 0.03);
}
