#include "devices/sifive_test_device.hpp"

#include <gtest/gtest.h>

#include "devices/fakes_test_util.hpp"
#include "devices/state_test_util.hpp"

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

// No state: the section is empty, still versioned, and refuses a newer
// sender's state (a future backend's fields come as a subsection).
TEST(SifiveTest, StateIsEmptyButVersioned) {
  FakePowerControl power;
  SifiveTest device(power);
  const auto bytes = godwit::testing::save_bytes(device);
  EXPECT_TRUE(bytes.empty());
  EXPECT_TRUE(godwit::testing::load_bytes(device, bytes));
  EXPECT_EQ(godwit::testing::error_of(godwit::testing::load_bytes(device, bytes, 2)),
            "riscv.sifive.test: stream version 2 is newer than this godwit's 1");
  std::vector<uint8_t> future = {0x05, 24};
  for (char c : std::string("riscv.sifive.test/future")) future.push_back(static_cast<uint8_t>(c));
  future.insert(future.end(), {0, 0, 0, 1});
  EXPECT_NE(godwit::testing::error_of(godwit::testing::load_bytes(device, future)).find("unknown subsection"),
            std::string::npos);
  EXPECT_EQ(godwit::testing::describe(device),
            (nlohmann::json{{"vmsd_name", "riscv.sifive.test"}, {"version", 1}, {"fields", nlohmann::json::array()}}));
}

}  // namespace
}  // namespace godwit
