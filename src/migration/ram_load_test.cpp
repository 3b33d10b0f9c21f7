// The RAM loader against hand-built streams: every check of what the wire
// claims, each with the message an operator would see.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "migration/guest_ram_test_util.hpp"
#include "migration/ram_section_loader.hpp"
#include "migration/stream_writer.hpp"

namespace godwit {
namespace {

constexpr size_t kPage = kRamPageSize;

std::vector<uint8_t> stream(const std::function<void(StreamWriter&)>& write) {
  MemorySink sink;
  StreamWriter out(sink);
  write(out);
  EXPECT_TRUE(out.flush());
  return sink.data();
}

// A destination with one private block "ram" (4 pages at 0x80000000) and one
// shared block "shm" (2 pages at 0x90000000).
class RamLoad : public ::testing::Test {
 protected:
  RamLoad() : ram_(4 * kPage, 0xcc), shm_(2 * kPage, 0) {}

  std::vector<RamBlockView> blocks() {
    std::vector<RamBlockView> views{{"ram", ram_.data(), ram_.size(), 0x80000000, false},
                                    {"shm", shm_.data(), shm_.size(), 0x90000000, true}};
    views[0].memory = ram_memory_;
    views[1].memory = shm_memory_;
    return views;
  }

  // Loads chunks until one fails or the stream ends; returns the first error.
  std::string load_error(const std::vector<uint8_t>& data, RamSectionOptions options = {}) {
    MemorySource source(data);
    StreamReader in(source);
    RamLoader loader(in, blocks(), options);
    for (;;) {
      auto status = loader.load_chunk();
      if (!status) return status.error().message();
      if (in.at_end()) return "";
    }
  }

  std::vector<uint8_t> ram_;
  std::vector<uint8_t> shm_;
  TestGuestRam guest_ram_;
  GuestMemory* ram_memory_ = guest_ram_.map(ram_, 0x80000000);
  GuestMemory* shm_memory_ = guest_ram_.map(shm_, 0x90000000);
};

TEST_F(RamLoad, UnknownBlockInTheList) {
  auto data = stream([](StreamWriter& out) {
    out.put_be64(0x1000 | ram_flag::kMemSize);
    out.put_short_string("foo");
    out.put_be64(0x1000);
    out.put_be64(ram_flag::kEos);
  });
  EXPECT_EQ(load_error(data), "ram: unknown block 'foo'");
}

TEST_F(RamLoad, BlockLengthMismatch) {
  auto data = stream([](StreamWriter& out) {
    out.put_be64(0x5000 | ram_flag::kMemSize);
    out.put_short_string("ram");
    out.put_be64(0x5000);
    out.put_be64(ram_flag::kEos);
  });
  EXPECT_EQ(load_error(data), "ram: block 'ram' has length 0x4000 here, 0x5000 in the stream");
}

TEST_F(RamLoad, BlockListOverrunsTheTotal) {
  auto data = stream([](StreamWriter& out) {
    out.put_be64(0x5000 | ram_flag::kMemSize);
    out.put_short_string("ram");
    out.put_be64(0x4000);
    out.put_short_string("shm");
    out.put_be64(0x2000);
    out.put_be64(ram_flag::kEos);
  });
  EXPECT_EQ(load_error(data),
            "ram: block 'shm' of length 0x2000 overruns the total 0x5000 of the block list at byte 0");
}

TEST_F(RamLoad, BlockListedTwice) {
  auto data = stream([](StreamWriter& out) {
    out.put_be64(0x8000 | ram_flag::kMemSize);
    out.put_short_string("ram");
    out.put_be64(0x4000);
    out.put_short_string("ram");
    out.put_be64(0x4000);
    out.put_be64(ram_flag::kEos);
  });
  EXPECT_EQ(load_error(data), "ram: block 'ram' listed twice");
}

TEST_F(RamLoad, IgnoreSharedReadsAddressesAndChecksSharedOnes) {
  auto list = [](uint64_t shm_address) {
    return stream([=](StreamWriter& out) {
      out.put_be64(0x6000 | ram_flag::kMemSize);
      out.put_short_string("ram");
      out.put_be64(0x4000);
      out.put_be64(0x12345000);  // a private block's address is not checked, as in QEMU
      out.put_short_string("shm");
      out.put_be64(0x2000);
      out.put_be64(shm_address);
      out.put_be64(ram_flag::kEos);
    });
  };
  const RamSectionOptions options{.ignore_shared = true};
  EXPECT_EQ(load_error(list(0x90000000), options), "");
  EXPECT_EQ(load_error(list(0xa0000000), options),
            "ram: shared block 'shm' is at 0x90000000 here, 0xa0000000 in the stream");
}

TEST_F(RamLoad, PagesOfASharedBlockUnderIgnoreShared) {
  auto data = stream([](StreamWriter& out) {
    out.put_be64(0x0000 | ram_flag::kPage);
    out.put_short_string("shm");
    out.put_buffer(std::vector<uint8_t>(kPage, 1));
    out.put_be64(ram_flag::kEos);
  });
  EXPECT_EQ(
      load_error(data, {.ignore_shared = true}),
      "ram: block 'shm' is shared and not migrated under x-ignore-shared, yet the stream at byte 0 sends its pages");
  EXPECT_EQ(load_error(data), "");  // without the capability it is an ordinary block
  EXPECT_EQ(shm_[0], 1);
}

TEST_F(RamLoad, ContinueWithNoPreviousBlock) {
  auto data = stream([](StreamWriter& out) {
    out.put_be64(ram_flag::kEos);
    out.put_be64(0x1000 | ram_flag::kZero | ram_flag::kContinue);
    out.put_u8(0);
    out.put_be64(ram_flag::kEos);
  });
  EXPECT_EQ(load_error(data), "ram: CONTINUE record at byte 8 with no previous block");
}

TEST_F(RamLoad, ContinueCarriesAcrossChunksAsInQemu) {
  auto data = stream([](StreamWriter& out) {
    out.put_be64(0x1000 | ram_flag::kZero);
    out.put_short_string("ram");
    out.put_u8(0);
    out.put_be64(ram_flag::kEos);
    out.put_be64(0x2000 | ram_flag::kZero | ram_flag::kContinue);
    out.put_u8(0);
    out.put_be64(ram_flag::kEos);
  });
  EXPECT_EQ(load_error(data), "");
  EXPECT_EQ(ram_[0x1000], 0);
  EXPECT_EQ(ram_[0x2000], 0);
  EXPECT_EQ(ram_[0x3000], 0xcc);
}

TEST_F(RamLoad, UnknownFlagsNameTheValueAndOffset) {
  auto xbzrle = stream([](StreamWriter& out) {
    out.put_be64(ram_flag::kEos);
    out.put_be64(0x1000 | 0x40);  // XBZRLE
  });
  EXPECT_EQ(load_error(xbzrle), "ram: unknown record flags 0x40 at byte 8");
  // An offset that is not page aligned reads as flags, and is refused.
  auto unaligned = stream([](StreamWriter& out) { out.put_be64(0x1001); });
  EXPECT_EQ(load_error(unaligned), "ram: unknown record flags 0x1 at byte 0");
  auto continued_eos = stream([](StreamWriter& out) { out.put_be64(ram_flag::kEos | ram_flag::kContinue); });
  EXPECT_EQ(load_error(continued_eos), "ram: unknown record flags 0x30 at byte 0");
  auto page_and_zero = stream([](StreamWriter& out) { out.put_be64(ram_flag::kPage | ram_flag::kZero); });
  EXPECT_EQ(load_error(page_and_zero), "ram: unknown record flags 0xa at byte 0");
}

TEST_F(RamLoad, ZeroPageWithNonZeroFill) {
  auto data = stream([](StreamWriter& out) {
    out.put_be64(0x1000 | ram_flag::kZero);
    out.put_short_string("ram");
    out.put_u8(0x5a);
    out.put_be64(ram_flag::kEos);
  });
  EXPECT_EQ(load_error(data), "ram: zero page record at byte 0 has fill byte 0x5a, expected 0");
  EXPECT_EQ(ram_[0x1000], 0xcc);
}

TEST_F(RamLoad, ZeroPagesLeaveZeroMemoryUntouched) {
  std::memset(ram_.data(), 0, kPage);  // page 0 already zero, pages 1..3 hold data
  auto data = stream([](StreamWriter& out) {
    out.put_be64(0x0000 | ram_flag::kZero);
    out.put_short_string("ram");
    out.put_u8(0);
    out.put_be64(0x3000 | ram_flag::kZero | ram_flag::kContinue);
    out.put_u8(0);
    out.put_be64(ram_flag::kEos);
  });
  MemorySource source(data);
  StreamReader in(source);
  RamLoader loader(in, blocks());
  ASSERT_TRUE(loader.load_chunk());
  EXPECT_EQ(loader.stats().zero_pages, 2u);
  EXPECT_EQ(loader.stats().zero_pages_cleared, 1u);
  EXPECT_EQ(ram_[0x3000], 0);
  EXPECT_EQ(ram_[0x2000], 0xcc);
}

TEST_F(RamLoad, UnknownBlockInAPageRecord) {
  auto data = stream([](StreamWriter& out) {
    out.put_be64(ram_flag::kEos);
    out.put_be64(0x0000 | ram_flag::kZero);
    out.put_short_string("pc.ram");
    out.put_u8(0);
  });
  EXPECT_EQ(load_error(data), "ram: unknown block 'pc.ram' at byte 8");
}

TEST_F(RamLoad, PagePastTheEndOfTheBlock) {
  auto at = [](uint64_t offset) {
    return stream([=](StreamWriter& out) {
      out.put_be64(offset | ram_flag::kPage);
      out.put_short_string("ram");
      out.put_buffer(std::vector<uint8_t>(kPage, 7));
      out.put_be64(ram_flag::kEos);
    });
  };
  EXPECT_EQ(load_error(at(0x3000)), "");
  EXPECT_EQ(load_error(at(0x4000)), "ram: page offset 0x4000 at byte 0 is outside block 'ram' (length 0x4000)");
  // Far past the end, where offset + page size would wrap.
  EXPECT_EQ(load_error(at(0xfffffffffffff000)),
            "ram: page offset 0xfffffffffffff000 at byte 0 is outside block 'ram' (length 0x4000)");
}

TEST_F(RamLoad, TruncatedStreamNamesTheSectionAndOffset) {
  auto data = stream([](StreamWriter& out) {
    out.put_be64(ram_flag::kEos);
    out.put_be64(0x1000 | ram_flag::kPage);
    out.put_short_string("ram");
    out.put_buffer(std::vector<uint8_t>(100, 7));  // 3996 bytes short
  });
  EXPECT_EQ(load_error(data), "ram: record at byte 8: stream ended early at byte 120 (3996 more bytes expected)");
  // Cut inside a record header, and inside the block list.
  EXPECT_EQ(load_error({0, 0, 0x10}), "ram: record at byte 0: stream ended early at byte 3 (1 more bytes expected)");
  auto list = stream([](StreamWriter& out) {
    out.put_be64(0x4000 | ram_flag::kMemSize);
    out.put_short_string("ram");
  });
  EXPECT_EQ(load_error(list), "ram: record at byte 0: stream ended early at byte 12 (4 more bytes expected)");
}

}  // namespace
}  // namespace godwit
