#include "base/guest_clock.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace godwit {
namespace {

using namespace std::chrono_literals;

TEST(GuestClock, StandsStillUntilStarted) {
  GuestClock clock;
  EXPECT_FALSE(clock.running());
  EXPECT_EQ(clock.ns(), 0u);
  std::this_thread::sleep_for(5ms);
  EXPECT_EQ(clock.ns(), 0u);
}

TEST(GuestClock, RunsWhileStartedAndFreezesWhenStopped) {
  GuestClock clock;
  clock.start();
  std::this_thread::sleep_for(10ms);
  clock.stop();
  const uint64_t frozen = clock.ns();
  EXPECT_GE(frozen, 10'000'000u);
  std::this_thread::sleep_for(10ms);
  EXPECT_EQ(clock.ns(), frozen);  // no time passes while stopped
  clock.start();
  const uint64_t resumed = clock.ns();
  EXPECT_GE(resumed, frozen);           // never goes back
  EXPECT_LT(resumed - frozen, 5'000'000u);  // and does not jump over the stop
}

TEST(GuestClock, TicksAtTenMegahertz) {
  GuestClock clock;
  clock.set_ns(1'000'000'000);
  EXPECT_EQ(clock.ticks(), 10'000'000u);
}

TEST(GuestClock, HostDeadlineOfAFutureTick) {
  GuestClock clock;
  clock.set_ns(500);
  clock.start();
  const int64_t now = monotonic_ns();
  const int64_t deadline = clock.host_ns_at_ticks(clock.ticks() + 10'000);  // 1 ms of guest time ahead
  EXPECT_GT(deadline, now);
  EXPECT_LE(deadline - now, 1'100'000);
  EXPECT_GE(clock.host_ns_at_ticks(UINT64_MAX), INT64_MAX / 4);  // "never" does not overflow
}

}  // namespace
}  // namespace godwit
