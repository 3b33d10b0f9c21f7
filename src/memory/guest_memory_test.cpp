// GuestMemory: every write marks the dirty log (and only while it is on),
// errors name the address, ROM behaves for loaders as it always has.
#include "memory/guest_memory.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <utility>
#include <vector>

namespace godwit {
namespace {

constexpr uint64_t kPage = DirtyLog::kPageSize;
constexpr uint64_t kRamBase = 0x80000000;
constexpr uint64_t kRamPages = 16;
constexpr uint64_t kRomBase = 0x1000;

std::set<uint64_t> pages_of(const std::vector<uint64_t>& words) {
  std::set<uint64_t> pages;
  for (size_t w = 0; w < words.size(); ++w) {
    for (unsigned b = 0; b < 64; ++b) {
      if (words[w] & (uint64_t{1} << b)) pages.insert(w * 64 + b);
    }
  }
  return pages;
}

class RegisterDevice : public MmioDevice {
 public:
  std::string_view name() const override { return "register"; }
  uint64_t read(uint64_t, unsigned) override { return value; }
  void write(uint64_t offset, unsigned, uint64_t v) override {
    last_offset = offset;
    value = v;
  }
  uint64_t last_offset = ~uint64_t{0};
  uint64_t value = 0;
};

// 16 pages of RAM at 0x80000000, a page of ROM at 0x1000, an MMIO register
// window at 0x10000000.
class GuestMemoryTest : public ::testing::Test {
 protected:
  GuestMemoryTest() : ram(kRamPages * kPage) {
    EXPECT_TRUE(space.map_ram(kRamBase, ram));
    EXPECT_TRUE(space.map_rom(kRomBase, std::vector<uint8_t>(kPage, 0x5a), "rom"));
    EXPECT_TRUE(space.map_mmio(0x10000000, 0x100, device));
  }
  std::set<uint64_t> take_dirty() { return pages_of(space.dirty_log()->take()); }

  std::vector<uint8_t> ram;
  RegisterDevice device;
  AddressSpace space;
  GuestMemory memory{space};
};

TEST_F(GuestMemoryTest, WriteOfBytesMarksEveryPageItTouches) {
  ASSERT_TRUE(space.start_dirty_log());
  const std::vector<uint8_t> bytes(kPage + 2, 0xab);
  ASSERT_TRUE(memory.write(kRamBase + 3 * kPage - 1, bytes));  // pages 2, 3, 4
  EXPECT_EQ(take_dirty(), (std::set<uint64_t>{2, 3, 4}));
}

TEST_F(GuestMemoryTest, WriteOfAValueMarksItsPage) {
  ASSERT_TRUE(space.start_dirty_log());
  ASSERT_TRUE(memory.write_value(kRamBase + 7 * kPage + 8, 8, 0x1122334455667788));
  EXPECT_EQ(take_dirty(), std::set<uint64_t>{7});
}

TEST_F(GuestMemoryTest, MappedSpanMarksItsPagesWhenReleasedNotWhenTaken) {
  ASSERT_TRUE(space.start_dirty_log());
  auto mapped = memory.map(kRamBase + 5 * kPage, 2 * kPage);
  ASSERT_TRUE(mapped) << mapped.error().message();
  std::memset(mapped->data(), 0xcd, mapped->size());
  // A sync while the span is held finds nothing: the release is what marks,
  // after the writes, so no sync can clear a mark before the data is in.
  EXPECT_EQ(take_dirty(), std::set<uint64_t>{});
  mapped->release();
  EXPECT_EQ(take_dirty(), (std::set<uint64_t>{5, 6}));
  mapped->release();  // a second release is a no-op
  EXPECT_EQ(take_dirty(), std::set<uint64_t>{});
}

TEST_F(GuestMemoryTest, MappedSpanMarksWhenDestroyedAndOnceWhenMoved) {
  ASSERT_TRUE(space.start_dirty_log());
  {
    auto mapped = memory.map(kRamBase + 9 * kPage, kPage);
    ASSERT_TRUE(mapped);
    MappedRam moved = std::move(*mapped);
    EXPECT_EQ(moved.guest_address(), kRamBase + 9 * kPage);
    moved.data()[0] = 1;
    mapped->release();  // moved from: marks nothing
    EXPECT_EQ(take_dirty(), std::set<uint64_t>{});
  }
  EXPECT_EQ(take_dirty(), std::set<uint64_t>{9});
}

TEST_F(GuestMemoryTest, WritesWhileLoggingIsOffCostNoMark) {
  const std::vector<uint8_t> bytes(2 * kPage, 0xab);
  ASSERT_TRUE(memory.write(kRamBase, bytes));
  ASSERT_TRUE(memory.write_value(kRamBase + 4 * kPage, 4, 1));
  {
    auto mapped = memory.map(kRamBase + 8 * kPage, kPage);
    ASSERT_TRUE(mapped);
    mapped->data()[0] = 1;
  }
  ASSERT_TRUE(space.start_dirty_log());
  EXPECT_EQ(space.dirty_log()->count(), 0u);

  // Nor between a stop and the next start, in the log kept meanwhile.
  DirtyLog* log = space.dirty_log();
  space.stop_dirty_log();
  ASSERT_TRUE(memory.write(kRamBase, bytes));
  ASSERT_TRUE(memory.write_value(kRamBase + 4 * kPage, 4, 1));
  { ASSERT_TRUE(memory.map(kRamBase + 8 * kPage, kPage)); }
  EXPECT_EQ(log->count(), 0u);
}

TEST_F(GuestMemoryTest, ReadsSeeWrites) {
  const std::vector<uint8_t> bytes{1, 2, 3, 4, 5};
  ASSERT_TRUE(memory.write(kRamBase + 100, bytes));
  std::vector<uint8_t> out(bytes.size());
  ASSERT_TRUE(memory.read(kRamBase + 100, out));
  EXPECT_EQ(out, bytes);

  ASSERT_TRUE(memory.write_value(kRamBase + 0x208, 8, 0x0102030405060708));
  uint64_t value = 0;
  ASSERT_TRUE(memory.read_value(kRamBase + 0x208, 8, value));
  EXPECT_EQ(value, 0x0102030405060708u);
  ASSERT_TRUE(memory.read_value(kRamBase + 0x208, 1, value));
  EXPECT_EQ(value, 0x08u);  // little-endian

  {
    auto mapped = memory.map(kRamBase + kPage, kPage);
    ASSERT_TRUE(mapped);
    std::memset(mapped->data(), 0xee, kPage);
  }
  ASSERT_TRUE(memory.read(kRamBase + kPage + kPage - 2, std::span(out).first(2)));
  EXPECT_EQ(out[0], 0xee);
  EXPECT_EQ(out[1], 0xee);
  EXPECT_EQ(ram[kPage], 0xee);  // the very bytes of guest RAM
}

TEST_F(GuestMemoryTest, WriteOutsideRamFailsNamingTheAddress) {
  const std::vector<uint8_t> bytes(16, 1);
  auto status = memory.write(0x2000, bytes);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message(), "guest physical address 0x2000 is not RAM or ROM");
  // Running off the end of RAM names the first byte past it.
  status = memory.write(kRamBase + kRamPages * kPage - 8, bytes);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message(), "guest physical address 0x80010000 is not RAM or ROM");

  status = memory.write_value(0x20000000, 4, 1);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message(), "guest physical address 0x20000000 is not mapped");

  auto mapped = memory.map(0x7ffff000, kPage);
  ASSERT_FALSE(mapped);
  EXPECT_EQ(mapped.error().message(), "guest physical address 0x7ffff000 is not RAM");
  auto crossing = memory.map(kRamBase + (kRamPages - 1) * kPage, 2 * kPage);
  ASSERT_FALSE(crossing);
  EXPECT_EQ(crossing.error().message(), "guest physical address 0x80010000 is not RAM");
}

// As AddressSpace::write_bytes always did: loaders fill ROM (QEMU's
// rom_add_blob), a store to ROM is ignored, and ROM lends no writable bytes.
TEST_F(GuestMemoryTest, RomIsFilledByLoadersIgnoresStoresAndCannotBeMapped) {
  ASSERT_TRUE(space.start_dirty_log());
  const std::vector<uint8_t> blob{0xde, 0xad, 0xbe, 0xef};
  ASSERT_TRUE(memory.write(kRomBase + 0x10, blob));
  std::vector<uint8_t> out(blob.size());
  ASSERT_TRUE(memory.read(kRomBase + 0x10, out));
  EXPECT_EQ(out, blob);

  ASSERT_TRUE(memory.write_value(kRomBase + 0x10, 4, 0));
  ASSERT_TRUE(memory.read(kRomBase + 0x10, out));
  EXPECT_EQ(out, blob);

  auto mapped = memory.map(kRomBase, 16);
  ASSERT_FALSE(mapped);
  EXPECT_EQ(mapped.error().message(), "guest physical address 0x1000 is not RAM");
  EXPECT_EQ(space.dirty_log()->count(), 0u);  // the dirty log covers RAM only
}

TEST_F(GuestMemoryTest, ValueWritesReachMmioRegisters) {
  ASSERT_TRUE(space.start_dirty_log());
  ASSERT_TRUE(memory.write_value(0x10000010, 4, 0x42));
  EXPECT_EQ(device.last_offset, 0x10u);
  EXPECT_EQ(device.value, 0x42u);
  uint64_t value = 0;
  ASSERT_TRUE(memory.read_value(0x10000010, 4, value));
  EXPECT_EQ(value, 0x42u);
  EXPECT_EQ(space.dirty_log()->count(), 0u);
}

TEST_F(GuestMemoryTest, IsRamCoversExactlyTheRegion) {
  EXPECT_TRUE(memory.is_ram(kRamBase, kRamPages * kPage));
  EXPECT_FALSE(memory.is_ram(kRamBase + 8, kRamPages * kPage));
  EXPECT_FALSE(memory.is_ram(kRomBase, 4));
}

}  // namespace
}  // namespace godwit
