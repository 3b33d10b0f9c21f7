#include "devices/clint.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace godwit {
namespace {

// Two harts and a stopped clock the test moves by hand.
class ClintTest : public ::testing::Test {
 protected:
  ClintTest() {
    clock.set_ns(0);
    clint = std::make_unique<Clint>(std::vector<HartControl*>{&hart0, &hart1}, clock);
  }

  void advance_ticks(uint64_t ticks) { clock.set_ns(clock.ns() + ticks * GuestClock::kNsPerTick); }
  // What the hart computes for MTIP: its clock against the compare value.
  bool mtip(const HartControl& hart) const { return clock.ticks() >= hart.mtimecmp(); }
  uint64_t mtimecmp_offset(unsigned hart) const { return Clint::kMtimecmpBase + 8 * hart; }

  GuestClock clock;
  HartControl hart0;
  HartControl hart1;
  std::unique_ptr<Clint> clint;
};

TEST_F(ClintTest, MsipDrivesTheHartsMsipBit) {
  clint->write(0x0, 4, 1);
  EXPECT_EQ(hart0.external_mip() & mip::kMSIP, mip::kMSIP);
  EXPECT_EQ(hart1.external_mip() & mip::kMSIP, 0u);
  EXPECT_EQ(clint->read(0x0, 4), 1u);
  EXPECT_EQ(clint->read(0x4, 4), 0u);

  clint->write(0x4, 4, 1);
  EXPECT_EQ(hart1.external_mip() & mip::kMSIP, mip::kMSIP);

  clint->write(0x0, 4, 0);
  EXPECT_EQ(hart0.external_mip() & mip::kMSIP, 0u);
  EXPECT_EQ(clint->read(0x0, 4), 0u);
  EXPECT_EQ(hart1.external_mip() & mip::kMSIP, mip::kMSIP);
}

TEST_F(ClintTest, MsipKeepsOnlyBitZero) {
  clint->write(0x0, 4, 0xfffffffe);
  EXPECT_EQ(clint->read(0x0, 4), 0u);
  EXPECT_EQ(hart0.external_mip() & mip::kMSIP, 0u);
  clint->write(0x0, 4, 0xffffffff);
  EXPECT_EQ(clint->read(0x0, 4), 1u);
}

TEST_F(ClintTest, MsipIgnoresAbsentHartsAndOtherSizes) {
  clint->write(0x8, 4, 1);  // hart 2 does not exist
  EXPECT_EQ(clint->read(0x8, 4), 0u);
  clint->write(0x0, 1, 1);
  clint->write(0x0, 8, 1);
  EXPECT_EQ(hart0.external_mip() & mip::kMSIP, 0u);
  EXPECT_EQ(clint->read(0x3ffc, 4), 0u);
}

TEST_F(ClintTest, ResetStateMatchesQemu) {
  // QEMU: mtimecmp reads 0 and mtime restarts at 0, so MTIP is pending.
  EXPECT_EQ(clint->read(mtimecmp_offset(0), 8), 0u);
  EXPECT_EQ(clint->read(mtimecmp_offset(1), 8), 0u);
  EXPECT_EQ(clint->read(Clint::kMtime, 8), 0u);
  EXPECT_TRUE(mtip(hart0));
  EXPECT_TRUE(mtip(hart1));
}

TEST_F(ClintTest, MtimeFollowsTheClockAtTenMegahertz) {
  clock.set_ns(1'000'000);  // 1 ms
  EXPECT_EQ(clint->read(Clint::kMtime, 8), 10'000u);
  EXPECT_EQ(clint->mtime(), 10'000u);
  clock.set_ns((uint64_t{1} << 32) * 100 + 500);
  EXPECT_EQ(clint->read(Clint::kMtime, 4), 5u);  // 500 ns = 5 ticks
  EXPECT_EQ(clint->read(Clint::kMtime + 4, 4), 1u);
}

TEST_F(ClintTest, MtimeStandsStillWithTheClock) {
  clock.set_ns(5'000);
  const uint64_t before = clint->read(Clint::kMtime, 8);
  EXPECT_EQ(clint->read(Clint::kMtime, 8), before);
}

TEST_F(ClintTest, Mtimecmp64BitWriteReachesTheHart) {
  clint->write(mtimecmp_offset(1), 8, 0x1234'5678'9abc'def0);
  EXPECT_EQ(clint->read(mtimecmp_offset(1), 8), 0x1234'5678'9abc'def0u);
  EXPECT_EQ(hart1.mtimecmp(), 0x1234'5678'9abc'def0u);
  EXPECT_EQ(clint->read(mtimecmp_offset(0), 8), 0u);
}

TEST_F(ClintTest, MtimecmpHalvesAreSeparate) {
  clint->write(mtimecmp_offset(0), 4, 0xffffffff);
  clint->write(mtimecmp_offset(0) + 4, 4, 0x00000012);
  EXPECT_EQ(clint->read(mtimecmp_offset(0), 8), 0x12'ffff'ffffu);
  clint->write(mtimecmp_offset(0), 4, 0x00000034);
  EXPECT_EQ(clint->read(mtimecmp_offset(0), 4), 0x34u);
  EXPECT_EQ(clint->read(mtimecmp_offset(0) + 4, 4), 0x12u);
  EXPECT_EQ(hart0.mtimecmp(), 0x12'0000'0034u);
}

TEST_F(ClintTest, MtimecmpHighHalfRejects64BitWrites) {
  clint->write(mtimecmp_offset(0), 8, 5);
  clint->write(mtimecmp_offset(0) + 4, 8, 0xffff);
  EXPECT_EQ(clint->read(mtimecmp_offset(0), 8), 5u);
}

TEST_F(ClintTest, MtipRisesWhenMtimeReachesMtimecmp) {
  clint->write(mtimecmp_offset(0), 8, 100);
  EXPECT_FALSE(mtip(hart0));
  advance_ticks(99);
  EXPECT_FALSE(mtip(hart0));
  advance_ticks(1);
  EXPECT_TRUE(mtip(hart0));
  // A compare value in the future lowers it again.
  clint->write(mtimecmp_offset(0), 8, 1000);
  EXPECT_FALSE(mtip(hart0));
  // One in the past raises it at once.
  clint->write(mtimecmp_offset(0), 8, 5);
  EXPECT_TRUE(mtip(hart0));
  // All ones never fires.
  clint->write(mtimecmp_offset(0), 8, UINT64_MAX);
  advance_ticks(1'000'000);
  EXPECT_FALSE(mtip(hart0));
}

TEST_F(ClintTest, MtimeWriteShiftsGuestTimeAndTimers) {
  advance_ticks(1000);
  clint->write(Clint::kMtime, 8, 50'000);
  EXPECT_EQ(clint->read(Clint::kMtime, 8), 50'000u);
  EXPECT_EQ(clint->mtime_delta_ticks(), 49'000);
  // Every hart's `time` CSR follows mtime through the same delta.
  EXPECT_EQ(hart0.time_delta(), 49'000);
  EXPECT_EQ(hart1.time_delta(), 49'000);
  advance_ticks(10);
  EXPECT_EQ(clint->read(Clint::kMtime, 8), 50'010u);

  // mtimecmp is compared with the guest's mtime, not the raw clock.
  clint->write(mtimecmp_offset(0), 8, 50'100);
  EXPECT_FALSE(mtip(hart0));
  advance_ticks(89);
  EXPECT_FALSE(mtip(hart0));
  advance_ticks(1);
  EXPECT_TRUE(mtip(hart0));
  EXPECT_EQ(clint->read(mtimecmp_offset(0), 8), 50'100u);  // guest value unchanged
}

TEST_F(ClintTest, MtimeWriteBackwardsReevaluatesPendingTimers) {
  clint->write(mtimecmp_offset(1), 8, 500);
  advance_ticks(600);
  EXPECT_TRUE(mtip(hart1));
  clint->write(Clint::kMtime, 8, 0);  // guest winds time back
  EXPECT_FALSE(mtip(hart1));
  advance_ticks(500);
  EXPECT_TRUE(mtip(hart1));
}

TEST_F(ClintTest, MtimeHalfWrites) {
  advance_ticks(7);
  clint->write(Clint::kMtime + 4, 4, 2);
  EXPECT_EQ(clint->read(Clint::kMtime, 8), (uint64_t{2} << 32) | 7);
  clint->write(Clint::kMtime, 4, 0x100);
  EXPECT_EQ(clint->read(Clint::kMtime, 8), (uint64_t{2} << 32) | 0x100);
}

TEST_F(ClintTest, FarFutureCompareAfterNegativeDeltaNeverFires) {
  advance_ticks(1000);
  clint->write(Clint::kMtime, 8, 0);  // delta = -1000
  clint->write(mtimecmp_offset(0), 8, UINT64_MAX);
  EXPECT_EQ(hart0.mtimecmp(), UINT64_MAX);  // clamped, not wrapped
}

TEST_F(ClintTest, ResetClearsMsipAndRestartsMtime) {
  clint->write(0x0, 4, 1);
  clint->write(mtimecmp_offset(0), 8, 123'456);
  advance_ticks(5000);
  clint->reset();
  EXPECT_EQ(hart0.external_mip() & mip::kMSIP, 0u);
  EXPECT_EQ(clint->read(0x0, 4), 0u);
  EXPECT_EQ(clint->read(Clint::kMtime, 8), 0u);
  EXPECT_EQ(clint->read(mtimecmp_offset(0), 8), 0u);
  EXPECT_TRUE(mtip(hart0));
  advance_ticks(3);
  EXPECT_EQ(clint->read(Clint::kMtime, 8), 3u);
}

TEST_F(ClintTest, OtherOffsetsReadZeroAndIgnoreWrites) {
  EXPECT_EQ(clint->read(mtimecmp_offset(2), 8), 0u);  // no hart 2
  clint->write(mtimecmp_offset(2), 8, 1);
  EXPECT_EQ(clint->read(mtimecmp_offset(2), 8), 0u);
  EXPECT_EQ(clint->read(0xbff0, 8), 0u);
  EXPECT_EQ(clint->read(Clint::kMtime, 2), 0u);
  const Clint::State state = clint->snapshot();
  EXPECT_EQ(state.mtimecmp.size(), 2u);
}

TEST(ClintRunningClock, MtimeAdvancesWhileTheClockRuns) {
  GuestClock clock;
  HartControl hart;
  Clint clint({&hart}, clock);
  clock.start();
  const uint64_t first = clint.read(Clint::kMtime, 8);
  while (clint.read(Clint::kMtime, 8) == first) {
  }
  clock.stop();
  const uint64_t stopped = clint.read(Clint::kMtime, 8);
  EXPECT_EQ(clint.read(Clint::kMtime, 8), stopped);
}

}  // namespace
}  // namespace godwit
