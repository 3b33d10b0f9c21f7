// The hart's "cpu" description: round trip, the version-1 golden stream, bad
// streams, the description itself, and a hart that resumes after a load
// running on exactly as one that never stopped.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "cpu/csr_defs.hpp"
#include "cpu/hart_test_util.hpp"
#include "cpu/hart_stream_test_util.hpp"

namespace godwit::testing {
namespace {

std::string error_of(const Status& status) { return status ? std::string() : status.error().message(); }

// Hex digits to bytes; spaces are skipped.
std::vector<uint8_t> from_hex(std::string_view text) {
  std::vector<uint8_t> bytes;
  int high = -1;
  for (char c : text) {
    if (c == ' ') continue;
    const int digit = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : c - 'a' + 10;
    if (high < 0) {
      high = digit;
    } else {
      bytes.push_back(static_cast<uint8_t>(high << 4 | digit));
      high = -1;
    }
  }
  return bytes;
}

// The first `count` bytes of `bytes` (a stream cut short).
std::vector<uint8_t> prefix(const std::vector<uint8_t>& bytes, size_t count) {
  return std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(std::min(count, bytes.size())));
}

std::string to_hex(const std::vector<uint8_t>& bytes) {
  std::string text;
  for (uint8_t b : bytes) {
    text.push_back("0123456789abcdef"[b >> 4]);
    text.push_back("0123456789abcdef"[b & 15]);
  }
  return text;
}

// A state touching every field: an S-mode hart under Sv39 with a trap
// handled in M, counters running, PMP entry 0 set, a reservation held.
void fill(HartState& s) {
  s.x[1] = 0x80000044;
  s.x[2] = 0x80001000;
  s.x[10] = 0x1122334455667788;
  s.x[31] = ~0ull;
  s.pc = 0xffffffc000000abc;
  s.privilege = Privilege::kSupervisor;
  s.mstatus = mstatus::kSIE | mstatus::kMPIE | (1ull << mstatus::kMPPShift) | mstatus::kSUM;
  s.medeleg = 0xb109;
  s.mideleg = 0x222;
  s.mie = 0xaaa;
  s.mip = mip::kSSIP | mip::kSTIP | mip::kSEIP;
  s.mtvec = 0x80000401;
  s.mscratch = 0x5c;
  s.mepc = 0x80000010;
  s.mcause = 0x8000000000000007;
  s.mtval = 0xdead;
  s.mcounteren = 7;
  s.mcountinhibit = 4;
  s.menvcfg = 0x1;
  s.stvec = 0xffffffc000001000;
  s.sscratch = 0x55;
  s.sepc = 0xffffffc000002000;
  s.scause = 0xd;
  s.stval = 0x20000;
  s.scounteren = 2;
  s.senvcfg = 0x1;
  s.satp = 0x8000000000080010;
  s.mcycle = 1000;
  s.minstret = 999;
  s.pmpcfg[0] = 0x1f;
  s.pmpaddr[0] = (1ull << 54) - 1;
  s.pmpaddr[15] = 0x20000400;
  s.reservation_address = 0x80003010;
  s.reservation_value = 0x42;
  s.reservation_valid = true;
}

// fill()'s state, written out from the field list; it must keep loading.
const char* const kGoldenV1 =
    // x[0..31], four to a line
    "0000000000000000 0000000080000044 0000000080001000 0000000000000000"
    "0000000000000000 0000000000000000 0000000000000000 0000000000000000"
    "0000000000000000 0000000000000000 1122334455667788 0000000000000000"
    "0000000000000000 0000000000000000 0000000000000000 0000000000000000"
    "0000000000000000 0000000000000000 0000000000000000 0000000000000000"
    "0000000000000000 0000000000000000 0000000000000000 0000000000000000"
    "0000000000000000 0000000000000000 0000000000000000 0000000000000000"
    "0000000000000000 0000000000000000 0000000000000000 ffffffffffffffff"
    "ffffffc000000abc"  // pc
    "01"                // privilege: S
    "0000000000040882"  // mstatus: SUM | MPP=S | MPIE | SIE
    "000000000000b109"  // medeleg
    "0000000000000222"  // mideleg
    "0000000000000aaa"  // mie
    "0000000000000222"  // mip: SEIP | STIP | SSIP
    "0000000080000401"  // mtvec
    "000000000000005c"  // mscratch
    "0000000080000010"  // mepc
    "8000000000000007"  // mcause
    "000000000000dead"  // mtval
    "0000000000000007"  // mcounteren
    "0000000000000004"  // mcountinhibit
    "0000000000000001"  // menvcfg
    "ffffffc000001000"  // stvec
    "0000000000000055"  // sscratch
    "ffffffc000002000"  // sepc
    "000000000000000d"  // scause
    "0000000000020000"  // stval
    "0000000000000002"  // scounteren
    "0000000000000001"  // senvcfg
    "8000000000080010"  // satp: Sv39, root at 0x80010000
    "00000000000003e8"  // mcycle
    "00000000000003e7"  // minstret
    "000000000000001f 0000000000000000"  // pmpcfg[0], pmpcfg[2]
    // pmpaddr[0..15], four to a line
    "003fffffffffffff 0000000000000000 0000000000000000 0000000000000000"
    "0000000000000000 0000000000000000 0000000000000000 0000000000000000"
    "0000000000000000 0000000000000000 0000000000000000 0000000000000000"
    "0000000000000000 0000000000000000 0000000000000000 0000000020000400"
    "0000000080003010"  // reservation_address
    "0000000000000042"  // reservation_value
    "01";               // reservation_valid

constexpr size_t kPcOffset = 32 * 8;
constexpr size_t kPrivilegeOffset = kPcOffset + 8;
constexpr size_t kMstatusOffset = kPrivilegeOffset + 1;
constexpr size_t kMipOffset = kMstatusOffset + 4 * 8;
constexpr size_t kSatpOffset = kMstatusOffset + 20 * 8;

TEST(HartState, GoldenStreamMatchesTheFieldList) {
  TestMachine m(1 << 20);
  fill(m.state());
  EXPECT_EQ(to_hex(save_bytes(m.hart)), to_hex(from_hex(kGoldenV1)));
}

TEST(HartState, RoundTripRestoresRegistersCsrsPrivilegeAndReservation) {
  TestMachine source(1 << 20);
  fill(source.state());
  const auto bytes = save_bytes(source.hart);

  TestMachine destination(1 << 20);
  ASSERT_TRUE(load_bytes(destination.hart, bytes)) << error_of(load_bytes(destination.hart, bytes));
  EXPECT_EQ(save_bytes(destination.hart), bytes);
  const HartState& s = destination.state();
  EXPECT_EQ(s.x[10], 0x1122334455667788u);
  EXPECT_EQ(s.pc, 0xffffffc000000abcu);
  EXPECT_EQ(s.privilege, Privilege::kSupervisor);
  EXPECT_EQ(s.satp, 0x8000000000080010u);
  EXPECT_EQ(s.pmpaddr[15], 0x20000400u);
  EXPECT_TRUE(s.reservation_valid);
  EXPECT_EQ(s.reservation_address, 0x80003010u);
}

TEST(HartState, ReservationTakenBeforeSaveLetsScSucceedAfterLoad) {
  constexpr uint64_t kData = kRamBase + 0x1000;
  TestMachine source(1 << 20);
  source.write64(kData, 41);
  source.x(a0) = kData;
  source.load(kRamBase, {lr_d(t0, a0), addi(t0, t0, 1), sc_d(t1, a0, t0)});
  ASSERT_EQ(source.hart.step(2), 2u);  // lr.d and addi: the sc.d is next
  const auto bytes = save_bytes(source.hart);

  TestMachine destination(1 << 20);
  std::copy(source.ram.begin(), source.ram.end(), destination.ram.begin());
  ASSERT_TRUE(load_bytes(destination.hart, bytes));
  ASSERT_EQ(destination.hart.step(1), 1u);
  EXPECT_EQ(destination.x(t1), 0u);  // sc.d succeeded
  EXPECT_EQ(destination.read64(kData), 42u);
  EXPECT_FALSE(destination.state().reservation_valid);
}

TEST(HartState, GoldenVersion1StreamStillLoads) {
  TestMachine destination(1 << 20);
  ASSERT_TRUE(load_bytes(destination.hart, from_hex(kGoldenV1)));
  TestMachine reference(1 << 20);
  HartState expected = reference.hart.snapshot();  // reset values where fill() sets none
  fill(expected);
  reference.state() = expected;
  EXPECT_EQ(save_bytes(destination.hart), save_bytes(reference.hart));
  EXPECT_EQ(destination.state().mstatus, expected.mstatus);
  EXPECT_EQ(destination.state().minstret, 999u);
  EXPECT_EQ(destination.state().pmpcfg[0], 0x1fu);
  EXPECT_EQ(destination.state().reservation_value, 0x42u);
}

TEST(HartState, TruncatedStreamNamesTheField) {
  auto bytes = from_hex(kGoldenV1);
  TestMachine destination(1 << 20);
  bytes = prefix(bytes, kPcOffset + 3);
  std::string message = error_of(load_bytes(destination.hart, bytes));
  EXPECT_NE(message.find("cpu: field pc"), std::string::npos) << message;
  EXPECT_NE(message.find("stream ended early"), std::string::npos) << message;
  bytes = from_hex(kGoldenV1);
  bytes.pop_back();
  message = error_of(load_bytes(destination.hart, bytes));
  EXPECT_NE(message.find("cpu: field reservation_valid"), std::string::npos) << message;
}

TEST(HartState, ImpossibleValuesAreRejected) {
  TestMachine destination(1 << 20);
  auto with = [](size_t offset, uint8_t value) {
    auto bytes = from_hex(kGoldenV1);
    bytes[offset] = value;
    return bytes;
  };
  EXPECT_EQ(error_of(load_bytes(destination.hart, with(kPrivilegeOffset, 2))), "cpu: privilege 2 is not U, S or M");
  EXPECT_EQ(error_of(load_bytes(destination.hart, with(kSatpOffset, 0x90))),
            "cpu: satp mode 9 is neither Bare nor Sv39");
  EXPECT_EQ(error_of(load_bytes(destination.hart, with(kMstatusOffset + 6, 0x10))),  // MPP = 2
            "cpu: mstatus.MPP is the reserved value 2");
  EXPECT_EQ(error_of(load_bytes(destination.hart, with(kMstatusOffset + 3, 0x01))),  // bit 32: UXL is read-only
            "cpu: mstatus has bits that are not writable");
  EXPECT_EQ(error_of(load_bytes(destination.hart, with(kMipOffset + 7, 0x80))),  // MTIP is the CLINT's
            "cpu: mip has bits software cannot write");
  EXPECT_EQ(error_of(load_bytes(destination.hart, with(7, 1))), "cpu: x0 is not zero");
  EXPECT_NE(error_of(load_bytes(destination.hart, with(from_hex(kGoldenV1).size() - 1, 2))).find("invalid bool 2"),
            std::string::npos);
}

TEST(HartState, NewerVersionIsRefused) {
  TestMachine destination(1 << 20);
  EXPECT_EQ(error_of(load_bytes(destination.hart, from_hex(kGoldenV1), 2)),
            "cpu: stream version 2 is newer than this godwit's 1");
}

TEST(HartState, FailedLoadLeavesTheHartAsItWas) {
  TestMachine m(1 << 20);
  m.load(kRamBase, {addi(a0, a0, 5), addi(a0, a0, 5), addi(a0, a0, 5)});
  ASSERT_EQ(m.hart.step(1), 1u);
  const auto before = save_bytes(m.hart);
  auto bytes = from_hex(kGoldenV1);
  bytes[kSatpOffset] = 0x50;
  ASSERT_FALSE(load_bytes(m.hart, bytes));
  bytes = prefix(bytes, 100);
  ASSERT_FALSE(load_bytes(m.hart, bytes));
  EXPECT_EQ(save_bytes(m.hart), before);
  ASSERT_EQ(m.hart.step(2), 2u);
  EXPECT_EQ(m.x(a0), 15u);
}

TEST(HartState, DescriptionListsEveryFieldWithTypeAndSize) {
  TestMachine m(1 << 20);
  HartState state = m.hart.snapshot();
  const nlohmann::json desc = describe_state(state);
  EXPECT_EQ(desc["vmsd_name"], "cpu");
  EXPECT_EQ(desc["version"], 1);
  EXPECT_FALSE(desc.contains("subsections"));
  const auto& fields = desc["fields"];
  std::vector<std::string> names;
  size_t bytes = 0;
  for (const auto& field : fields) {
    names.push_back(field["name"]);
    bytes += field["size"].get<size_t>() * field.value("array_len", size_t{1});
  }
  EXPECT_EQ(names, (std::vector<std::string>{
                       "x",        "pc",        "privilege",   "mstatus",  "medeleg",           "mideleg",
                       "mie",      "mip",       "mtvec",       "mscratch", "mepc",              "mcause",
                       "mtval",    "mcounteren", "mcountinhibit", "menvcfg", "stvec",            "sscratch",
                       "sepc",     "scause",    "stval",       "scounteren", "senvcfg",         "satp",
                       "mcycle",   "minstret",  "pmpcfg",      "pmpaddr",  "reservation_address", "reservation_value",
                       "reservation_valid"}));
  EXPECT_EQ(fields[0], (nlohmann::json{{"name", "x"}, {"type", "uint64"}, {"size", 8}, {"array_len", 32}}));
  EXPECT_EQ(fields[2], (nlohmann::json{{"name", "privilege"}, {"type", "uint8"}, {"size", 1}}));
  EXPECT_EQ(fields[26]["array_len"], 2);
  EXPECT_EQ(fields[27]["array_len"], 16);
  EXPECT_EQ(fields[30], (nlohmann::json{{"name", "reservation_valid"}, {"type", "bool"}, {"size", 1}}));
  // The description accounts for every byte the stream holds.
  EXPECT_EQ(bytes, from_hex(kGoldenV1).size());
}

// --- the "cpu/fpu" subsection --------------------------------------------

// The subsection as it follows the fields: marker, name, version, f[0..31],
// fcsr. Here f1 = 1.5, f31 = a boxed single 1.0f, fcsr = frm RUP | NX.
const char* const kFpuSubsection =
    "05 07 6370752f667075 00000001"
    "0000000000000000 3ff8000000000000 0000000000000000 0000000000000000"
    "0000000000000000 0000000000000000 0000000000000000 0000000000000000"
    "0000000000000000 0000000000000000 0000000000000000 0000000000000000"
    "0000000000000000 0000000000000000 0000000000000000 0000000000000000"
    "0000000000000000 0000000000000000 0000000000000000 0000000000000000"
    "0000000000000000 0000000000000000 0000000000000000 0000000000000000"
    "0000000000000000 0000000000000000 0000000000000000 0000000000000000"
    "0000000000000000 0000000000000000 0000000000000000 ffffffff3f800000"
    "00000061";

void fill_fpu(HartState& s) {
  s.mstatus |= mstatus::kFS;  // Dirty
  s.f[1] = 0x3ff8000000000000;
  s.f[31] = 0xffffffff3f800000;
  s.fcsr = 0x61;
}

TEST(HartState, UnusedFpuAddsNothingToTheStream) {
  // FS Off and every f register and fcsr zero: the version-1 bytes exactly
  // (GoldenStreamMatchesTheFieldList), with no subsection.
  TestMachine m(1 << 20);
  fill(m.state());
  EXPECT_EQ(save_bytes(m.hart).size(), from_hex(kGoldenV1).size());
}

TEST(HartState, FpuStateTravelsInItsSubsection) {
  TestMachine source(1 << 20);
  fill(source.state());
  fill_fpu(source.state());
  auto expected = from_hex(kGoldenV1);
  expected[kMstatusOffset + 6] |= 0x60;  // FS = Dirty (bits 14:13)
  const auto subsection = from_hex(kFpuSubsection);
  expected.insert(expected.end(), subsection.begin(), subsection.end());
  const auto bytes = save_bytes(source.hart);
  EXPECT_EQ(to_hex(bytes), to_hex(expected));

  TestMachine destination(1 << 20);
  ASSERT_TRUE(load_bytes(destination.hart, bytes)) << error_of(load_bytes(destination.hart, bytes));
  EXPECT_EQ(destination.state().f[1], 0x3ff8000000000000u);
  EXPECT_EQ(destination.state().f[31], 0xffffffff3f800000u);
  EXPECT_EQ(destination.state().fcsr, 0x61u);
  EXPECT_EQ(save_bytes(destination.hart), bytes);

  const nlohmann::json desc = describe_state(source.state());
  ASSERT_TRUE(desc.contains("subsections"));
  EXPECT_EQ(desc["subsections"][0]["vmsd_name"], "cpu/fpu");
}

TEST(HartState, FpuSubsectionIsSentWhenOnlyFSIsOn) {
  // OpenSBI turns FS on before anything touches an f register.
  TestMachine source(1 << 20);
  source.state().mstatus |= 1ull << 13;  // Initial
  const auto bytes = save_bytes(source.hart);
  TestMachine m(1 << 20);
  EXPECT_GT(bytes.size(), save_bytes(m.hart).size());
}

TEST(HartState, StreamWithoutFpuSubsectionClearsTheFpu) {
  TestMachine destination(1 << 20);
  fill_fpu(destination.state());
  ASSERT_TRUE(load_bytes(destination.hart, from_hex(kGoldenV1)));
  EXPECT_EQ(destination.state().f[1], 0u);
  EXPECT_EQ(destination.state().fcsr, 0u);
  EXPECT_EQ(destination.state().mstatus & mstatus::kFS, 0u);
}

TEST(HartState, FcsrBeyondEightBitsIsRejected) {
  TestMachine source(1 << 20);
  fill_fpu(source.state());
  auto bytes = save_bytes(source.hart);
  bytes[bytes.size() - 2] = 0x01;  // fcsr bit 8
  TestMachine destination(1 << 20);
  EXPECT_EQ(error_of(load_bytes(destination.hart, bytes)), "cpu: fcsr has bits above frm and fflags");
}

TEST(HartState, ResumedHartKeepsComputingWithFloats) {
  // fadd.d f1,f1,f2 repeatedly with frm RUP: the state after a save and
  // load in the middle matches the one that never stopped.
  auto program = [](TestMachine& m) {
    const uint32_t fadd_d = 0x02208053 | (7u << 12);  // fadd.d f0,f1,f2,dyn
    const uint32_t fmv = 0x220000d3;                  // fsgnj.d f1,f0,f0
    m.load(kRamBase, {fadd_d, fmv, fadd_d, fmv, fadd_d, fmv, fadd_d, fmv});
    m.state().mstatus |= 1ull << 13;
    m.state().f[1] = 0x3ff0000000000000;  // 1.0
    m.state().f[2] = 0x3c90000000000000;  // 2^-54: inexact, rounds up in RUP
    m.state().fcsr = 3 << 5;
  };
  TestMachine reference(1 << 20);
  program(reference);
  ASSERT_EQ(reference.hart.step(8), 8u);
  EXPECT_EQ(reference.state().f[1], 0x3ff0000000000004u);
  TestMachine before(1 << 20);
  program(before);
  ASSERT_EQ(before.hart.step(3), 3u);
  TestMachine after(1 << 20);
  after.ram = before.ram;
  ASSERT_TRUE(load_bytes(after.hart, save_bytes(before.hart)));
  ASSERT_EQ(after.hart.step(5), 5u);
  EXPECT_EQ(save_bytes(after.hart), save_bytes(reference.hart));
}

// --- a migrated hart continues where it stopped ---------------------------

namespace pte {
constexpr uint64_t V = 1, R = 2, W = 4, X = 8, A = 64, D = 128;
}
constexpr uint64_t kMHandler = kRamBase + 0x400;
constexpr uint64_t kSCodePa = kRamBase + 0x2000;
constexpr uint64_t kDataPa = kRamBase + 0x3000;
constexpr uint64_t kRootPa = kRamBase + 0x10000;
constexpr uint64_t kSCodeVa = 0x10000;
constexpr uint64_t kDataVa = 0x20000;

// M-mode enters S-mode under Sv39; S-mode loops 40 times over loads, stores,
// a multiply, an LR/SC pair and an ecall that M-mode handles and returns
// from; then it spins.
void load_program(TestMachine& m) {
  // Sv39: root -> level-1 table -> level-0 table, one 4 KiB page each for
  // code (R|X) and data (R|W), all in the first 2 MiB of VA space.
  const uint64_t level1 = kRootPa + 0x1000, level0 = kRootPa + 0x2000;
  m.write64(kRootPa, ((level1 >> 12) << 10) | pte::V);
  m.write64(level1, ((level0 >> 12) << 10) | pte::V);
  m.write64(level0 + 8 * (kSCodeVa >> 12), ((kSCodePa >> 12) << 10) | pte::V | pte::R | pte::X | pte::A);
  m.write64(level0 + 8 * (kDataVa >> 12), ((kDataPa >> 12) << 10) | pte::V | pte::R | pte::W | pte::A | pte::D);
  m.write64(kDataPa, 7);

  m.load(kRamBase, {mret()});
  m.load(kMHandler, {
                        csrrs(t4, csr::kMepc, zero),
                        addi(t4, t4, 4),
                        csrrw(zero, csr::kMepc, t4),
                        addi(a6, a6, 1),
                        mret(),
                    });
  m.load(kSCodePa, {
                       lui(t0, kDataVa >> 12),
                       addi(s1, zero, 40),
                       addi(t2, t0, 16),
                       // loop:
                       ld(a0, t0, 0),
                       addi(a0, a0, 3),
                       mul(a1, a0, a0),
                       add(s2, s2, a1),
                       sd(s2, t0, 8),
                       sd(a0, t0, 0),
                       lr_d(t1, t2),
                       addi(t1, t1, 1),
                       sc_d(t3, t2, t1),
                       add(s3, s3, t3),
                       ecall(),
                       addi(s1, s1, -1),
                       bne(s1, zero, -4 * 12),
                       jal(zero, 0),
                   });
  HartState& s = m.state();
  s.mtvec = kMHandler;
  s.mepc = kSCodeVa;
  s.mstatus = 1ull << mstatus::kMPPShift;  // mret enters S
  s.satp = (8ull << 60) | (kRootPa >> 12);
  m.hart.flush_caches();
}

TEST(HartState, ResumedHartRunsOnAsOneThatNeverStopped) {
  constexpr uint64_t kTotal = 1000;
  TestMachine reference(1 << 20);
  load_program(reference);
  ASSERT_EQ(reference.hart.step(kTotal), kTotal - 40);  // the 40 ecalls trap
  ASSERT_EQ(reference.state().privilege, Privilege::kSupervisor);
  ASSERT_EQ(reference.x(s1), 0u);   // the loop finished
  ASSERT_EQ(reference.x(a6), 40u);  // every ecall was handled
  ASSERT_EQ(reference.x(s3), 0u);   // every sc.d succeeded
  ASSERT_EQ(reference.read64(kDataPa), 7u + 3 * 40);
  const auto expected_state = save_bytes(reference.hart);

  for (uint64_t split = 0; split <= kTotal; split += split < 60 ? 1 : 23) {
    SCOPED_TRACE("split after " + std::to_string(split));
    TestMachine before(1 << 20);
    load_program(before);
    before.hart.step(split);
    const auto bytes = save_bytes(before.hart);

    // A fresh hart gets the RAM (migrated separately) and the state.
    TestMachine after(1 << 20);
    after.ram = before.ram;
    ASSERT_TRUE(load_bytes(after.hart, bytes));
    after.hart.step(kTotal - split);
    EXPECT_EQ(save_bytes(after.hart), expected_state);
    EXPECT_TRUE(after.ram == reference.ram);

    // The same hart, after running on with other state, rolled back: its
    // TLB and decoded blocks belong to what it ran since and must go.
    const std::vector<uint8_t> ram_at_split = before.ram;
    before.hart.step(37);
    before.state().satp = 0;
    before.state().privilege = Privilege::kMachine;
    before.hart.step(5);
    before.ram = ram_at_split;
    ASSERT_TRUE(load_bytes(before.hart, bytes));
    before.hart.step(kTotal - split);
    EXPECT_EQ(save_bytes(before.hart), expected_state);
  }
}

}  // namespace
}  // namespace godwit::testing
