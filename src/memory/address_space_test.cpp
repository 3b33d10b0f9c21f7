#include "memory/address_space.hpp"

#include <gtest/gtest.h>

#include "memory/guest_memory.hpp"

#include <vector>

namespace godwit {
namespace {

class RecordingDevice : public MmioDevice {
 public:
  std::string_view name() const override { return "recorder"; }
  uint64_t read(uint64_t offset, unsigned size) override {
    last_offset = offset;
    last_size = size;
    return 0xabcd;
  }
  void write(uint64_t offset, unsigned size, uint64_t value) override {
    last_offset = offset;
    last_size = size;
    last_value = value;
  }
  uint64_t last_offset = 0;
  unsigned last_size = 0;
  uint64_t last_value = 0;
};

TEST(AddressSpace, RamFastPathCoversExactlyTheRegion) {
  std::vector<uint8_t> ram(4096);
  AddressSpace as;
  ASSERT_TRUE(as.map_ram(0x80000000, ram));
  EXPECT_EQ(as.ram_ptr(0x80000000, 8), ram.data());
  EXPECT_EQ(as.ram_ptr(0x80000ff8, 8), ram.data() + 0xff8);
  EXPECT_EQ(as.ram_ptr(0x80000ffc, 8), nullptr);  // crosses the end
  EXPECT_EQ(as.ram_ptr(0x7ffffff8, 8), nullptr);
}

TEST(AddressSpace, ReadWriteDispatchToRamRomAndMmio) {
  std::vector<uint8_t> ram(4096);
  RecordingDevice device;
  AddressSpace as;
  ASSERT_TRUE(as.map_ram(0x80000000, ram));
  ASSERT_TRUE(as.map_rom(0x1000, std::vector<uint8_t>{1, 2, 3, 4}, "rom"));
  ASSERT_TRUE(as.map_mmio(0x10000000, 0x100, device));
  GuestMemory guest(as);  // writes other than a hart's go through the view

  uint64_t value = 0;
  ASSERT_TRUE(guest.write_value(0x80000010, 4, 0x11223344));
  ASSERT_TRUE(as.read(0x80000010, 2, value));
  EXPECT_EQ(value, 0x3344u);

  ASSERT_TRUE(as.read(0x1000, 4, value));
  EXPECT_EQ(value, 0x04030201u);
  ASSERT_TRUE(guest.write_value(0x1000, 4, 0));  // ignored
  ASSERT_TRUE(as.read(0x1000, 4, value));
  EXPECT_EQ(value, 0x04030201u);

  ASSERT_TRUE(guest.write_value(0x10000005, 1, 0x41));
  EXPECT_EQ(device.last_offset, 5u);
  EXPECT_EQ(device.last_value, 0x41u);
  ASSERT_TRUE(as.read(0x100000f8, 8, value));
  EXPECT_EQ(value, 0xabcdu);

  EXPECT_FALSE(as.read(0x20000000, 4, value));
  EXPECT_FALSE(guest.write_value(0x100000fc, 8, 0));  // runs past the window
}

TEST(AddressSpace, RejectsOverlaps) {
  std::vector<uint8_t> ram(4096);
  RecordingDevice device;
  AddressSpace as;
  ASSERT_TRUE(as.map_ram(0x80000000, ram));
  auto status = as.map_mmio(0x80000800, 0x1000, device);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message().find("overlaps"), std::string::npos);
}

TEST(AddressSpace, ByteCopiesNameTheBadAddress) {
  std::vector<uint8_t> ram(4096);
  AddressSpace as;
  ASSERT_TRUE(as.map_ram(0x80000000, ram));
  std::vector<uint8_t> out(16);
  ASSERT_TRUE(as.read_bytes(0x80000000, out));
  auto status = as.read_bytes(0x80000ff8, out);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message().find("0x80001000"), std::string::npos);
}

}  // namespace
}  // namespace godwit
