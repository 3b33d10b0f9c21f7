// The PLIC's "riscv_sifive_plic" description: round trip, the version-1
// golden stream, bad streams, and the description itself.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "devices/plic.hpp"
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

uint64_t priority(unsigned source) { return Plic::kPriorityBase + 4 * source; }
uint64_t pending(unsigned word) { return Plic::kPendingBase + 4 * word; }
uint64_t enable(unsigned context, unsigned word) { return Plic::kEnableBase + Plic::kEnableStride * context + 4 * word; }
uint64_t threshold(unsigned context) { return Plic::kContextBase + Plic::kContextStride * context; }
uint64_t claim(unsigned context) { return threshold(context) + 4; }

// A PLIC over `harts` HartControls.
struct Bench {
  explicit Bench(size_t harts, unsigned num_sources = 95) : controls(harts) {
    std::vector<HartControl*> pointers;
    for (HartControl& control : controls) pointers.push_back(&control);
    plic = std::make_unique<Plic>(pointers, num_sources);
  }
  // MEIP/SEIP of every hart, as "MS" pairs ("10" = MEIP only).
  std::string wires() const {
    std::string out;
    for (const HartControl& control : controls) {
      out += (control.external_mip() & mip::kMEIP) != 0 ? '1' : '0';
      out += (control.external_mip() & mip::kSEIP) != 0 ? '1' : '0';
    }
    return out;
  }
  uint32_t reg(uint64_t offset) { return static_cast<uint32_t>(plic->read(offset, 4)); }
  void set(uint64_t offset, uint32_t value) { plic->write(offset, 4, value); }

  std::vector<HartControl> controls;
  std::unique_ptr<Plic> plic;
};

// Two harts as on virt: sources 1, 10, 33 and 64 prioritised, hart 0's M
// context enabled for 10 and 33, its S context for 1, hart 1's M context for
// 64 behind threshold 2. Lines 1, 10, 33 and 64 raised, then hart 0's M
// context claims (33, the higher priority) and leaves the claim outstanding;
// line 10 stays high and pending.
void drive(Bench& b) {
  b.set(priority(1), 1);
  b.set(priority(10), 3);
  b.set(priority(33), 6);
  b.set(priority(64), 7);
  b.set(enable(0, 0), 1u << 10);
  b.set(enable(0, 1), 1u << 1);
  b.set(enable(1, 0), 1u << 1);
  b.set(enable(2, 2), 1u << 0);
  b.set(threshold(2), 2);
  b.set(threshold(3), 7);
  for (unsigned source : {1, 10, 33, 64}) b.plic->set_irq(source, true);
  ASSERT_EQ(b.reg(claim(0)), 33u);
  b.plic->set_irq(33, false);  // the device dropped its line meanwhile
}

// Every register but the claims, then the claims and completions a guest
// would do; the answers must match on source and destination.
std::vector<uint32_t> read_everything(Bench& b) {
  std::vector<uint32_t> out;
  for (unsigned source = 0; source <= b.plic->num_sources(); ++source) out.push_back(b.reg(priority(source)));
  for (unsigned word = 0; word < 3; ++word) out.push_back(b.reg(pending(word)));
  for (unsigned context = 0; context < b.plic->num_contexts(); ++context) {
    for (unsigned word = 0; word < 3; ++word) out.push_back(b.reg(enable(context, word)));
    out.push_back(b.reg(threshold(context)));
  }
  for (unsigned context = 0; context < b.plic->num_contexts(); ++context) out.push_back(b.reg(claim(context)));
  b.set(claim(0), 33);  // completing the claim from before the migration
  b.set(claim(0), 10);
  out.push_back(b.reg(claim(0)));  // line 10 is still high: pending again
  out.push_back(b.reg(pending(0)));
  out.push_back(b.reg(pending(1)));
  return out;
}

// A small PLIC (one hart, 7 sources) keeps the golden stream short: sources
// 2 (priority 5) and 6 (priority 7) enabled in the M context, 6 claimed and
// still high, 2 pending; threshold 1 in M, 4 in S.
void drive_small(Bench& b) {
  b.set(priority(2), 5);
  b.set(priority(6), 7);
  b.set(priority(7), 1);
  b.set(enable(0, 0), (1u << 2) | (1u << 6));
  b.set(enable(1, 0), 1u << 7);
  b.set(threshold(0), 1);
  b.set(threshold(1), 4);
  b.plic->set_irq(2, true);
  b.plic->set_irq(6, true);
  ASSERT_EQ(b.reg(claim(0)), 6u);
}

const char* const kGoldenV1 =
    "00000007"  // num_sources (equal)
    "00000002"  // num_contexts (equal)
    "00000000 00000000 00000005 00000000 00000000 00000000 00000007 00000001"  // priority[0..7]
    "00000004"  // pending[0]: source 2
    "00000044"  // enable[0]: context 0, sources 2 and 6
    "00000080"  // enable[1]: context 1, source 7
    "00000001"  // threshold[0]
    "00000004"  // threshold[1]
    "00000040"  // claimed[0]: source 6
    "00000044";  // level[0]: sources 2 and 6

TEST(PlicState, GoldenStreamMatchesTheFieldList) {
  Bench source(1, 7);
  drive_small(source);
  EXPECT_EQ(to_hex(save_bytes(*source.plic)), to_hex(from_hex(kGoldenV1)));
}

TEST(PlicState, RoundTripRestoresRegistersClaimsAndInterruptWires) {
  Bench source(2);
  drive(source);
  ASSERT_EQ(source.wires(), "1110");  // hart 0: 10 for M, 1 for S; hart 1: 64 for M
  const auto bytes = save_bytes(*source.plic);

  Bench destination(2);
  ASSERT_EQ(destination.wires(), "0000");
  ASSERT_TRUE(load_bytes(*destination.plic, bytes)) << error_of(load_bytes(*destination.plic, bytes));
  EXPECT_EQ(destination.wires(), "1110");  // driven again through HartControl
  EXPECT_EQ(save_bytes(*destination.plic), bytes);
  EXPECT_EQ(read_everything(destination), read_everything(source));
  EXPECT_EQ(destination.wires(), source.wires());
}

TEST(PlicState, LoadLowersWiresTheStreamHasLow) {
  Bench destination(1, 7);
  destination.set(priority(3), 1);
  destination.set(enable(1, 0), 1u << 3);
  destination.plic->set_irq(3, true);
  ASSERT_EQ(destination.wires(), "01");
  ASSERT_TRUE(load_bytes(*destination.plic, from_hex(kGoldenV1)));
  EXPECT_EQ(destination.wires(), "10");  // source 2 for M; nothing for S
}

TEST(PlicState, GoldenVersion1StreamStillLoads) {
  Bench destination(1, 7);
  ASSERT_TRUE(load_bytes(*destination.plic, from_hex(kGoldenV1)));
  const Plic::State s = destination.plic->snapshot();
  EXPECT_EQ(s.priority, (std::vector<uint32_t>{0, 0, 5, 0, 0, 0, 7, 1}));
  EXPECT_EQ(s.pending, (std::vector<uint32_t>{0x4}));
  EXPECT_EQ(s.enable, (std::vector<uint32_t>{0x44, 0x80}));
  EXPECT_EQ(s.threshold, (std::vector<uint32_t>{1, 4}));
  EXPECT_EQ(s.claimed, (std::vector<uint32_t>{0x40}));
  EXPECT_EQ(s.level, (std::vector<uint32_t>{0x44}));
  EXPECT_EQ(destination.wires(), "10");
  // The guest goes on: claim 2, complete 6 (still high: pending again).
  EXPECT_EQ(destination.reg(claim(0)), 2u);
  destination.set(claim(0), 6);
  EXPECT_EQ(destination.reg(claim(0)), 6u);
}

TEST(PlicState, TruncatedStreamNamesDeviceAndField) {
  auto bytes = from_hex(kGoldenV1);
  bytes = prefix(bytes, 8 + 4 * 8 + 4 + 2);  // ends inside enable[0]
  Bench destination(1, 7);
  const std::string message = error_of(load_bytes(*destination.plic, bytes));
  EXPECT_NE(message.find("riscv_sifive_plic: field enable[0]"), std::string::npos) << message;
  EXPECT_NE(message.find("stream ended early"), std::string::npos) << message;
}

TEST(PlicState, ContextAndSourceCountsMustMatch) {
  Bench two(2);
  const auto bytes = save_bytes(*two.plic);
  Bench four(4);
  EXPECT_EQ(error_of(load_bytes(*four.plic, bytes)),
            "riscv_sifive_plic: field num_contexts: stream has 4, this machine has 8");
  Bench fewer_sources(2, 63);
  EXPECT_EQ(error_of(load_bytes(*fewer_sources.plic, bytes)),
            "riscv_sifive_plic: field num_sources: stream has 95, this machine has 63");
}

TEST(PlicState, ValuesOutsideTheirRangeAreRejected) {
  Bench destination(1, 7);
  auto bytes = from_hex(kGoldenV1);
  bytes[8 + 4 * 6 + 3] = 8;  // priority[6]
  EXPECT_EQ(error_of(load_bytes(*destination.plic, bytes)), "riscv_sifive_plic: priority of source 6 is above 7");

  bytes = from_hex(kGoldenV1);
  bytes[8 + 32 + 4 + 8 + 4 + 3] = 9;  // threshold[1]
  EXPECT_EQ(error_of(load_bytes(*destination.plic, bytes)), "riscv_sifive_plic: threshold of context 1 is above 7");

  bytes = from_hex(kGoldenV1);
  bytes[8 + 32 + 3] = 0x05;  // pending[0]: bit 0 is no source
  EXPECT_EQ(error_of(load_bytes(*destination.plic, bytes)), "riscv_sifive_plic: pending has bits of no source");

  bytes = from_hex(kGoldenV1);
  bytes[bytes.size() - 2 - 4] = 0x01;  // claimed[0] bit 8: past source 7
  EXPECT_EQ(error_of(load_bytes(*destination.plic, bytes)), "riscv_sifive_plic: claimed has bits of no source");
}

TEST(PlicState, NewerVersionIsRefused) {
  Bench destination(1, 7);
  EXPECT_EQ(error_of(load_bytes(*destination.plic, from_hex(kGoldenV1), 2)),
            "riscv_sifive_plic: stream version 2 is newer than this godwit's 1");
}

TEST(PlicState, FailedLoadLeavesPlicAndWiresAsTheyWere) {
  Bench destination(1, 7);
  destination.set(priority(3), 2);
  destination.set(enable(1, 0), 1u << 3);
  destination.plic->set_irq(3, true);
  const auto before = save_bytes(*destination.plic);
  ASSERT_EQ(destination.wires(), "01");

  auto bytes = from_hex(kGoldenV1);
  bytes.back() = 0x01;  // level[0] bit 0: fails once every field was read
  ASSERT_FALSE(load_bytes(*destination.plic, bytes));
  Bench two(2);
  ASSERT_FALSE(load_bytes(*destination.plic, save_bytes(*two.plic)));

  EXPECT_EQ(save_bytes(*destination.plic), before);
  EXPECT_EQ(destination.wires(), "01");
  EXPECT_EQ(destination.reg(claim(1)), 3u);
}

TEST(PlicState, DescriptionListsEveryFieldWithTypeAndSize) {
  Bench source(1, 7);
  const nlohmann::json desc = describe(*source.plic);
  EXPECT_EQ(desc["vmsd_name"], "riscv_sifive_plic");
  EXPECT_EQ(desc["version"], 1);
  std::vector<std::string> names;
  for (const auto& field : desc["fields"]) {
    names.push_back(field["name"]);
    const bool equal = names.back().starts_with("num_");
    EXPECT_EQ(field["type"], equal ? "uint32 equal" : "uint32") << names.back();
    EXPECT_EQ(field["size"], 4) << names.back();
  }
  EXPECT_EQ(names, (std::vector<std::string>{
                       "num_sources", "num_contexts", "priority[0]", "priority[1]", "priority[2]", "priority[3]",
                       "priority[4]", "priority[5]", "priority[6]", "priority[7]", "pending[0]", "enable[0]",
                       "enable[1]", "threshold[0]", "threshold[1]", "claimed[0]", "level[0]"}));
  // virt's PLIC: 96 priorities, 3 words per bitfield, 4 contexts for 2 harts.
  Bench virt(2);
  EXPECT_EQ(describe(*virt.plic)["fields"].size(), 2u + 96 + 3 + 12 + 4 + 3 + 3);
}

}  // namespace
}  // namespace godwit
