// BandwidthWindow with injected time points: the 100 ms windows that set the
// measured rate (and so when a migration may switch over) and the allowance
// that keeps a running guest's migration under max-bandwidth. No test reads
// the clock, so none depends on how busy the machine is.
#include "migration/bandwidth_window.hpp"

#include <gtest/gtest.h>

namespace godwit {
namespace {

using namespace std::chrono_literals;
using Clock = BandwidthWindow::Clock;

// Any fixed point will do; not the epoch, so that "before the start" exists.
const Clock::time_point t0 = Clock::time_point{} + 1000s;

constexpr uint64_t kNoCap = UINT64_MAX;

TEST(BandwidthWindow, HasNoRateBeforeTheFirstWindowCloses) {
  // A burst into the socket buffer right after setup says nothing about the
  // link: QEMU decides no switchover on it, so neither may we.
  BandwidthWindow window(t0);
  window.add(10'000'000, 2'000);
  EXPECT_FALSE(window.roll(t0));
  EXPECT_FALSE(window.roll(t0 + 99ms));
  EXPECT_FALSE(window.roll(t0 + 100ms - 1ns));
  EXPECT_EQ(window.bytes_per_ms(), 0.0);
  EXPECT_EQ(window.megabits_per_second(), 0.0);
  EXPECT_EQ(window.pages_per_second(), 0u);
}

TEST(BandwidthWindow, RollAfterAHundredMillisecondsGivesTheWindowsRate) {
  BandwidthWindow window(t0);
  window.add(600'000, 100);
  window.add(400'000, 150);
  ASSERT_TRUE(window.roll(t0 + 100ms));
  EXPECT_DOUBLE_EQ(window.bytes_per_ms(), 10'000.0);  // 1 MB in 100 ms
  EXPECT_DOUBLE_EQ(window.megabits_per_second(), 80.0);
  EXPECT_EQ(window.pages_per_second(), 2'500u);
}

TEST(BandwidthWindow, BestRateIsTheFastestClosedWindow) {
  BandwidthWindow window(t0);
  EXPECT_EQ(window.best_bytes_per_ms(), 0.0);
  window.add(1'000'000, 100);
  ASSERT_TRUE(window.roll(t0 + 100ms));
  window.add(10'000, 1000);  // a window of zero-page records
  ASSERT_TRUE(window.roll(t0 + 200ms));
  EXPECT_DOUBLE_EQ(window.bytes_per_ms(), 100.0);
  EXPECT_DOUBLE_EQ(window.best_bytes_per_ms(), 10'000.0);
  window.add(2'000'000, 100);
  ASSERT_TRUE(window.roll(t0 + 300ms));
  EXPECT_DOUBLE_EQ(window.best_bytes_per_ms(), 20'000.0);
}

TEST(BandwidthWindow, AnOpenWindowCountsOnlyOnceItCarriedALotForLong) {
  BandwidthWindow window(t0);
  window.add(64u << 20, 16384);
  // 64 MiB in 10 ms could still be buffers and a lucky start: not yet.
  EXPECT_EQ(window.switchover_bytes_per_ms(t0 + 10ms), 0.0);
  // After 50 ms it is the link's rate.
  EXPECT_DOUBLE_EQ(window.switchover_bytes_per_ms(t0 + 64ms), (64u << 20) / 64.0);
  // A few MiB never count, however long.
  BandwidthWindow small(t0);
  small.add(4u << 20, 1024);
  EXPECT_EQ(small.switchover_bytes_per_ms(t0 + 90ms), 0.0);
}

TEST(BandwidthWindow, RateIsOverTheWholeTimeSinceTheWindowStarted) {
  // A window rolled late (the thread slept, or sent a big chunk) is
  // averaged over its real length, not over the nominal 100 ms.
  BandwidthWindow window(t0);
  window.add(500'000, 50);
  ASSERT_TRUE(window.roll(t0 + 250ms));
  EXPECT_DOUBLE_EQ(window.bytes_per_ms(), 2'000.0);
  EXPECT_EQ(window.pages_per_second(), 200u);
}

TEST(BandwidthWindow, EachRollStartsAFreshWindowAtThatTime) {
  BandwidthWindow window(t0);
  window.add(1'000'000, 100);
  ASSERT_TRUE(window.roll(t0 + 150ms));
  // The next window runs from 150 ms, not from 100 ms.
  window.add(300'000, 30);
  EXPECT_FALSE(window.roll(t0 + 249ms));
  // Until it closes, the last closed window's figures stand.
  EXPECT_DOUBLE_EQ(window.bytes_per_ms(), 1'000'000.0 / 150.0);
  ASSERT_TRUE(window.roll(t0 + 250ms));
  EXPECT_DOUBLE_EQ(window.bytes_per_ms(), 3'000.0);  // only the second window's bytes
  EXPECT_EQ(window.pages_per_second(), 300u);
}

TEST(BandwidthWindow, AnIdleWindowMeasuresZero) {
  // Once measured, a window that carried nothing reports 0, not the rate of
  // the window before.
  BandwidthWindow window(t0);
  window.add(1'000'000, 100);
  ASSERT_TRUE(window.roll(t0 + 100ms));
  ASSERT_TRUE(window.roll(t0 + 200ms));
  EXPECT_EQ(window.bytes_per_ms(), 0.0);
  EXPECT_EQ(window.pages_per_second(), 0u);
}

TEST(BandwidthWindow, AllowanceLeftIsATenthOfTheLimitLessWhatTheWindowCarried) {
  constexpr uint64_t limit = 1'000'000;  // bytes/s: 100 000 per 100 ms window
  BandwidthWindow window(t0);
  EXPECT_EQ(window.allowance_left(limit, kNoCap), 100'000u);
  window.add(30'000, 7);
  EXPECT_EQ(window.allowance_left(limit, kNoCap), 70'000u);
  // The cap (the most one chunk may carry) bounds it.
  EXPECT_EQ(window.allowance_left(limit, 50'000), 50'000u);
  window.add(70'000, 17);
  EXPECT_EQ(window.allowance_left(limit, kNoCap), 0u);
  // A chunk may overshoot (a page is never split): still nothing left, no
  // wrap-around to a huge allowance.
  window.add(5'000, 1);
  EXPECT_EQ(window.allowance_left(limit, kNoCap), 0u);
}

TEST(BandwidthWindow, AllowanceComesBackWhenTheWindowRolls) {
  constexpr uint64_t limit = 1'000'000;
  BandwidthWindow window(t0);
  window.add(100'000, 25);
  ASSERT_EQ(window.allowance_left(limit, kNoCap), 0u);
  ASSERT_TRUE(window.roll(t0 + 100ms));
  EXPECT_EQ(window.allowance_left(limit, kNoCap), 100'000u);
}

TEST(BandwidthWindow, NoLimitMeansTheCapAndNoWaiting) {
  BandwidthWindow window(t0);
  window.add(UINT64_MAX / 2, 1);
  EXPECT_EQ(window.allowance_left(0, 8u << 20), 8u << 20);
  EXPECT_EQ(window.wait_needed(0, t0 + 1ms), Clock::duration::zero());
}

TEST(BandwidthWindow, WaitIsNeededOnlyOnceTheAllowanceIsUsedAndLastsToTheWindowsEnd) {
  constexpr uint64_t limit = 1'000'000;
  BandwidthWindow window(t0);
  window.add(99'999, 24);
  EXPECT_EQ(window.wait_needed(limit, t0 + 30ms), Clock::duration::zero());
  window.add(1, 0);  // exactly the allowance
  EXPECT_EQ(window.wait_needed(limit, t0 + 30ms), Clock::duration(70ms));
  EXPECT_EQ(window.wait_needed(limit, t0 + 99ms), Clock::duration(1ms));
  // Past the window's end (not yet rolled): no negative wait.
  EXPECT_EQ(window.wait_needed(limit, t0 + 100ms), Clock::duration::zero());
  EXPECT_EQ(window.wait_needed(limit, t0 + 150ms), Clock::duration::zero());
}

TEST(BandwidthWindow, WaitRunsToTheEndOfTheCurrentWindowAfterARoll) {
  constexpr uint64_t limit = 1'000'000;
  BandwidthWindow window(t0);
  ASSERT_TRUE(window.roll(t0 + 120ms));
  window.add(200'000, 50);
  EXPECT_EQ(window.wait_needed(limit, t0 + 130ms), Clock::duration(90ms));
}

// allowance_left() and wait_needed() must agree on when a window is used up:
// the sender asks wait_needed() first and, told not to wait, calls
// send_chunk(), which sends nothing when allowance_left() is 0. If they
// disagree the migration thread spins, sending nothing and never sleeping,
// until the window rolls (up to 100 ms of a busy core).
//
// A tenth of 1 MiB/s is 104 857.6 bytes: both must use the same whole-byte
// allowance.
TEST(BandwidthWindow, AllowanceAndWaitAgreeWhenATenthOfTheLimitIsFractional) {
  constexpr uint64_t limit = 1u << 20;  // 1 MiB/s: 104 857.6 bytes per window
  BandwidthWindow window(t0);
  window.add(104'857, 25);
  const bool nothing_left = window.allowance_left(limit, kNoCap) == 0;
  const bool must_wait = window.wait_needed(limit, t0 + 10ms) > Clock::duration::zero();
  EXPECT_EQ(nothing_left, must_wait);
}

TEST(BandwidthWindow, AllowanceAndWaitAgreeWhenATenthOfTheLimitIsWhole) {
  // The consistent case of the test above, which must hold today.
  constexpr uint64_t limit = 1'000'000;
  BandwidthWindow window(t0);
  for (uint64_t bytes : {0u, 1u, 50'000u, 49'998u, 1u}) {
    window.add(bytes, 0);
    const bool nothing_left = window.allowance_left(limit, kNoCap) == 0;
    const bool must_wait = window.wait_needed(limit, t0 + 10ms) > Clock::duration::zero();
    EXPECT_EQ(nothing_left, must_wait) << "after adding " << bytes;
  }
}

}  // namespace
}  // namespace godwit
