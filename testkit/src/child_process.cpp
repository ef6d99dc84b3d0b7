#include "phoenix/testkit/child_process.hpp"

#include <cerrno>
#include <cstring>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace phoenix::testkit {

child_process::child_process(std::vector<std::string> argv) {
  int out[2];
  int err[2];
  if (pipe(out) != 0 || pipe(err) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  posix_spawn_file_actions_addclose(&actions, err[0]);
  // The child must not inherit a blocked SIGTERM/SIGINT from a test that blocked them.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  int rc = posix_spawn(&pid_, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    ADD_FAILURE() << "cannot start " << argv[0] << ": " << std::strerror(rc);
    pid_ = -1;
    close(out[0]);
    close(err[0]);
    return;
  }
  auto reader = [this](int fd, std::string* sink) {
    char buf[4096];
    for (;;) {
      auto n = read(fd, buf, sizeof buf);
      if (n <= 0)
        break;
      std::lock_guard<std::mutex> g{mtx_};
      sink->append(buf, static_cast<std::size_t>(n));
      cv_.notify_all();
    }
    close(fd);
    std::lock_guard<std::mutex> g{mtx_};
    --readers_open_;
    cv_.notify_all();
  };
  readers_open_ = 2;
  out_reader_ = std::thread{reader, out[0], &out_};
  err_reader_ = std::thread{reader, err[0], &err_};
}

child_process::~child_process() {
  if (pid_ > 0 && !status_) {
    kill(pid_, SIGKILL);
    wait(std::chrono::seconds{10});
  }
  if (out_reader_.joinable())
    out_reader_.join();
  if (err_reader_.joinable())
    err_reader_.join();
}

void child_process::signal(int sig) {
  if (pid_ > 0 && !status_)
    kill(pid_, sig);
}

std::optional<int> child_process::wait(std::chrono::milliseconds bound) {
  if (pid_ <= 0)
    return std::nullopt;
  auto deadline = std::chrono::steady_clock::now() + bound;
  while (!status_) {
    int st = 0;
    auto r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &st, 0);
      status_ = 128 + SIGKILL;
      ADD_FAILURE() << "child still running after " << bound.count() << " ms; killed";
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  // Collect the rest of the output.
  std::unique_lock<std::mutex> lk{mtx_};
  cv_.wait_for(lk, std::chrono::seconds{10}, [&] { return readers_open_ == 0; });
  return status_;
}

bool child_process::wait_for(const std::string& which, const std::string& text,
                             std::chrono::milliseconds bound) {
  std::unique_lock<std::mutex> lk{mtx_};
  auto& sink = which == "out" ? out_ : err_;
  return cv_.wait_for(lk, bound, [&] {
    return sink.find(text) != std::string::npos || readers_open_ == 0;
  }) && sink.find(text) != std::string::npos;
}

bool child_process::wait_for_stdout(const std::string& text,
                                    std::chrono::milliseconds bound) {
  return wait_for("out", text, bound);
}

bool child_process::wait_for_stderr(const std::string& text,
                                    std::chrono::milliseconds bound) {
  return wait_for("err", text, bound);
}

std::string child_process::out() const {
  std::lock_guard<std::mutex> g{mtx_};
  return out_;
}

std::string child_process::err() const {
  std::lock_guard<std::mutex> g{mtx_};
  return err_;
}

process_result run_process(std::vector<std::string> argv, std::chrono::milliseconds bound) {
  child_process p{std::move(argv)};
  process_result r;
  r.code = p.wait(bound);
  r.out = p.out();
  r.err = p.err();
  return r;
}

} // namespace phoenix::testkit
