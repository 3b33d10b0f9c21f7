#include "net/announcer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "base/monotonic_clock.hpp"

namespace godwit {
namespace {

using namespace std::chrono_literals;

TEST(Announcer, SendsItsRoundsWithGrowingGaps) {
  IoLoop loop;
  loop.start();
  std::mutex mutex;
  std::vector<int64_t> sent_ns;
  Announcer announcer(loop, [&] {
    std::lock_guard lock(mutex);
    sent_ns.push_back(monotonic_ns());
  });
  const int64_t started = monotonic_ns();
  announcer.start({.initial_ms = 20, .max_ms = 60, .rounds = 4, .step_ms = 30});
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (announcer.rounds_sent() < 4 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  std::this_thread::sleep_for(100ms);  // and no fifth
  std::lock_guard lock(mutex);
  ASSERT_EQ(sent_ns.size(), 4u);
  // Gaps of 20, 50, 60 (capped), 60 ms: each at least that long.
  const int64_t wanted[] = {20, 50, 60, 60};
  int64_t previous = started;
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_GE((sent_ns[i] - previous) / 1'000'000, wanted[i] - 1) << "round " << i;
    previous = sent_ns[i];
  }
}

}  // namespace
}  // namespace godwit
