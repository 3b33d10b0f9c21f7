#include "devices/goldfish_rtc.hpp"

#include <gtest/gtest.h>
#include <time.h>

#include "devices/fakes_test_util.hpp"

namespace godwit {
namespace {

using testing::FakeInterruptController;

constexpr unsigned kSource = 11;
constexpr uint64_t kSecond = 1'000'000'000;

class GoldfishRtcTest : public ::testing::Test {
 protected:
  GoldfishRtcTest() : rtc(clock, IrqLine(&controller, kSource)) {}

  uint64_t read_time() {
    const uint64_t low = rtc.read(GoldfishRtc::kTimeLow, 4);
    const uint64_t high = rtc.read(GoldfishRtc::kTimeHigh, 4);
    return (high << 32) | low;
  }
  void set_alarm(uint64_t ns) {
    rtc.write(GoldfishRtc::kAlarmHigh, 4, ns >> 32);
    rtc.write(GoldfishRtc::kAlarmLow, 4, ns & 0xffffffff);
  }
  void advance_ns(uint64_t ns) { clock.set_ns(clock.ns() + ns); }

  GuestClock clock;
  FakeInterruptController controller;
  GoldfishRtc rtc;
};

TEST_F(GoldfishRtcTest, StartsAtTheHostWallClockInWholeSeconds) {
  timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  const uint64_t now = read_time();
  EXPECT_EQ(now % kSecond, 0u);
  const uint64_t host = static_cast<uint64_t>(wall.tv_sec) * kSecond;
  EXPECT_LE(now, host + kSecond);
  EXPECT_GE(now + 2 * kSecond, host);
}

TEST_F(GoldfishRtcTest, StandsStillWhileTheClockIsStopped) {
  const uint64_t first = read_time();
  EXPECT_EQ(read_time(), first);
  advance_ns(1234);
  EXPECT_EQ(read_time(), first + 1234);
}

TEST_F(GoldfishRtcTest, ReadingLowLatchesHigh) {
  rtc.write(GoldfishRtc::kTimeHigh, 4, 0);
  rtc.write(GoldfishRtc::kTimeLow, 4, 0xffffff00);
  EXPECT_EQ(rtc.read(GoldfishRtc::kTimeLow, 4), 0xffffff00u);
  advance_ns(0x200);  // carries into the high half
  EXPECT_EQ(rtc.read(GoldfishRtc::kTimeHigh, 4), 0u);  // still the latched value
  EXPECT_EQ(rtc.read(GoldfishRtc::kTimeLow, 4), 0x100u);
  EXPECT_EQ(rtc.read(GoldfishRtc::kTimeHigh, 4), 1u);
}

TEST_F(GoldfishRtcTest, GuestCanSetTheTime) {
  rtc.write(GoldfishRtc::kTimeHigh, 4, 0x12);
  rtc.write(GoldfishRtc::kTimeLow, 4, 0x3456);
  EXPECT_EQ(read_time(), 0x12'0000'3456u);
  EXPECT_EQ(rtc.time_ns(), 0x12'0000'3456u);
  advance_ns(10);
  EXPECT_EQ(read_time(), 0x12'0000'3460u);
}

TEST_F(GoldfishRtcTest, RunningClockMovesTime) {
  clock.start();
  const uint64_t first = read_time();
  while (read_time() == first) {
  }
  clock.stop();
  const uint64_t stopped = read_time();
  EXPECT_EQ(read_time(), stopped);
}

TEST_F(GoldfishRtcTest, AlarmRegistersReadBack) {
  rtc.write(GoldfishRtc::kAlarmHigh, 4, 0xffffffff);
  rtc.write(GoldfishRtc::kAlarmLow, 4, 0x89abcdef);
  EXPECT_EQ(rtc.read(GoldfishRtc::kAlarmLow, 4), 0x89abcdefu);
  EXPECT_EQ(rtc.read(GoldfishRtc::kAlarmHigh, 4), 0xffffffffu);
  EXPECT_EQ(rtc.read(GoldfishRtc::kAlarmStatus, 4), 1u);
}

TEST_F(GoldfishRtcTest, AlarmFiresWhenTimePassesIt) {
  rtc.write(GoldfishRtc::kIrqEnabled, 4, 1);
  EXPECT_EQ(rtc.read(GoldfishRtc::kIrqEnabled, 4), 1u);
  set_alarm(read_time() + 1000);
  EXPECT_EQ(rtc.read(GoldfishRtc::kAlarmStatus, 4), 1u);
  EXPECT_FALSE(controller.level(kSource));
  EXPECT_EQ(rtc.next_alarm_guest_ns(), clock.ns() + 1000);

  advance_ns(999);
  rtc.poll();
  EXPECT_FALSE(controller.level(kSource));
  advance_ns(1);
  rtc.poll();
  EXPECT_TRUE(controller.level(kSource));
  EXPECT_EQ(rtc.read(GoldfishRtc::kAlarmStatus, 4), 0u);
  EXPECT_EQ(rtc.next_alarm_guest_ns(), std::nullopt);

  rtc.write(GoldfishRtc::kClearInterrupt, 4, 1);
  EXPECT_FALSE(controller.level(kSource));
}

TEST_F(GoldfishRtcTest, RegisterAccessAlsoNoticesADueAlarm) {
  rtc.write(GoldfishRtc::kIrqEnabled, 4, 1);
  set_alarm(read_time() + 50);
  advance_ns(60);
  EXPECT_EQ(rtc.read(GoldfishRtc::kAlarmStatus, 4), 0u);
  EXPECT_TRUE(controller.level(kSource));
}

TEST_F(GoldfishRtcTest, AlarmInThePastFiresImmediately) {
  rtc.write(GoldfishRtc::kIrqEnabled, 4, 1);
  set_alarm(read_time());
  EXPECT_TRUE(controller.level(kSource));
  EXPECT_EQ(rtc.read(GoldfishRtc::kAlarmStatus, 4), 0u);
}

TEST_F(GoldfishRtcTest, AlarmDoesNotFireWhileTheClockIsStopped) {
  rtc.write(GoldfishRtc::kIrqEnabled, 4, 1);
  set_alarm(read_time() + 1);
  for (int i = 0; i < 3; ++i) rtc.poll();
  EXPECT_FALSE(controller.level(kSource));
  EXPECT_EQ(rtc.read(GoldfishRtc::kAlarmStatus, 4), 1u);
}

TEST_F(GoldfishRtcTest, IrqEnabledMasksThePendingInterrupt) {
  set_alarm(read_time());  // pending, but not enabled
  EXPECT_FALSE(controller.level(kSource));
  rtc.write(GoldfishRtc::kIrqEnabled, 4, 3);  // only bit 0 counts
  EXPECT_EQ(rtc.read(GoldfishRtc::kIrqEnabled, 4), 1u);
  EXPECT_TRUE(controller.level(kSource));
  rtc.write(GoldfishRtc::kIrqEnabled, 4, 0);
  EXPECT_FALSE(controller.level(kSource));
}

TEST_F(GoldfishRtcTest, ClearAlarmDisarms) {
  rtc.write(GoldfishRtc::kIrqEnabled, 4, 1);
  set_alarm(read_time() + 100);
  rtc.write(GoldfishRtc::kClearAlarm, 4, 1);
  EXPECT_EQ(rtc.read(GoldfishRtc::kAlarmStatus, 4), 0u);
  advance_ns(200);
  rtc.poll();
  EXPECT_FALSE(controller.level(kSource));
}

TEST_F(GoldfishRtcTest, WritingAlarmHighAloneDoesNotArm) {
  rtc.write(GoldfishRtc::kAlarmHigh, 4, 1);
  EXPECT_EQ(rtc.read(GoldfishRtc::kAlarmStatus, 4), 0u);
}

TEST_F(GoldfishRtcTest, SettingTimeForwardCanFireTheAlarm) {
  rtc.write(GoldfishRtc::kIrqEnabled, 4, 1);
  const uint64_t now = read_time();
  set_alarm(now + 10 * kSecond);
  rtc.write(GoldfishRtc::kTimeHigh, 4, (now + 20 * kSecond) >> 32);
  rtc.write(GoldfishRtc::kTimeLow, 4, (now + 20 * kSecond) & 0xffffffff);
  EXPECT_TRUE(controller.level(kSource));
}

TEST_F(GoldfishRtcTest, ResetKeepsTimeAndClearsTheRest) {
  rtc.write(GoldfishRtc::kIrqEnabled, 4, 1);
  set_alarm(read_time());
  EXPECT_TRUE(controller.level(kSource));
  const uint64_t before = read_time();
  rtc.reset();
  EXPECT_FALSE(controller.level(kSource));
  EXPECT_EQ(read_time(), before);
  EXPECT_EQ(rtc.read(GoldfishRtc::kIrqEnabled, 4), 0u);
  EXPECT_EQ(rtc.read(GoldfishRtc::kAlarmLow, 4), 0u);
  EXPECT_EQ(rtc.read(GoldfishRtc::kAlarmHigh, 4), 0u);
  EXPECT_EQ(rtc.read(GoldfishRtc::kAlarmStatus, 4), 0u);
  EXPECT_EQ(rtc.snapshot().irq_pending, 0u);
}

TEST_F(GoldfishRtcTest, OnlyWordAccessesAndKnownOffsets) {
  EXPECT_EQ(rtc.read(GoldfishRtc::kTimeLow, 8), 0u);
  EXPECT_EQ(rtc.read(GoldfishRtc::kClearAlarm, 4), 0u);
  EXPECT_EQ(rtc.read(0x20, 4), 0u);
  rtc.write(GoldfishRtc::kIrqEnabled, 1, 1);
  EXPECT_EQ(rtc.read(GoldfishRtc::kIrqEnabled, 4), 0u);
}

}  // namespace
}  // namespace godwit
