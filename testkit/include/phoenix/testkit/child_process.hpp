#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace phoenix::testkit {

/// A program run as a child process with its stdout and stderr captured, for tests that
/// drive the `phoenix` command (or a user's node binary) from the outside.
///
///   child_process node{{PHOENIX_BIN, "run"}};
///   ASSERT_TRUE(node.wait_for_stderr("node started", 30s));
///   node.signal(SIGTERM);
///   EXPECT_EQ(node.wait(30s), 0);
class child_process {
public:
  /// Starts `argv[0]` (a path) with the given arguments. Fails the calling test if the
  /// program cannot be started.
  explicit child_process(std::vector<std::string> argv);

  /// Kills the child if it is still running.
  ~child_process();

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  void signal(int sig);

  /// Exit code (128 + signal number when killed by a signal), or nullopt if the child is
  /// still running after `bound` (then it is killed).
  std::optional<int> wait(std::chrono::milliseconds bound);

  /// Waits until the captured stdout/stderr contains `text`, at most `bound`.
  bool wait_for_stdout(const std::string& text, std::chrono::milliseconds bound);
  bool wait_for_stderr(const std::string& text, std::chrono::milliseconds bound);

  std::string out() const;
  std::string err() const;

private:
  bool wait_for(const std::string& which, const std::string& text,
                std::chrono::milliseconds bound);

  pid_t pid_ = -1;
  std::optional<int> status_;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::string out_;
  std::string err_;
  int readers_open_ = 0;
  std::thread out_reader_;
  std::thread err_reader_;
};

/// Runs a program to completion (bounded) and returns exit code, stdout and stderr.
struct process_result {
  std::optional<int> code;
  std::string out;
  std::string err;
};
process_result run_process(std::vector<std::string> argv, std::chrono::milliseconds bound);

} // namespace phoenix::testkit
