#include "machine/htif.hpp"

#include <gtest/gtest.h>

#include <string>

namespace godwit {
namespace {

class CapturingBackend : public CharBackend {
 public:
  const std::string& id() const override { return id_; }
  std::string_view kind() const override { return "null"; }
  std::string filename() const override { return "capture"; }
  void write(std::span<const uint8_t> bytes) override { output.append(bytes.begin(), bytes.end()); }
  void attach(CharFrontend*) override {}
  void frontend_ready() override {}
  std::string output;

 private:
  std::string id_ = "capture";
};

class HtifTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(memory.map_ram(0x80000000, ram)); }
  uint64_t word(uint64_t address) {
    uint64_t value = 0;
    EXPECT_TRUE(memory.read(address, 8, value));
    return value;
  }
  std::vector<uint8_t> ram = std::vector<uint8_t>(1 << 16);
  AddressSpace memory;
  GuestMemory guest{memory};
  CapturingBackend console;
  Htif htif{guest, 0x80001000, 0x80001008, &console};
};

TEST_F(HtifTest, NothingPendingMeansNoExit) { EXPECT_FALSE(htif.poll()); }

TEST_F(HtifTest, PassAndFailBecomeExitStatus) {
  guest.write_value(0x80001000, 8, 1);
  EXPECT_EQ(htif.poll(), 0);
  EXPECT_EQ(word(0x80001000), 0u);  // consumed
  guest.write_value(0x80001000, 8, (3 << 1) | 1);
  EXPECT_EQ(htif.poll(), 3);
}

TEST_F(HtifTest, ConsolePutcharIsPrintedAndAcknowledged) {
  guest.write_value(0x80001000, 8, (uint64_t{1} << 56) | (uint64_t{1} << 48) | 'x');
  EXPECT_FALSE(htif.poll());
  EXPECT_EQ(console.output, "x");
  EXPECT_EQ(word(0x80001008), (uint64_t{1} << 56) | (uint64_t{1} << 48));
}

TEST_F(HtifTest, SyscallWriteCopiesGuestBytes) {
  const char text[] = "hello";
  ASSERT_TRUE(guest.write(0x80002000, {reinterpret_cast<const uint8_t*>(text), 5}));
  guest.write_value(0x80003000, 8, 64);  // SYS_write
  guest.write_value(0x80003008, 8, 1);
  guest.write_value(0x80003010, 8, 0x80002000);
  guest.write_value(0x80003018, 8, 5);
  guest.write_value(0x80001000, 8, 0x80003000);
  EXPECT_FALSE(htif.poll());
  EXPECT_EQ(console.output, "hello");
  EXPECT_EQ(word(0x80003000), 5u);
  EXPECT_EQ(word(0x80001008), 1u);
}

TEST_F(HtifTest, SyscallWithBadPointerFailsWithoutCrashing) {
  guest.write_value(0x80003000, 8, 64);
  guest.write_value(0x80003010, 8, 0x10);  // not RAM
  guest.write_value(0x80003018, 8, 5);
  guest.write_value(0x80001000, 8, 0x80003000);
  EXPECT_FALSE(htif.poll());
  EXPECT_EQ(console.output, "");
  EXPECT_EQ(word(0x80003000), static_cast<uint64_t>(-38));
}

}  // namespace
}  // namespace godwit
