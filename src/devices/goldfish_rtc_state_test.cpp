// The RTC's "goldfish_rtc" description: round trip, the version-1 golden
// stream, bad streams, and the description itself.
#include <gtest/gtest.h>

#include <string>

#include "devices/fakes_test_util.hpp"
#include "devices/goldfish_rtc.hpp"
#include "devices/state_test_util.hpp"

namespace godwit {
namespace {

using testing::describe;
using testing::error_of;
using testing::FakeInterruptController;
using testing::from_hex;
using testing::load_bytes;
using testing::prefix;
using testing::save_bytes;
using testing::to_hex;

constexpr unsigned kSource = 11;
constexpr uint64_t kSecond = 1'000'000'000;
using R = GoldfishRtc;

// An RTC with its own fake PLIC over a stopped clock at `ns`.
struct Bench {
  explicit Bench(uint64_t ns = 0) : rtc((clock.set_ns(ns), clock), IrqLine(&controller, kSource)) {}
  uint32_t reg(uint64_t offset) { return static_cast<uint32_t>(rtc.read(offset, 4)); }
  void set(uint64_t offset, uint64_t value) { rtc.write(offset, 4, value); }
  void set_alarm(uint64_t ns) {
    set(R::kAlarmHigh, ns >> 32);
    set(R::kAlarmLow, ns & 0xffffffff);
  }
  bool irq() const { return controller.level(kSource); }

  GuestClock clock;
  FakeInterruptController controller;
  GoldfishRtc rtc;
};

constexpr uint64_t kStart = 5 * kSecond;  // guest time when the source is built

// Time set to 2'000'000'000 s, interrupts enabled, one alarm that fired
// (interrupt pending) and a second armed 100 s ahead; TIME_LOW read last, so
// time_high latched.
void drive(Bench& b) {
  b.set(R::kTimeHigh, 0x1bc16d67);  // 2e9 s in ns = 0x1bc16d67_4ec80000
  b.set(R::kTimeLow, 0x4ec80000);
  b.set(R::kIrqEnabled, 1);
  b.set_alarm(0x1bc1'6d67'4ec8'0000 + 1 * kSecond);
  b.clock.set_ns(b.clock.ns() + 2 * kSecond);
  b.rtc.poll();
  b.set_alarm(0x1bc1'6d67'4ec8'0000 + 102 * kSecond);
  b.reg(R::kTimeLow);
}

// With T = 2e9 s = 0x1bc16d674ec80000 ns set at guest 5 s:
const char* const kGoldenV1 =
    "1bc16d6624c20e00"  // tick_offset_ns: T - 5e9
    "1bc16d7f0e747c00"  // alarm_next: T + 102e9
    "00000001"          // alarm_running
    "00000001"          // irq_pending
    "00000001"          // irq_enabled
    "1bc16d67";         // time_high: of T + 2e9

TEST(RtcState, GoldenStreamMatchesTheFieldList) {
  Bench source(kStart);
  drive(source);
  EXPECT_EQ(to_hex(save_bytes(source.rtc)), to_hex(from_hex(kGoldenV1)));
}

TEST(RtcState, RoundTripRestoresTimeAlarmAndInterrupt) {
  Bench source(kStart);
  drive(source);
  ASSERT_TRUE(source.irq());
  const auto bytes = save_bytes(source.rtc);

  Bench destination(source.clock.ns());  // the machine migrates the clock itself
  ASSERT_FALSE(destination.irq());
  ASSERT_TRUE(load_bytes(destination.rtc, bytes));
  EXPECT_TRUE(destination.irq());  // raised again on the destination's PLIC
  EXPECT_EQ(save_bytes(destination.rtc), bytes);
  EXPECT_EQ(destination.rtc.time_ns(), source.rtc.time_ns());
  EXPECT_EQ(destination.rtc.next_alarm_guest_ns(), source.rtc.next_alarm_guest_ns());
  for (uint64_t offset : {R::kTimeHigh, R::kAlarmLow, R::kAlarmHigh, R::kIrqEnabled, R::kAlarmStatus, R::kTimeLow}) {
    EXPECT_EQ(destination.reg(offset), source.reg(offset)) << offset;
  }
  // Both fire the armed alarm at the same guest time.
  destination.set(R::kClearInterrupt, 1);
  source.set(R::kClearInterrupt, 1);
  for (Bench* b : {&source, &destination}) {
    b->clock.set_ns(b->clock.ns() + 99 * kSecond);
    b->rtc.poll();
    EXPECT_FALSE(b->irq());
    b->clock.set_ns(b->clock.ns() + 1 * kSecond);
    b->rtc.poll();
    EXPECT_TRUE(b->irq());
  }
}

TEST(RtcState, GoldenVersion1StreamStillLoads) {
  Bench destination(kStart + 2 * kSecond);
  ASSERT_TRUE(load_bytes(destination.rtc, from_hex(kGoldenV1)));
  // At guest 7 s the RTC reads 2e9 s + 2 s, as drive() left it.
  EXPECT_EQ(destination.rtc.time_ns(), 0x1bc1'6d67'4ec8'0000 + 2 * kSecond);
  EXPECT_EQ(destination.rtc.next_alarm_guest_ns(), kStart + 102 * kSecond);
  EXPECT_TRUE(destination.irq());
  EXPECT_EQ(destination.reg(R::kTimeHigh), 0x1bc16d67u);
  EXPECT_EQ(destination.reg(R::kAlarmStatus), 1u);
  EXPECT_EQ(destination.reg(R::kIrqEnabled), 1u);
}

TEST(RtcState, TruncatedStreamNamesDeviceAndField) {
  auto bytes = from_hex(kGoldenV1);
  bytes = prefix(bytes, 8 + 5);  // ends inside alarm_next
  Bench destination;
  const std::string message = error_of(load_bytes(destination.rtc, bytes));
  EXPECT_NE(message.find("goldfish_rtc: field alarm_next"), std::string::npos) << message;
  EXPECT_NE(message.find("stream ended early"), std::string::npos) << message;
}

TEST(RtcState, FlagsOtherThanZeroOrOneAreRejected) {
  Bench destination;
  auto bytes = from_hex(kGoldenV1);
  bytes[16 + 4 + 3] = 2;  // irq_pending
  EXPECT_EQ(error_of(load_bytes(destination.rtc, bytes)), "goldfish_rtc: irq_pending is neither 0 nor 1");
  bytes = from_hex(kGoldenV1);
  bytes[16 + 0] = 0x80;  // alarm_running
  EXPECT_EQ(error_of(load_bytes(destination.rtc, bytes)), "goldfish_rtc: alarm_running is neither 0 nor 1");
}

TEST(RtcState, NewerVersionIsRefused) {
  Bench destination;
  EXPECT_EQ(error_of(load_bytes(destination.rtc, from_hex(kGoldenV1), 4)),
            "goldfish_rtc: stream version 4 is newer than this godwit's 1");
}

TEST(RtcState, FailedLoadLeavesTheRtcAsItWas) {
  Bench destination(kStart);
  destination.set(R::kIrqEnabled, 1);
  destination.set_alarm(0);  // in the past: fires at once
  ASSERT_TRUE(destination.irq());
  const auto before = save_bytes(destination.rtc);
  const int calls = destination.controller.calls();

  auto bytes = from_hex(kGoldenV1);
  bytes[16 + 8 + 3] = 7;  // irq_enabled
  ASSERT_FALSE(load_bytes(destination.rtc, bytes));
  bytes = prefix(bytes, 20);
  ASSERT_FALSE(load_bytes(destination.rtc, bytes));

  EXPECT_EQ(save_bytes(destination.rtc), before);
  EXPECT_EQ(destination.controller.calls(), calls);
  EXPECT_TRUE(destination.irq());
}

TEST(RtcState, DescriptionListsEveryFieldWithTypeAndSize) {
  Bench source;
  EXPECT_EQ(describe(source.rtc), nlohmann::json::parse(R"({
    "vmsd_name": "goldfish_rtc", "version": 1,
    "fields": [
      {"name": "tick_offset_ns", "type": "uint64", "size": 8},
      {"name": "alarm_next", "type": "uint64", "size": 8},
      {"name": "alarm_running", "type": "uint32", "size": 4},
      {"name": "irq_pending", "type": "uint32", "size": 4},
      {"name": "irq_enabled", "type": "uint32", "size": 4},
      {"name": "time_high", "type": "uint32", "size": 4}
    ]
  })"));
}

}  // namespace
}  // namespace godwit
