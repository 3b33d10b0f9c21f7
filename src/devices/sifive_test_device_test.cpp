#include "devices/sifive_test_device.hpp"

#include <gtest/gtest.h>

#include "devices/test_fakes.hpp"

namespace godwit {
namespace {

using testing::FakePowerControl;

TEST(SifiveTest, PassPowersOffWithZero) {
  FakePowerControl power;
  SifiveTest device(power);
  device.write(0, 4, 0x5555);
  ASSERT_EQ(power.poweroffs.size(), 1u);
  EXPECT_EQ(power.poweroffs[0], 0);
  EXPECT_EQ(power.resets, 0);
}

TEST(SifiveTest, PassIgnoresTheCodeBits) {
  FakePowerControl power;
  SifiveTest device(power);
  device.write(0, 4, 0x00075555);
  ASSERT_EQ(power.poweroffs.size(), 1u);
  EXPECT_EQ(power.poweroffs[0], 0);
}

TEST(SifiveTest, FailCarriesTheCodeFromBits31To16) {
  FakePowerControl power;
  SifiveTest device(power);
  device.write(0, 4, (42u << 16) | 0x3333);
  device.write(0, 4, (0xffffu << 16) | 0x3333);
  ASSERT_EQ(power.poweroffs.size(), 2u);
  EXPECT_EQ(power.poweroffs[0], 42);
  EXPECT_EQ(power.poweroffs[1], 0xffff);
}

TEST(SifiveTest, ResetRequestsAReset) {
  FakePowerControl power;
  SifiveTest device(power);
  device.write(0, 4, 0x7777);
  EXPECT_EQ(power.resets, 1);
  EXPECT_TRUE(power.poweroffs.empty());
}

TEST(SifiveTest, HalfWordWriteWorks) {
  FakePowerControl power;
  SifiveTest device(power);
  device.write(0, 2, 0x7777);
  EXPECT_EQ(power.resets, 1);
}

TEST(SifiveTest, OtherValuesOffsetsAndSizesAreIgnored) {
  FakePowerControl power;
  SifiveTest device(power);
  device.write(0, 4, 0x1234);
  device.write(4, 4, 0x5555);
  device.write(0, 1, 0x55);
  device.write(0, 8, 0x5555);
  EXPECT_TRUE(power.poweroffs.empty());
  EXPECT_EQ(power.resets, 0);
}

TEST(SifiveTest, ReadsReturnZero) {
  FakePowerControl power;
  SifiveTest device(power);
  EXPECT_EQ(device.read(0, 4), 0u);
  device.write(0, 4, 0x1234);
  EXPECT_EQ(device.read(0, 4), 0u);
  EXPECT_EQ(device.read(8, 4), 0u);
}

}  // namespace
}  // namespace godwit
