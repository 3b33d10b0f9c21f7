// CSRs, exceptions, delegation, xRET and interrupts.
#include <gtest/gtest.h>

#include "cpu/csr.hpp"
#include "cpu/csr_defs.hpp"
#include "cpu/hart_test_util.hpp"

namespace godwit::testing {
namespace {

constexpr uint64_t kMHandler = kRamBase + 0x1000;
constexpr uint64_t kSHandler = kRamBase + 0x2000;

// A machine whose M and S trap vectors point at self-loops.
struct TrapMachine : TestMachine {
  TrapMachine() : TestMachine(64 << 10) {
    state().mtvec = kMHandler;
    state().stvec = kSHandler;
    load(kMHandler, {jal(zero, 0)});
    load(kSHandler, {jal(zero, 0)});
  }
  void enter(Privilege privilege) {
    state().privilege = privilege;
    hart.flush_caches();
  }
};

TEST(Csr, IdentificationRegisters) {
  TestMachine m(64 << 10, 3);
  m.load(kRamBase, {csrrs(a0, csr::kMisa, zero), csrrs(a1, csr::kMhartid, zero), csrrs(a2, csr::kMvendorid, zero),
                    csrrs(a3, csr::kMstatus, zero), csrrs(a4, csr::kMconfigptr, zero)});
  m.x(a2) = m.x(a4) = 99;
  EXPECT_EQ(m.hart.step(5), 5u);
  EXPECT_EQ(m.x(a0), 0x800000000014112dull);  // RV64 ACDFIMSU
  EXPECT_EQ(m.x(a1), 3u);
  EXPECT_EQ(m.x(a2), 0u);
  EXPECT_EQ(m.x(a3), mstatus::kXlen64);  // UXL = SXL = 2, FS = 0
  EXPECT_EQ(m.x(a4), 0u);
}

TEST(Csr, ReadModifyWriteForms) {
  TestMachine m(64 << 10);
  m.x(a1) = 0xf0;
  m.load(kRamBase, {csrrw(a0, csr::kMscratch, a1), csrrsi(a2, csr::kMscratch, 0xf), csrrc(a3, csr::kMscratch, a1),
                    csrrs(a4, csr::kMscratch, zero), csrrwi(a5, csr::kMscratch, 3)});
  EXPECT_EQ(m.hart.step(5), 5u);
  EXPECT_EQ(m.x(a0), 0u);
  EXPECT_EQ(m.x(a2), 0xf0u);
  EXPECT_EQ(m.x(a3), 0xffu);
  EXPECT_EQ(m.x(a4), 0x0fu);
  EXPECT_EQ(m.x(a5), 0x0fu);
  EXPECT_EQ(m.state().mscratch, 3u);
}

// OpenSBI sends an IPI with `csrs mip, SSIP` on the target hart; a PLIC
// line high at that moment must not stay latched in the software SEIP bit.
TEST(Csr, SettingMipBitsDoesNotLatchThePlicsLine) {
  TestMachine m(64 << 10);
  m.x(a1) = mip::kSSIP;
  m.load(kRamBase, {csrrs(zero, csr::kMip, a1), csrrc(zero, csr::kMip, a1), csrrs(a2, csr::kMip, zero)});
  m.control.set_mip(mip::kSEIP, true);
  EXPECT_EQ(m.hart.step(1), 1u);
  EXPECT_EQ(m.state().mip, mip::kSSIP);
  EXPECT_EQ(m.hart.step(1), 1u);
  EXPECT_EQ(m.state().mip, 0u);
  m.control.set_mip(mip::kSEIP, false);
  EXPECT_EQ(m.hart.step(1), 1u);
  EXPECT_EQ(m.x(a2) & mip::kSEIP, 0u);
}

TEST(Csr, WarlFieldsKeepOnlyLegalValues) {
  TestMachine m(64 << 10);
  m.x(a1) = ~0ull;
  m.load(kRamBase, {csrrw(zero, csr::kMstatus, a1), csrrw(zero, csr::kMedeleg, a1), csrrw(zero, csr::kMideleg, a1),
                    csrrw(zero, csr::kMie, a1), csrrw(zero, csr::kMepc, a1), csrrw(zero, csr::kMisa, a1),
                    csrrw(zero, csr::kPmpaddr0 + 15, a1), csrrw(zero, csr::kPmpcfg0 + 2, a1),
                    csrrs(a2, csr::kPmpcfg0 + 4, zero), csrrw(zero, csr::kSatp, a1)});
  EXPECT_EQ(m.hart.step(10), 10u);
  const HartState& s = m.state();
  EXPECT_EQ(s.mstatus, mstatus::kWritable);  // MPP=3 is legal; FS too (SD is computed on read)
  EXPECT_EQ(s.medeleg, 0xb3ffu);
  EXPECT_EQ(s.mideleg, 0x222u);
  EXPECT_EQ(s.mie, 0xaaau);
  EXPECT_EQ(s.mepc, ~1ull);
  EXPECT_EQ(s.pmpaddr[15], (1ull << 54) - 1);
  EXPECT_EQ(s.pmpcfg[1], 0x9f9f9f9f9f9f9f9full);
  EXPECT_EQ(m.x(a2), 0u);
  EXPECT_EQ(s.satp, 0u);  // mode 15 is not supported: the write is ignored
}

// What OpenSBI and Linux probe with a trap handler armed: CSRs this hart
// has read without trapping, the rest raise illegal instruction with the
// instruction bits in mtval and mepc at the csrr.
TEST(Csr, ProbedCsrsExistOrTrap) {
  const uint16_t present[] = {csr::kMcounteren, csr::kMcountinhibit, csr::kMenvcfg, csr::kPmpcfg0,
                              csr::kPmpaddr0,   csr::kMhpmcounter3,  csr::kTime,    csr::kStimecmp,
                              csr::kTselect,    csr::kTdata1,        csr::kTdata2,  csr::kTdata3,
                              csr::kTinfo,      csr::kSenvcfg,       csr::kMconfigptr};
  const uint16_t absent[] = {
      0x015,                // seed (Zkr)
      0x30c,                // mstateen0 (Smstateen)
      0x31a,                // menvcfgh: RV32 only
      0x34a, 0x34b,         // mtinst, mtval2 (hypervisor)
      0x600, 0x680,         // hstatus, hgatp
      0x7a5,                // tcontrol: not offered, as in QEMU
      0x7a8,                // mcontext
      0x7b0,                // dcsr: debug mode only
      0xda0,                // scountovf (Sscofpmf)
      0x35c,                // mtopi (AIA)
  };
  for (uint16_t number : present) {
    TrapMachine m;
    m.load(kRamBase, {csrrs(a0, number, zero)});
    m.hart.step(1);
    EXPECT_EQ(m.state().pc, kRamBase + 4) << csr_name(number);
  }
  for (uint16_t number : absent) {
    TrapMachine m;
    const uint32_t insn = csrrs(a0, number, zero);
    m.load(kRamBase, {insn});
    m.x(a0) = 77;
    m.hart.step(1);
    EXPECT_EQ(m.state().mcause, cause::kIllegalInstruction) << std::hex << number;
    EXPECT_EQ(m.state().mepc, kRamBase) << std::hex << number;
    EXPECT_EQ(m.state().mtval, insn) << std::hex << number;
    EXPECT_EQ(m.x(a0), 77u) << std::hex << number;
  }
}

// Linux writes satp with Sv57, then Sv48, and reads it back: modes this
// hart lacks must leave satp as it was (12.1.11: the write has no effect).
TEST(Csr, SatpWriteOfAnUnsupportedModeChangesNothing) {
  TestMachine m(64 << 10);
  const uint64_t sv39 = (8ull << 60) | (1ull << 44) | 0x80010;
  m.x(a1) = sv39;
  m.x(a2) = (10ull << 60) | 0x80020;  // Sv57
  m.x(a3) = (9ull << 60) | 0x80020;   // Sv48
  m.load(kRamBase, {csrrw(zero, csr::kSatp, a1), csrrw(zero, csr::kSatp, a2), csrrs(a4, csr::kSatp, zero),
                    csrrw(zero, csr::kSatp, a3), csrrs(a5, csr::kSatp, zero), csrrw(zero, csr::kSatp, zero),
                    csrrs(a6, csr::kSatp, zero)});
  m.x(a6) = 5;
  EXPECT_EQ(m.hart.step(7), 7u);
  EXPECT_EQ(m.x(a4), sv39);
  EXPECT_EQ(m.x(a5), sv39);
  EXPECT_EQ(m.x(a6), 0u);  // Bare is supported
}

TEST(Csr, EnvcfgKeepsOnlyImplementedFields) {
  TestMachine m(64 << 10);
  m.x(a1) = ~0ull;
  m.load(kRamBase, {csrrw(zero, csr::kMenvcfg, a1), csrrw(zero, csr::kSenvcfg, a1), csrrs(a2, csr::kMenvcfg, zero),
                    csrrs(a3, csr::kSenvcfg, zero)});
  EXPECT_EQ(m.hart.step(4), 4u);
  EXPECT_EQ(m.x(a2), envcfg::kSTCE | envcfg::kFIOM);
  EXPECT_EQ(m.x(a3), envcfg::kFIOM);
}

// OpenSBI hands timer and software interrupts to S-mode by setting mip.STIP
// and mip.SSIP from M-mode (3.1.9); SEIP too is writable.
TEST(Csr, MachineModeWritesTheSupervisorPendingBits) {
  TestMachine m(64 << 10);
  m.x(a1) = mip::kSSIP | mip::kSTIP | mip::kSEIP | mip::kMSIP | mip::kMTIP | mip::kMEIP;
  m.load(kRamBase, {csrrs(zero, csr::kMip, a1), csrrs(a2, csr::kMip, zero), csrrc(zero, csr::kMip, a1),
                    csrrs(a3, csr::kMip, zero)});
  EXPECT_EQ(m.hart.step(4), 4u);
  EXPECT_EQ(m.x(a2), mip::kSSIP | mip::kSTIP | mip::kSEIP);
  EXPECT_EQ(m.x(a3), 0u);
}

TEST(Csr, MppReservedValueBecomesUser) {
  TestMachine m(64 << 10);
  m.x(a1) = 2ull << mstatus::kMPPShift;
  m.load(kRamBase, {csrrw(zero, csr::kMstatus, a1)});
  m.hart.step(1);
  EXPECT_EQ(m.state().mstatus & mstatus::kMPP, 0u);
}

TEST(Csr, SupervisorViewsAreRestricted) {
  TestMachine m(64 << 10);
  m.state().mideleg = mip::kSSIP | mip::kSTIP;
  m.state().mie = mip::kMTIP | mip::kSTIP;
  m.state().mstatus = mstatus::kMIE | mstatus::kSIE | mstatus::kTVM;
  m.x(a1) = ~0ull;
  m.load(kRamBase, {csrrs(a0, csr::kSstatus, zero), csrrs(a2, csr::kSie, zero), csrrw(zero, csr::kSie, a1),
                    csrrw(zero, csr::kSip, a1), csrrs(a3, csr::kSip, zero)});
  EXPECT_EQ(m.hart.step(5), 5u);
  EXPECT_EQ(m.x(a0), mstatus::kSIE | (2ull << 32));
  EXPECT_EQ(m.x(a2), mip::kSTIP);
  EXPECT_EQ(m.state().mie, mip::kMTIP | mip::kSTIP | mip::kSSIP);  // only delegated bits changed
  EXPECT_EQ(m.state().mip, mip::kSSIP);                              // sip: only SSIP writable
  EXPECT_EQ(m.x(a3), mip::kSSIP);
}

TEST(Csr, SeipReadsAsSoftwareBitOrExternalLine) {
  TestMachine m(64 << 10);
  m.x(a1) = mip::kSEIP;
  m.load(kRamBase, {csrrs(a0, csr::kMip, zero), csrrw(zero, csr::kMip, a1), csrrs(a2, csr::kMip, zero),
                    csrrc(zero, csr::kMip, a1), csrrs(a3, csr::kMip, zero)});
  m.control.set_mip(mip::kSEIP | mip::kMEIP, true);
  EXPECT_EQ(m.hart.step(5), 5u);
  EXPECT_EQ(m.x(a0), mip::kSEIP | mip::kMEIP);
  EXPECT_EQ(m.state().mip, 0u);  // cleared again by the csrrc
  EXPECT_EQ(m.x(a2), mip::kSEIP | mip::kMEIP);
  EXPECT_EQ(m.x(a3), mip::kSEIP | mip::kMEIP);  // still pending from the line
  m.control.set_mip(mip::kSEIP | mip::kMEIP, false);
  m.state().mip = mip::kSEIP;
  m.load(kRamBase + 20, {csrrs(a4, csr::kMip, zero)});
  m.hart.step(1);
  EXPECT_EQ(m.x(a4), mip::kSEIP);
}

TEST(Csr, CounterAccessHonoursCounterEnables) {
  TrapMachine m;
  m.state().minstret = 1000;
  m.load(kRamBase, {csrrs(a0, csr::kInstret, zero), csrrs(a1, csr::kCycle, zero)});
  m.enter(Privilege::kUser);
  m.hart.step(1);
  EXPECT_EQ(m.state().mcause, cause::kIllegalInstruction);
  EXPECT_EQ(m.state().mtval, csrrs(a0, csr::kInstret, zero));

  m.state().pc = kRamBase;
  m.state().mcounteren = 0b101;  // CY, IR for S
  m.enter(Privilege::kUser);
  m.hart.step(1);
  EXPECT_EQ(m.state().mepc, kRamBase);  // still refused: scounteren is 0
  m.state().pc = kRamBase;
  m.state().scounteren = 0b100;  // IR for U
  m.state().mcause = 0;
  m.enter(Privilege::kUser);
  EXPECT_EQ(m.hart.step(2), 1u);
  EXPECT_EQ(m.x(a0), m.state().minstret - 1);  // read before itself retired
  EXPECT_EQ(m.state().mcause, cause::kIllegalInstruction);  // cycle not enabled for U
  EXPECT_EQ(m.state().mepc, kRamBase + 4);
}

TEST(Csr, TimeFollowsTheGuestClock) {
  TestMachine m(64 << 10);
  m.clock.set_ns(123'456'700);
  m.load(kRamBase, {csrrs(a0, csr::kTime, zero), csrrs(a1, csr::kHpmcounter3 + 5, zero)});
  m.x(a1) = 7;
  m.hart.step(2);
  EXPECT_EQ(m.x(a0), 1'234'567u);
  EXPECT_EQ(m.x(a1), 0u);
}

TEST(Csr, MinstretWriteAndInhibit) {
  TestMachine m(64 << 10);
  m.x(a1) = 100;
  m.x(a2) = 4;
  m.load(kRamBase, {csrrw(zero, csr::kMinstret, a1), addi(zero, zero, 0), csrrs(a0, csr::kMinstret, zero),
                    csrrw(zero, csr::kMcountinhibit, a2), addi(zero, zero, 0), addi(zero, zero, 0)});
  m.hart.step(6);
  EXPECT_EQ(m.x(a0), 101u);  // the write, then one nop
  EXPECT_EQ(m.state().minstret, 103u);  // counting stopped after the inhibit write retired
  EXPECT_EQ(m.state().mcycle, 6u);
}

TEST(Trap, IllegalInstructionsAndUnknownCsrs) {
  TrapMachine m;
  m.state().mstatus = mstatus::kMIE;
  m.load(kRamBase, {0x0005a007 /* flw */});
  m.hart.step(1);
  EXPECT_EQ(m.state().mcause, cause::kIllegalInstruction);
  EXPECT_EQ(m.state().mepc, kRamBase);
  EXPECT_EQ(m.state().mtval, 0x0005a007u);
  EXPECT_EQ(m.state().pc, kMHandler);
  EXPECT_EQ(m.state().mstatus & mstatus::kMIE, 0u);
  EXPECT_NE(m.state().mstatus & mstatus::kMPIE, 0u);
  EXPECT_EQ((m.state().mstatus & mstatus::kMPP) >> mstatus::kMPPShift, 3u);

  const uint32_t unknown_csr = csrrs(a0, 0x7c0, zero);
  const uint32_t write_read_only = csrrw(zero, csr::kMhartid, a0);
  const uint32_t supervisor_reads_m = csrrs(a0, csr::kMstatus, zero);
  for (uint32_t insn : {unknown_csr, write_read_only}) {
    m.load(kRamBase, {insn});
    m.state().pc = kRamBase;
    m.state().mcause = 0;
    m.hart.step(1);
    EXPECT_EQ(m.state().mcause, cause::kIllegalInstruction) << std::hex << insn;
    EXPECT_EQ(m.state().mtval, insn);
  }
  m.load(kRamBase, {supervisor_reads_m});
  m.state().pc = kRamBase;
  m.state().mcause = 0;
  m.enter(Privilege::kSupervisor);
  m.hart.step(1);
  EXPECT_EQ(m.state().mcause, cause::kIllegalInstruction);
  EXPECT_EQ(m.state().privilege, Privilege::kMachine);
}

TEST(Trap, EcallFromEachModeAndDelegation) {
  TrapMachine m;
  m.load(kRamBase, {ecall()});
  const struct {
    Privilege from;
    uint64_t cause;
  } cases[] = {{Privilege::kMachine, 11}, {Privilege::kSupervisor, 9}, {Privilege::kUser, 8}};
  for (const auto& c : cases) {
    m.state().pc = kRamBase;
    m.enter(c.from);
    m.hart.step(1);
    EXPECT_EQ(m.state().mcause, c.cause);
    EXPECT_EQ(m.state().mepc, kRamBase);
    EXPECT_EQ(m.state().privilege, Privilege::kMachine);
    EXPECT_EQ((m.state().mstatus & mstatus::kMPP) >> mstatus::kMPPShift, static_cast<uint64_t>(c.from));
  }
  // Delegated: U's ecall goes to S; M's ecall cannot be delegated.
  m.state().medeleg = (1u << 8) | (1u << 9) | (1u << 11);
  m.state().mstatus = mstatus::kSIE;
  m.state().pc = kRamBase;
  m.enter(Privilege::kUser);
  m.hart.step(1);
  EXPECT_EQ(m.state().privilege, Privilege::kSupervisor);
  EXPECT_EQ(m.state().scause, 8u);
  EXPECT_EQ(m.state().sepc, kRamBase);
  EXPECT_EQ(m.state().pc, kSHandler);
  EXPECT_EQ(m.state().mstatus & mstatus::kSPP, 0u);
  EXPECT_NE(m.state().mstatus & mstatus::kSPIE, 0u);
  EXPECT_EQ(m.state().mstatus & mstatus::kSIE, 0u);

  m.state().mcause = 0;
  m.state().pc = kRamBase;
  m.enter(Privilege::kMachine);
  m.hart.step(1);
  EXPECT_EQ(m.state().mcause, 11u);  // traps in M stay in M
  EXPECT_EQ(m.state().pc, kMHandler);
}

TEST(Trap, MretAndSret) {
  TrapMachine m;
  m.state().mepc = kRamBase + 0x100;
  m.state().mstatus = (1ull << mstatus::kMPPShift) | mstatus::kMPIE | mstatus::kMPRV;
  m.load(kRamBase, {mret()});
  m.load(kRamBase + 0x100, {sret()});
  m.state().sepc = kRamBase + 0x200;
  m.hart.step(1);
  EXPECT_EQ(m.state().privilege, Privilege::kSupervisor);
  EXPECT_EQ(m.state().pc, kRamBase + 0x100);
  EXPECT_NE(m.state().mstatus & mstatus::kMIE, 0u);
  EXPECT_NE(m.state().mstatus & mstatus::kMPIE, 0u);
  EXPECT_EQ(m.state().mstatus & (mstatus::kMPP | mstatus::kMPRV), 0u);
  m.hart.step(1);  // sret with SPP=0: to U
  EXPECT_EQ(m.state().privilege, Privilege::kUser);
  EXPECT_EQ(m.state().pc, kRamBase + 0x200);
  // mret from S is illegal; sret from S with TSR is illegal.
  m.state().pc = kRamBase;
  m.enter(Privilege::kSupervisor);
  m.hart.step(1);
  EXPECT_EQ(m.state().mcause, cause::kIllegalInstruction);
  m.state().pc = kRamBase + 0x100;
  m.state().mstatus |= mstatus::kTSR;
  m.state().mcause = 0;
  m.enter(Privilege::kSupervisor);
  m.hart.step(1);
  EXPECT_EQ(m.state().mcause, cause::kIllegalInstruction);
  EXPECT_EQ(m.state().mepc, kRamBase + 0x100);
}

TEST(Trap, TvmAndTwTrapSupervisor) {
  TrapMachine m;
  m.state().mstatus = mstatus::kTVM | mstatus::kTW;
  for (uint32_t insn : {csrrs(a0, csr::kSatp, zero), sfence_vma(zero, zero), wfi()}) {
    m.load(kRamBase, {insn});
    m.state().pc = kRamBase;
    m.state().mcause = 0;
    m.enter(Privilege::kSupervisor);
    m.hart.step(1);
    EXPECT_EQ(m.state().mcause, cause::kIllegalInstruction) << std::hex << insn;
  }
  // wfi from U is illegal even without TW.
  m.state().mstatus = 0;
  m.state().mcause = 0;
  m.state().pc = kRamBase;
  m.enter(Privilege::kUser);
  m.hart.step(1);
  EXPECT_EQ(m.state().mcause, cause::kIllegalInstruction);
}

TEST(Interrupt, PriorityOrderAndGlobalEnable) {
  TrapMachine m;
  m.load(kRamBase, {addi(zero, zero, 0), addi(zero, zero, 0)});
  m.state().mie = 0xaaa;
  m.state().mip = mip::kSSIP | mip::kSTIP;
  m.control.set_mip(mip::kMSIP | mip::kMEIP, true);
  m.control.set_mtimecmp(0);  // MTIP

  // M-mode with MIE clear: nothing is taken.
  m.hart.step(1);
  EXPECT_EQ(m.state().pc, kRamBase + 4);

  const uint64_t order[] = {11, 3, 7, 9, 1, 5};
  for (uint64_t expected : order) {
    m.state().pc = kRamBase;
    m.state().mstatus = mstatus::kMIE;
    m.hart.step(1);  // the interrupt is taken before the instruction
    EXPECT_EQ(m.state().mcause, cause::kInterruptBit | expected);
    EXPECT_EQ(m.state().mepc, kRamBase);
    // Retire the source.
    switch (expected) {
      case 11: m.control.set_mip(mip::kMEIP, false); break;
      case 3: m.control.set_mip(mip::kMSIP, false); break;
      case 7: m.control.set_mtimecmp(UINT64_MAX); break;
      case 9: m.control.set_mip(mip::kSEIP, false), m.state().mip &= ~mip::kSEIP; break;
      case 1: m.state().mip &= ~mip::kSSIP; break;
      case 5: m.state().mip &= ~mip::kSTIP; break;
    }
    if (expected == 7) m.control.set_mip(mip::kSEIP, true);
  }
}

TEST(Interrupt, DelegatedInterruptsFollowSupervisorEnables) {
  TrapMachine m;
  m.load(kRamBase, {addi(zero, zero, 0), addi(zero, zero, 0)});
  m.state().mideleg = mip::kSSIP;
  m.state().mie = mip::kSSIP;
  m.state().mip = mip::kSSIP;
  // In S with SIE clear: not taken.
  m.enter(Privilege::kSupervisor);
  m.hart.step(1);
  EXPECT_EQ(m.state().pc, kRamBase + 4);
  // In U: taken to S regardless of SIE.
  m.state().pc = kRamBase;
  m.enter(Privilege::kUser);
  m.hart.step(1);
  EXPECT_EQ(m.state().privilege, Privilege::kSupervisor);
  EXPECT_EQ(m.state().scause, cause::kInterruptBit | 1);
  EXPECT_EQ(m.state().sepc, kRamBase);
  // In M: a delegated interrupt is never taken.
  m.state().pc = kRamBase;
  m.state().mstatus = mstatus::kMIE | mstatus::kSIE;
  m.enter(Privilege::kMachine);
  m.hart.step(1);
  EXPECT_EQ(m.state().pc, kRamBase + 4);
  // An M-level interrupt preempts S-mode even with MIE clear.
  m.state().mie |= mip::kMSIP;
  m.control.set_mip(mip::kMSIP, true);
  m.state().mstatus = 0;
  m.state().pc = kRamBase;
  m.enter(Privilege::kSupervisor);
  m.hart.step(1);
  EXPECT_EQ(m.state().privilege, Privilege::kMachine);
  EXPECT_EQ(m.state().mcause, cause::kInterruptBit | 3);
}

TEST(Interrupt, VectoredMtvec) {
  TrapMachine m;
  m.state().mtvec = kMHandler | 1;
  m.load(kRamBase, {ecall()});
  m.hart.step(1);
  EXPECT_EQ(m.state().pc, kMHandler);  // exceptions use BASE
  m.state().pc = kRamBase + 4;
  m.state().mstatus = mstatus::kMIE;
  m.state().mie = mip::kMTIP;
  m.control.set_mtimecmp(0);
  m.load(kMHandler + 4 * 7, {jal(zero, 0)});
  m.hart.step(1);
  EXPECT_EQ(m.state().mcause, cause::kInterruptBit | 7);
  EXPECT_EQ(m.state().pc, kMHandler + 4 * 7);
}

TEST(Interrupt, EnablingWriteIsTakenAtTheNextInstruction) {
  TrapMachine m;
  m.state().mie = mip::kMSIP;
  m.control.set_mip(mip::kMSIP, true);
  m.load(kRamBase, {csrrsi(zero, csr::kMstatus, 8), addi(a0, zero, 1), addi(a1, zero, 1)});
  m.hart.step(2);
  EXPECT_EQ(m.state().mepc, kRamBase + 4);
  EXPECT_EQ(m.state().mcause, cause::kInterruptBit | 3);
  EXPECT_EQ(m.x(a0), 0u);
}

}  // namespace
}  // namespace godwit::testing

namespace godwit::testing {
namespace {

// The first fetch after a privilege change or TLB flush, at an address
// below 4 KiB where nothing is mapped, must fault rather than run whatever
// page was executed last (the interpreter's "no fetch page" marker must not
// look like a page that covers low addresses).
TEST(Trap, FirstFetchAfterMretToAnUnmappedLowAddressFaults) {
  TrapMachine m;
  m.load(kRamBase, {addi(a0, zero, 1), mret()});
  m.state().mepc = 0x10;
  m.state().mstatus = 3ull << mstatus::kMPPShift;
  m.hart.step(2);
  m.x(a0) = 0;
  m.hart.step(1);
  EXPECT_EQ(m.state().mcause, cause::kInstructionAccessFault);
  EXPECT_EQ(m.state().mepc, 0x10u);
  EXPECT_EQ(m.state().pc, kMHandler);
  EXPECT_EQ(m.x(a0), 0u);
}

}  // namespace
}  // namespace godwit::testing
