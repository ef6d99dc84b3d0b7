#include "phoenix/runtime/node_runner.hpp"

#include <atomic>
#include <caf/all.hpp>
#include <csignal>
#include <gtest/gtest.h>
#include <thread>

using namespace phoenix::runtime;

namespace {

TEST(run_node, a_signal_calls_on_stopping_before_the_tree_is_asked_to_stop) {
  // As main does: only run_node's watcher takes the signal, synchronously.
  block_termination_signals();
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto stopping = std::make_shared<std::atomic<bool>>(false);
  auto saw_stopping_first = std::make_shared<std::atomic<int>>(-1);

  supervisor_spec root;
  root.name = "node";
  root.children.push_back(
      {"worker",
       [stopping, saw_stopping_first](caf::actor_system& s) -> phoenix::result<caf::actor> {
         return s.spawn([=](caf::event_based_actor* self) -> caf::behavior {
           self->set_exit_handler([=](caf::exit_msg& msg) {
             saw_stopping_first->store(stopping->load() ? 1 : 0);
             self->quit(msg.reason);
           });
           return {[](int) {}};
         });
       }});
  node_run_options opts;
  opts.on_started = [](const caf::actor&) { ::kill(::getpid(), SIGTERM); };
  opts.on_stopping = [stopping] { stopping->store(true); };

  EXPECT_EQ(run_node(sys, std::move(root), opts), node_exit::stopped);
  EXPECT_TRUE(stopping->load());
  EXPECT_EQ(saw_stopping_first->load(), 1)
      << "the worker was asked to stop before on_stopping ran";
}

} // namespace
