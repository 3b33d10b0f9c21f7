// Sstc: stimecmp and who may reach it, STIP driven by it, the `time` CSR
// behind the counter enables, and stimecmp in the migrated state.
#include <gtest/gtest.h>

#include "cpu/csr_defs.hpp"
#include "cpu/hart_test_util.hpp"
#include "cpu/hart_stream_test_util.hpp"

namespace godwit::testing {
namespace {

constexpr uint64_t kMHandler = kRamBase + 0x1000;
constexpr uint64_t kSHandler = kRamBase + 0x2000;

struct SstcMachine : TestMachine {
  SstcMachine() : TestMachine(64 << 10) {
    state().mtvec = kMHandler;
    state().stvec = kSHandler;
    load(kMHandler, {jal(zero, 0)});
    load(kSHandler, {jal(zero, 0)});
  }
  // Runs `insn` at kRamBase in `privilege`; true if it did not trap.
  bool run(uint32_t insn, Privilege privilege) {
    load(kRamBase, {insn});
    state().pc = kRamBase;
    state().mcause = 0;
    state().privilege = privilege;
    hart.flush_caches();
    hart.step(1);
    return state().pc == kRamBase + 4;
  }
};

TEST(Sstc, SupervisorNeedsMcounterenTmAndMenvcfgStce) {
  SstcMachine m;
  const uint32_t read = csrrs(a0, csr::kStimecmp, zero);
  EXPECT_TRUE(m.run(read, Privilege::kMachine));  // M always
  EXPECT_FALSE(m.run(read, Privilege::kSupervisor));
  EXPECT_EQ(m.state().mcause, cause::kIllegalInstruction);
  EXPECT_EQ(m.state().mtval, read);
  m.state().mcounteren = counteren::kTM;
  EXPECT_FALSE(m.run(read, Privilege::kSupervisor));  // STCE still off
  m.state().mcounteren = 0;
  m.state().menvcfg = envcfg::kSTCE;
  EXPECT_FALSE(m.run(read, Privilege::kSupervisor));  // TM off
  m.state().mcounteren = counteren::kTM;
  EXPECT_TRUE(m.run(read, Privilege::kSupervisor));
  m.state().scounteren = counteren::kTM;
  EXPECT_FALSE(m.run(read, Privilege::kUser));  // an S-level CSR
}

// Linux and its vDSO read `time` in S and U: mcounteren.TM lets S, and
// scounteren.TM too lets U (Zicntr; privileged spec 3.1.11).
TEST(Sstc, TimeReadsHonourTheCounterEnables) {
  SstcMachine m;
  const uint32_t read = csrrs(a0, csr::kTime, zero);
  EXPECT_TRUE(m.run(read, Privilege::kMachine));
  EXPECT_FALSE(m.run(read, Privilege::kSupervisor));
  EXPECT_EQ(m.state().mcause, cause::kIllegalInstruction);
  m.state().mcounteren = counteren::kTM;
  EXPECT_TRUE(m.run(read, Privilege::kSupervisor));
  EXPECT_FALSE(m.run(read, Privilege::kUser));
  m.state().scounteren = counteren::kTM;
  EXPECT_TRUE(m.run(read, Privilege::kUser));
  m.state().mcounteren = 0;
  EXPECT_FALSE(m.run(read, Privilege::kUser));
}

TEST(Sstc, StipFollowsStimecmpWhileStceIsSet) {
  SstcMachine m;
  m.clock.set_ns(1'000'000);  // time = 10000
  m.state().stimecmp = 10'001;
  const uint32_t read_mip = csrrs(a0, csr::kMip, zero);
  // STCE off: STIP is the software bit.
  m.state().mip = mip::kSTIP;
  ASSERT_TRUE(m.run(read_mip, Privilege::kMachine));
  EXPECT_EQ(m.x(a0), mip::kSTIP);
  // STCE on: STIP is time >= stimecmp, whatever the software bit says.
  m.state().menvcfg = envcfg::kSTCE;
  ASSERT_TRUE(m.run(read_mip, Privilege::kMachine));
  EXPECT_EQ(m.x(a0), 0u);
  m.clock.set_ns(1'000'100);
  ASSERT_TRUE(m.run(read_mip, Privilege::kMachine));
  EXPECT_EQ(m.x(a0), mip::kSTIP);
  // ...and M-mode can no longer write it.
  m.x(a1) = mip::kSTIP | mip::kSSIP;
  ASSERT_TRUE(m.run(csrrc(zero, csr::kMip, a1), Privilege::kMachine));
  EXPECT_EQ(m.state().mip, mip::kSTIP);  // SSIP cleared, the software STIP untouched
  ASSERT_TRUE(m.run(read_mip, Privilege::kMachine));
  EXPECT_EQ(m.x(a0), mip::kSTIP);
}

TEST(Sstc, TimeIncludesTheClintOffset) {
  SstcMachine m;
  m.clock.set_ns(1'000'000);
  m.control.set_time_delta(-5000);  // mtime was written back by 5000 ticks
  m.state().menvcfg = envcfg::kSTCE;
  m.state().stimecmp = 5000;
  ASSERT_TRUE(m.run(csrrs(a0, csr::kTime, zero), Privilege::kMachine));
  EXPECT_EQ(m.x(a0), 5000u);
  ASSERT_TRUE(m.run(csrrs(a0, csr::kMip, zero), Privilege::kMachine));
  EXPECT_EQ(m.x(a0), mip::kSTIP);
  m.state().stimecmp = 5001;
  ASSERT_TRUE(m.run(csrrs(a0, csr::kMip, zero), Privilege::kMachine));
  EXPECT_EQ(m.x(a0), 0u);
}

// The S-mode timer interrupt is taken once time reaches stimecmp, with no
// SBI call: Linux's path when `sstc` is in riscv,isa.
TEST(Sstc, SupervisorTimerInterruptIsTakenWhenDue) {
  SstcMachine m;
  m.clock.set_ns(1'000'000);  // time = 10000
  m.state().menvcfg = envcfg::kSTCE;
  m.state().stimecmp = UINT64_MAX;  // stimecmp resets to 0, which is already due
  m.state().mcounteren = counteren::kTM;
  m.state().mideleg = mip::kSTIP;
  m.state().mie = mip::kSTIP;
  m.state().mstatus = mstatus::kSIE;
  m.x(a1) = 10'050;
  m.load(kRamBase, {csrrw(zero, csr::kStimecmp, a1), addi(a2, a2, 1), jal(zero, -4)});
  m.state().privilege = Privilege::kSupervisor;
  m.hart.flush_caches();
  m.hart.step(20);
  EXPECT_EQ(m.state().stimecmp, 10'050u);
  EXPECT_EQ(m.state().privilege, Privilege::kSupervisor);
  EXPECT_NE(m.state().pc, kSHandler);  // not yet due
  m.clock.set_ns(1'005'000);           // time = 10050
  m.hart.step(1);
  EXPECT_EQ(m.state().pc, kSHandler);
  EXPECT_EQ(m.state().scause, cause::kInterruptBit | 5);
}

// --- migration -------------------------------------------------------------

TEST(Sstc, StimecmpTravelsInASubsectionOnlyWhenSet) {
  TestMachine idle(64 << 10);
  const auto plain = save_bytes(idle.hart);

  TestMachine source(64 << 10);
  source.state().menvcfg = envcfg::kSTCE;
  source.state().stimecmp = 0x123456789;
  const auto bytes = save_bytes(source.hart);
  ASSERT_GT(bytes.size(), plain.size());
  const std::string name = "cpu/sstc";
  EXPECT_NE(std::search(bytes.begin(), bytes.end(), name.begin(), name.end()), bytes.end());

  TestMachine destination(64 << 10);
  ASSERT_TRUE(load_bytes(destination.hart, bytes));
  EXPECT_EQ(destination.state().stimecmp, 0x123456789u);
  EXPECT_EQ(save_bytes(destination.hart), bytes);

  // A stream without it (an older sender, or stimecmp 0) leaves it 0.
  ASSERT_TRUE(load_bytes(destination.hart, plain));
  EXPECT_EQ(destination.state().stimecmp, 0u);
}

}  // namespace
}  // namespace godwit::testing
