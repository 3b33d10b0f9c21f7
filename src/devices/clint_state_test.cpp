// The CLINT's "riscv_aclint" description: round trip, the version-1 golden
// stream, bad streams, and the description itself.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "devices/clint.hpp"
#include "devices/state_test_util.hpp"

namespace godwit {
namespace {

using testing::describe;
using testing::error_of;
using testing::from_hex;
using testing::load_bytes;
using testing::prefix;
using testing::save_bytes;
using testing::to_hex;

// A CLINT over `harts` HartControls and a stopped clock at `ns`.
struct Bench {
  explicit Bench(size_t harts, uint64_t ns = 0) : controls(harts) {
    clock.set_ns(ns);
    std::vector<HartControl*> pointers;
    for (HartControl& control : controls) pointers.push_back(&control);
    clint = std::make_unique<Clint>(pointers, clock);
  }
  static uint64_t mtimecmp(unsigned hart) { return Clint::kMtimecmpBase + 8 * hart; }
  bool msip_wire(unsigned hart) const { return (controls[hart].external_mip() & mip::kMSIP) != 0; }

  GuestClock clock;
  std::vector<HartControl> controls;
  std::unique_ptr<Clint> clint;
};

constexpr uint64_t kNs = 7'000'000'000;  // guest time when the source stops: 70'000'000 ticks

// mtime set to 0x5000 at 70'000'000 ticks, hart 0's timer armed in two
// halves at 0x1_0000_6000, hart 1's with one access at 0x4000 (already due),
// hart 1's software interrupt raised.
void drive(Bench& b) {
  b.clint->write(Clint::kMtime, 8, 0x5000);
  b.clint->write(Bench::mtimecmp(0) + 4, 4, 0x1);
  b.clint->write(Bench::mtimecmp(0), 4, 0x6000);
  b.clint->write(Bench::mtimecmp(1), 8, 0x4000);
  b.clint->write(Clint::kMsipBase + 4, 4, 1);
}

// delta = 0x5000 - 70'000'000 (0x42c1d80) = -0x42bcd80 = 0xfffffffffbd43280.
const char* const kGoldenV1 =
    "00000002"          // num_harts (equal)
    "0000000100006000"  // mtimecmp[0]
    "0000000000004000"  // mtimecmp[1]
    "00000000"          // msip[0]
    "00000001"          // msip[1]
    "fffffffffbd43280";  // mtime_delta_ticks

TEST(ClintState, GoldenStreamMatchesTheFieldList) {
  Bench source(2, kNs);
  drive(source);
  EXPECT_EQ(to_hex(save_bytes(*source.clint)), to_hex(from_hex(kGoldenV1)));
}

TEST(ClintState, RoundTripRestoresRegistersAndRePushesEveryHart) {
  Bench source(2, kNs);
  drive(source);
  const auto bytes = save_bytes(*source.clint);

  Bench destination(2, kNs);  // the machine migrates the clock itself
  ASSERT_TRUE(load_bytes(*destination.clint, bytes));
  EXPECT_EQ(save_bytes(*destination.clint), bytes);
  for (unsigned hart = 0; hart < 2; ++hart) {
    SCOPED_TRACE(hart);
    EXPECT_EQ(destination.controls[hart].mtimecmp(), source.controls[hart].mtimecmp());
    EXPECT_EQ(destination.controls[hart].time_delta(), source.controls[hart].time_delta());
    EXPECT_EQ(destination.msip_wire(hart), source.msip_wire(hart));
    EXPECT_EQ(destination.clint->read(Clint::kMsipBase + 4 * hart, 4),
              source.clint->read(Clint::kMsipBase + 4 * hart, 4));
    EXPECT_EQ(destination.clint->read(Bench::mtimecmp(hart), 8), source.clint->read(Bench::mtimecmp(hart), 8));
  }
  EXPECT_TRUE(destination.msip_wire(1));
  EXPECT_EQ(destination.clint->read(Clint::kMtime, 8), 0x5000u);
  // Hart 0's timer is 0x1_0000_1000 ticks away; hart 1's is due (clamped to 0).
  EXPECT_EQ(destination.controls[0].mtimecmp(), 0x1'0000'6000u - 0x5000 + 70'000'000);
  EXPECT_EQ(destination.controls[1].mtimecmp(), 0x4000u - 0x5000 + 70'000'000);
  // Time goes on from there on both.
  source.clock.set_ns(kNs + 1000);
  destination.clock.set_ns(kNs + 1000);
  EXPECT_EQ(destination.clint->read(Clint::kMtime, 8), source.clint->read(Clint::kMtime, 8));
}

TEST(ClintState, LoadClearsWhatTheDestinationHadRaised) {
  Bench destination(2, kNs);
  destination.clint->write(Clint::kMsipBase, 4, 1);
  ASSERT_TRUE(destination.msip_wire(0));
  ASSERT_TRUE(load_bytes(*destination.clint, from_hex(kGoldenV1)));
  EXPECT_FALSE(destination.msip_wire(0));
  EXPECT_TRUE(destination.msip_wire(1));
}

TEST(ClintState, GoldenVersion1StreamStillLoads) {
  Bench destination(2, kNs);
  ASSERT_TRUE(load_bytes(*destination.clint, from_hex(kGoldenV1)));
  const Clint::State s = destination.clint->snapshot();
  EXPECT_EQ(s.mtimecmp, (std::vector<uint64_t>{0x1'0000'6000, 0x4000}));
  EXPECT_EQ(s.msip, (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(s.mtime_delta_ticks, 0x5000 - 70'000'000);
  EXPECT_EQ(destination.clint->mtime(), 0x5000u);
  EXPECT_TRUE(destination.msip_wire(1));
  EXPECT_EQ(destination.controls[1].time_delta(), 0x5000 - 70'000'000);
}

TEST(ClintState, TruncatedStreamNamesDeviceAndField) {
  auto bytes = from_hex(kGoldenV1);
  bytes = prefix(bytes, 4 + 8 + 3);  // ends inside mtimecmp[1]
  Bench destination(2);
  const std::string message = error_of(load_bytes(*destination.clint, bytes));
  EXPECT_NE(message.find("riscv_aclint: field mtimecmp[1]"), std::string::npos) << message;
  EXPECT_NE(message.find("stream ended early"), std::string::npos) << message;
}

TEST(ClintState, HartCountMustMatch) {
  Bench four(4);
  EXPECT_EQ(error_of(load_bytes(*four.clint, from_hex(kGoldenV1))),
            "riscv_aclint: field num_harts: stream has 2, this machine has 4");
}

TEST(ClintState, MsipOtherThanBitZeroIsRejected) {
  auto bytes = from_hex(kGoldenV1);
  bytes[4 + 16 + 4 + 3] = 2;  // msip[1]
  Bench destination(2);
  EXPECT_EQ(error_of(load_bytes(*destination.clint, bytes)),
            "riscv_aclint: msip of hart 1 has bits other than bit 0");
}

TEST(ClintState, NewerVersionIsRefused) {
  Bench destination(2);
  EXPECT_EQ(error_of(load_bytes(*destination.clint, from_hex(kGoldenV1), 2)),
            "riscv_aclint: stream version 2 is newer than this godwit's 1");
}

TEST(ClintState, FailedLoadLeavesClintAndHartsAsTheyWere) {
  Bench destination(2, kNs);
  destination.clint->write(Clint::kMsipBase, 4, 1);
  destination.clint->write(Bench::mtimecmp(1), 8, 0x9999);
  const auto before = save_bytes(*destination.clint);
  const uint64_t mtimecmp1 = destination.controls[1].mtimecmp();

  auto bytes = from_hex(kGoldenV1);
  bytes[4 + 16 + 4 + 3] = 3;  // msip[1]: fails validation once everything was read
  ASSERT_FALSE(load_bytes(*destination.clint, bytes));
  bytes = prefix(bytes, bytes.size() - 1);
  ASSERT_FALSE(load_bytes(*destination.clint, bytes));

  EXPECT_EQ(save_bytes(*destination.clint), before);
  EXPECT_TRUE(destination.msip_wire(0));
  EXPECT_FALSE(destination.msip_wire(1));
  EXPECT_EQ(destination.controls[1].mtimecmp(), mtimecmp1);
}

TEST(ClintState, DescriptionListsEveryFieldWithTypeAndSize) {
  Bench source(2);
  EXPECT_EQ(describe(*source.clint), nlohmann::json::parse(R"({
    "vmsd_name": "riscv_aclint", "version": 1,
    "fields": [
      {"name": "num_harts", "type": "uint32 equal", "size": 4},
      {"name": "mtimecmp[0]", "type": "uint64", "size": 8},
      {"name": "mtimecmp[1]", "type": "uint64", "size": 8},
      {"name": "msip[0]", "type": "uint32", "size": 4},
      {"name": "msip[1]", "type": "uint32", "size": 4},
      {"name": "mtime_delta_ticks", "type": "int64", "size": 8}
    ]
  })"));
}

}  // namespace
}  // namespace godwit
