#include "cli/size_parse.hpp"

#include <gtest/gtest.h>

namespace godwit {
namespace {

TEST(SizeParse, PlainNumberUsesTheDefaultUnit) {
  EXPECT_EQ(parse_size("256", kMiB), 256 * kMiB);
  EXPECT_EQ(parse_size("4096", 1), 4096u);
}

TEST(SizeParse, SuffixesInEitherCase) {
  EXPECT_EQ(parse_size("512B", kMiB), 512u);
  EXPECT_EQ(parse_size("512b", kMiB), 512u);
  EXPECT_EQ(parse_size("12K", kMiB), 12 * kKiB);
  EXPECT_EQ(parse_size("64m", 1), 64 * kMiB);
  EXPECT_EQ(parse_size("2G", 1), 2 * kGiB);
  EXPECT_EQ(parse_size("1t", 1), uint64_t{1} << 40);
  EXPECT_EQ(parse_size("1P", 1), uint64_t{1} << 50);
  EXPECT_EQ(parse_size("1E", 1), uint64_t{1} << 60);
}

TEST(SizeParse, FractionOnlyWithASuffix) {
  EXPECT_EQ(parse_size("1.5G", kMiB), 3 * kGiB / 2);
  EXPECT_EQ(parse_size("0.5M", kMiB), kMiB / 2);
  EXPECT_EQ(parse_size("1.5", kMiB), std::nullopt);
  EXPECT_EQ(parse_size("1.", 1), std::nullopt);
}

TEST(SizeParse, RejectsWhatQemuRejects) {
  for (const char* text :
       {"", "12Q", "64MB", "64MiB", "1G5", "-1", "G", " 1", "1 ", "0x10", "+5"}) {
    EXPECT_EQ(parse_size(text, kMiB), std::nullopt) << text;
  }
}

TEST(SizeParse, Overflow) {
  EXPECT_EQ(parse_size("16E", 1), std::nullopt);
  EXPECT_EQ(parse_size("18446744073709551615", 1), UINT64_MAX);
  EXPECT_EQ(parse_size("18446744073709551616", 1), std::nullopt);
  EXPECT_EQ(parse_size("17592186044416", kMiB), std::nullopt);  // 2^44 MiB = 2^64
}

TEST(SizeParse, FormatPicksTheLargestExactUnit) {
  EXPECT_EQ(format_size(128 * kMiB), "128 MiB");
  EXPECT_EQ(format_size(2 * kGiB), "2 GiB");
  EXPECT_EQ(format_size(1536 * kMiB), "1536 MiB");
  EXPECT_EQ(format_size(4097), "4097 B");
  EXPECT_EQ(format_size(0), "0 B");
}

}  // namespace
}  // namespace godwit
