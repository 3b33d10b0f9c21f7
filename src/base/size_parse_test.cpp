#include "base/size_parse.hpp"

#include <optional>

#include <gtest/gtest.h>

namespace godwit {
namespace {

// The size, or nothing when the text is refused: most cases only ask
// whether it is accepted. -m's syntax when the default unit is MiB, the
// byte-size property's when it is bytes.
std::optional<uint64_t> parse_size(std::string_view text, uint64_t default_unit) {
  auto size = godwit::parse_size(text, default_unit == kMiB ? kMachineMemorySize : kByteSize);
  if (!size) return std::nullopt;
  return *size;
}

std::string error_of(std::string_view text, const SizeSyntax& syntax) {
  auto size = godwit::parse_size(text, syntax);
  return size ? "accepted" : size.error().message();
}

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

TEST(SizeParse, HexOnlyWhereTheSyntaxTakesIt) {
  EXPECT_EQ(godwit::parse_size("0x1000", kFileOffsetSize), 0x1000u);
  EXPECT_EQ(godwit::parse_size("0X1f", kFileOffsetSize), 0x1fu);
  EXPECT_EQ(godwit::parse_size("0x10", kHmpSize), 16 * kMiB);
  EXPECT_EQ(error_of("0x10k", kFileOffsetSize), "Invalid argument");
  EXPECT_EQ(error_of("0x1.8", kFileOffsetSize), "Invalid argument");
  EXPECT_EQ(error_of("0x", kFileOffsetSize), "Invalid argument");
  EXPECT_EQ(error_of("0x10000000000000000", kFileOffsetSize), "Numerical result out of range");
  EXPECT_EQ(error_of("0x10", kByteSize), "Invalid argument");
}

TEST(SizeParse, HmpTakesAFractionOfItsDefaultUnit) {
  EXPECT_EQ(godwit::parse_size("1.5", kHmpSize), 3 * kMiB / 2);
  EXPECT_EQ(godwit::parse_size("64", kHmpSize), 64 * kMiB);
  EXPECT_EQ(godwit::parse_size("1G", kHmpSize), kGiB);
  EXPECT_EQ(godwit::parse_size("100B", kHmpSize), 100u);
}

TEST(SizeParse, AFractionOfAByteIsRefused) {
  EXPECT_EQ(error_of("1.5", kFileOffsetSize), "Invalid argument");
  EXPECT_EQ(error_of("1.5B", kHmpSize), "Invalid argument");
  EXPECT_EQ(godwit::parse_size("1.0", kFileOffsetSize), 1u);
}

TEST(SizeParse, FractionsRoundHalfUpAsQemu) {
  EXPECT_EQ(godwit::parse_size("1.5M", kFileOffsetSize), 1572864u);
  EXPECT_EQ(godwit::parse_size("0.0005K", kFileOffsetSize), 1u);   // 0.512 bytes
  EXPECT_EQ(godwit::parse_size("0.00048K", kFileOffsetSize), 0u);  // 0.49152 bytes
}

TEST(SizeParse, ErrorsNameTheCauseAsQemuStrtosz) {
  EXPECT_EQ(error_of("abc", kFileOffsetSize), "Invalid argument");
  EXPECT_EQ(error_of("99999999999999999999", kFileOffsetSize), "Numerical result out of range");
  EXPECT_EQ(error_of("16E", kFileOffsetSize), "Numerical result out of range");
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
