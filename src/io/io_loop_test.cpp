#include "io/io_loop.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

namespace godwit {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<IoLoop> started_loop() {
  auto loop = std::make_unique<IoLoop>();
  loop->start();
  return loop;
}

struct Pipe {
  Pipe() { EXPECT_EQ(pipe(fds), 0); }
  ~Pipe() {
    if (fds[0] >= 0) close(fds[0]);
    if (fds[1] >= 0) close(fds[1]);
  }
  int read_end() const { return fds[0]; }
  int write_end() const { return fds[1]; }
  int fds[2] = {-1, -1};
};

TEST(IoLoop, PostRunsOnTheLoopThreadInOrder) {
  auto loop = started_loop();
  std::promise<std::vector<int>> done;
  std::vector<int> order;
  bool on_thread = true;
  for (int i = 0; i < 5; ++i) {
    loop->post([&, i] {
      on_thread = on_thread && loop->on_loop_thread();
      order.push_back(i);
      if (i == 4) done.set_value(order);
    });
  }
  auto future = done.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(future.get(), (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_TRUE(on_thread);
  EXPECT_FALSE(loop->on_loop_thread());
}

TEST(IoLoop, ReadableFdRunsItsCallback) {
  auto loop = started_loop();
  Pipe pipe;
  std::promise<std::string> got;
  loop->add_fd(pipe.read_end(), POLLIN, [&](short revents) {
    ASSERT_TRUE(revents & POLLIN);
    char buffer[16];
    const ssize_t n = read(pipe.read_end(), buffer, sizeof buffer);
    loop->remove_fd(pipe.read_end());
    got.set_value(std::string(buffer, n > 0 ? n : 0));
  });
  ASSERT_EQ(write(pipe.write_end(), "hi", 2), 2);
  auto future = got.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(future.get(), "hi");
}

TEST(IoLoop, RemoveFromInsideTheCallbackStopsFurtherCalls) {
  auto loop = started_loop();
  Pipe pipe;
  std::atomic<int> calls = 0;
  // Never reads the byte: the fd stays readable, so only the removal stops it.
  loop->add_fd(pipe.read_end(), POLLIN, [&](short) {
    ++calls;
    loop->remove_fd(pipe.read_end());
  });
  ASSERT_EQ(write(pipe.write_end(), "x", 1), 1);
  std::this_thread::sleep_for(100ms);
  // A post round-trip makes sure the loop went through further iterations.
  std::promise<void> flushed;
  loop->post([&] { flushed.set_value(); });
  ASSERT_EQ(flushed.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_EQ(calls.load(), 1);
}

TEST(IoLoop, ModifyToZeroPausesAndBackResumes) {
  auto loop = started_loop();
  Pipe pipe;
  std::atomic<int> calls = 0;
  loop->add_fd(pipe.read_end(), POLLIN, [&](short) {
    ++calls;
    loop->modify_fd(pipe.read_end(), 0);
  });
  ASSERT_EQ(write(pipe.write_end(), "x", 1), 1);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(calls.load(), 1);
  loop->modify_fd(pipe.read_end(), POLLIN);
  for (int i = 0; i < 500 && calls.load() < 2; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(calls.load(), 2);
}

TEST(IoLoop, AddFromAnotherThreadWakesAPollInProgress) {
  auto loop = started_loop();
  std::this_thread::sleep_for(50ms);  // the loop is now blocked in poll()
  Pipe pipe;
  ASSERT_EQ(write(pipe.write_end(), "x", 1), 1);
  std::promise<void> called;
  loop->add_fd(pipe.read_end(), POLLIN, [&](short) {
    loop->remove_fd(pipe.read_end());
    called.set_value();
  });
  EXPECT_EQ(called.get_future().wait_for(5s), std::future_status::ready);
}

TEST(IoLoop, HangupIsReported) {
  auto loop = started_loop();
  Pipe pipe;
  std::promise<short> got;
  loop->add_fd(pipe.read_end(), POLLIN, [&](short revents) {
    loop->remove_fd(pipe.read_end());
    got.set_value(revents);
  });
  close(pipe.fds[1]);
  pipe.fds[1] = -1;
  auto future = got.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(future.get() & POLLHUP);
}

TEST(IoLoop, ClosedFdIsDroppedAfterPollnval) {
  auto loop = started_loop();
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  close(fds[1]);
  std::atomic<int> nval_calls = 0;
  // Closed before registering: poll() reports POLLNVAL, once.
  close(fds[0]);
  loop->add_fd(fds[0], POLLIN, [&](short revents) {
    if (revents & POLLNVAL) ++nval_calls;
  });
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(nval_calls.load(), 1);
}

TEST(IoLoop, StopJoinsAndIsIdempotent) {
  IoLoop loop;
  loop.start();
  loop.start();
  std::atomic<bool> ran = false;
  loop.post([&] { ran = true; });
  loop.stop();
  EXPECT_TRUE(ran.load());  // queued before stop(): run before the thread exits
  loop.stop();
  bool late = false;
  loop.post([&] { late = true; });  // dropped: the loop is gone
  EXPECT_FALSE(late);
}

TEST(IoLoop, DestructorStopsARunningLoop) {
  auto loop = started_loop();
  Pipe pipe;
  loop->add_fd(pipe.read_end(), POLLIN, [](short) {});
  loop.reset();  // must return, not hang
  SUCCEED();
}

TEST(IoLoop, NeverStartedLoopDestroysCleanly) {
  IoLoop loop;
  loop.post([] {});  // queued, never run, freed
}

// A source with one pipe and a 10 ms timeout: dispatch sees the pipe's
// readiness, and runs on timeouts too.
class PipeSource : public PollSource {
 public:
  explicit PipeSource(int fd) : fd_(fd) {}
  void prepare(std::vector<pollfd>& fds, int& timeout_ms) override {
    fds.push_back({fd_, POLLIN, 0});
    if (timeout_ms < 0 || timeout_ms > 10) timeout_ms = 10;
  }
  void dispatch(std::span<const pollfd> fds) override {
    ASSERT_EQ(fds.size(), 1u);
    ++dispatches;
    if (fds[0].revents & POLLIN) {
      char byte;
      if (read(fd_, &byte, 1) == 1) ++bytes;
    }
  }
  std::atomic<int> dispatches = 0;
  std::atomic<int> bytes = 0;

 private:
  int fd_;
};

TEST(IoLoop, APollSourceGetsItsReadinessAndItsTimeouts) {
  Pipe pipe;
  PipeSource source(pipe.read_end());
  auto loop = started_loop();
  loop->add_source(&source);
  // Timeouts alone keep dispatching.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (source.dispatches < 3 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  EXPECT_GE(source.dispatches.load(), 3);
  ASSERT_EQ(write(pipe.write_end(), "xy", 2), 2);
  while (source.bytes < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(source.bytes.load(), 2);
  loop->run_and_wait([&] { loop->remove_source(&source); });
  const int after = source.dispatches;
  std::this_thread::sleep_for(40ms);
  EXPECT_EQ(source.dispatches.load(), after);
}

}  // namespace
}  // namespace godwit
