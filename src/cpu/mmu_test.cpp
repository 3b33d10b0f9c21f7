// Sv39 translation: page sizes, faults, A/D updates, the TLB and sfence.vma.
#include <gtest/gtest.h>

#include "cpu/csr_defs.hpp"
#include "cpu/hart_test_util.hpp"

namespace godwit::testing {
namespace {

namespace pte {
constexpr uint64_t V = 1, R = 2, W = 4, X = 8, U = 16, A = 64, D = 128;
}

constexpr uint64_t kCodeVa = 0x10000;
constexpr uint64_t kMHandler = kRamBase + 0x800;
constexpr uint64_t kRootPa = kRamBase + 0x100000;

class MmuTest : public ::testing::Test {
 protected:
  MmuTest() {
    m.state().mtvec = kMHandler;
    m.load(kMHandler, {jal(zero, 0)});
    map(kCodeVa, kRamBase, 0, pte::R | pte::X);
    m.state().satp = (8ull << 60) | (kRootPa >> 12);
  }

  // Maps the page of `va` at `level` (0: 4 KiB, 1: 2 MiB, 2: 1 GiB).
  void map(uint64_t va, uint64_t pa, int level, uint64_t flags) {
    m.write64(pte_address(va, level), ((pa >> 12) << 10) | flags | pte::V);
  }
  uint64_t pte_address(uint64_t va, int level) {
    uint64_t table = kRootPa;
    for (int l = 2; l > level; --l) {
      const uint64_t entry_pa = table + ((va >> (12 + 9 * l)) & 0x1ff) * 8;
      uint64_t entry = m.read64(entry_pa);
      if (!(entry & pte::V)) {
        next_table_ += 0x1000;
        entry = ((next_table_ >> 12) << 10) | pte::V;
        m.write64(entry_pa, entry);
      }
      table = (entry >> 10) << 12;
    }
    return table + ((va >> (12 + 9 * level)) & 0x1ff) * 8;
  }

  // Runs `program` from kCodeVa in `privilege` for `count` instructions.
  void run(std::initializer_list<uint32_t> program, Privilege privilege = Privilege::kSupervisor, uint64_t count = 0) {
    m.load(kRamBase, program);
    m.state().pc = kCodeVa;
    m.state().privilege = privilege;
    m.state().mcause = 0;
    m.hart.flush_caches();
    m.hart.step(count ? count : program.size());
  }

  TestMachine m;
  uint64_t next_table_ = kRootPa;
};

TEST_F(MmuTest, FourKilobytePageSetsAccessedThenDirty) {
  map(0x1000, kRamBase + 0x3000, 0, pte::R | pte::W);
  m.write64(kRamBase + 0x3010, 0x1122334455667788);
  m.x(s0) = 0x1000;
  m.x(a1) = 0xabcdef;
  run({ld(a0, s0, 0x10)});
  EXPECT_EQ(m.state().mcause, 0u);
  EXPECT_EQ(m.x(a0), 0x1122334455667788u);
  EXPECT_EQ(m.read64(pte_address(0x1000, 0)) & (pte::A | pte::D), pte::A);
  run({sd(a1, s0, 0x18)});
  EXPECT_EQ(m.read64(kRamBase + 0x3018), 0xabcdefu);
  EXPECT_EQ(m.read64(pte_address(0x1000, 0)) & (pte::A | pte::D), pte::A | pte::D);
}

TEST_F(MmuTest, MegapagesAndGigapages) {
  map(0x200000, kRamBase + 0x200000, 1, pte::R | pte::A);
  map(0x40000000, kRamBase, 2, pte::R | pte::A);
  m.write64(kRamBase + 0x201238, 11);
  m.write64(kRamBase + 0x412340, 22);
  m.x(s0) = 0x201238;
  m.x(s1) = 0x40412340;
  run({ld(a0, s0, 0), ld(a1, s1, 0)});
  EXPECT_EQ(m.state().mcause, 0u);
  EXPECT_EQ(m.x(a0), 11u);
  EXPECT_EQ(m.x(a1), 22u);
}

TEST_F(MmuTest, MisalignedSuperpageIsAPageFault) {
  map(0x400000, kRamBase + 0x201000, 1, pte::R | pte::A);
  m.x(s0) = 0x400008;
  run({ld(a0, s0, 0)});
  EXPECT_EQ(m.state().mcause, cause::kLoadPageFault);
  EXPECT_EQ(m.state().mtval, 0x400008u);
  EXPECT_EQ(m.state().mepc, kCodeVa);
}

TEST_F(MmuTest, PermissionFaults) {
  map(0x1000, kRamBase + 0x3000, 0, pte::R);
  map(0x2000, kRamBase + 0x4000, 0, pte::X);
  map(0x5000, kRamBase + 0x5000, 0, 0);  // V alone: a pointer at level 0
  m.x(s0) = 0x1000;
  m.x(s1) = 0x2000;
  m.x(s2) = 0x5000;
  run({sd(a0, s0, 0)});
  EXPECT_EQ(m.state().mcause, cause::kStorePageFault);
  EXPECT_EQ(m.state().mtval, 0x1000u);
  run({ld(a0, s1, 0)});
  EXPECT_EQ(m.state().mcause, cause::kLoadPageFault);
  run({jalr(zero, s0, 0)}, Privilege::kSupervisor, 2);  // jump to a non-executable page
  EXPECT_EQ(m.state().mcause, cause::kInstructionPageFault);
  EXPECT_EQ(m.state().mepc, 0x1000u);
  EXPECT_EQ(m.state().mtval, 0x1000u);
  run({ld(a0, s2, 0)});
  EXPECT_EQ(m.state().mcause, cause::kLoadPageFault);
  // MXR makes execute-only pages readable.
  m.state().mstatus = mstatus::kMXR;
  m.write64(kRamBase + 0x4000, 5);
  run({ld(a0, s1, 0)});
  EXPECT_EQ(m.state().mcause, 0u);
  EXPECT_EQ(m.x(a0), 5u);
}

TEST_F(MmuTest, UserPagesAndSum) {
  map(0x1000, kRamBase + 0x3000, 0, pte::R | pte::W | pte::X | pte::U);
  m.write64(kRamBase + 0x3000, 9);
  m.x(s0) = 0x1000;
  run({ld(a0, s0, 0)});
  EXPECT_EQ(m.state().mcause, cause::kLoadPageFault);  // S touching a U page without SUM
  m.state().mstatus = mstatus::kSUM;
  run({ld(a0, s0, 0)});
  EXPECT_EQ(m.state().mcause, 0u);
  EXPECT_EQ(m.x(a0), 9u);
  run({jalr(zero, s0, 0)}, Privilege::kSupervisor, 2);  // S never executes U pages
  EXPECT_EQ(m.state().mcause, cause::kInstructionPageFault);
  // U-mode cannot use the (non-U) code page at all.
  run({ld(a0, s0, 0)}, Privilege::kUser);
  EXPECT_EQ(m.state().mcause, cause::kInstructionPageFault);
  // ...but runs from a U page and reads U pages.
  map(kCodeVa, kRamBase, 0, pte::R | pte::X | pte::U);
  m.x(a0) = 0;
  run({ld(a0, s0, 0)}, Privilege::kUser);
  EXPECT_EQ(m.state().mcause, 0u);
  EXPECT_EQ(m.x(a0), 9u);
}

TEST_F(MmuTest, SumChangeIsSeenDespiteTheTlb) {
  map(0x1000, kRamBase + 0x3000, 0, pte::R | pte::W | pte::U);
  m.x(s0) = 0x1000;
  m.x(t0) = mstatus::kSUM;
  run({csrrs(zero, csr::kSstatus, t0), ld(a0, s0, 0), csrrc(zero, csr::kSstatus, t0), ld(a0, s0, 0)});
  EXPECT_EQ(m.state().mcause, cause::kLoadPageFault);
  EXPECT_EQ(m.state().mepc, kCodeVa + 12);
}

TEST_F(MmuTest, TlbKeepsTranslationsUntilSfenceVma) {
  map(0x1000, kRamBase + 0x3000, 0, pte::R | pte::A);
  m.write64(kRamBase + 0x3000, 1);
  m.write64(kRamBase + 0x6000, 2);
  m.x(s0) = 0x1000;
  m.load(kRamBase, {ld(a0, s0, 0), ld(a1, s0, 0), sfence_vma(s0, zero), ld(a2, s0, 0), jal(zero, 0)});
  m.state().pc = kCodeVa;
  m.state().privilege = Privilege::kSupervisor;
  m.hart.flush_caches();
  m.hart.step(1);
  map(0x1000, kRamBase + 0x6000, 0, pte::R | pte::A);  // without a fence yet
  m.hart.step(3);
  EXPECT_EQ(m.x(a0), 1u);
  EXPECT_EQ(m.x(a1), 1u);  // stale, as hardware may be
  EXPECT_EQ(m.x(a2), 2u);
}

TEST_F(MmuTest, SatpWriteAndFullSfenceDropCachedTranslations) {
  map(0x1000, kRamBase + 0x3000, 0, pte::R | pte::A);
  m.write64(kRamBase + 0x3000, 1);
  m.write64(kRamBase + 0x6000, 2);
  m.x(s0) = 0x1000;
  m.x(t0) = m.state().satp;
  m.load(kRamBase, {ld(a0, s0, 0), sfence_vma(zero, zero), ld(a1, s0, 0), csrrw(zero, csr::kSatp, t0),
                    ld(a2, s0, 0), jal(zero, 0)});
  m.state().pc = kCodeVa;
  m.state().privilege = Privilege::kSupervisor;
  m.hart.flush_caches();
  m.hart.step(1);
  map(0x1000, kRamBase + 0x6000, 0, pte::R | pte::A);
  m.hart.step(2);
  map(0x1000, kRamBase + 0x3000, 0, pte::R | pte::A);
  m.hart.step(2);
  EXPECT_EQ(m.state().mcause, 0u);
  EXPECT_EQ(m.x(a0), 1u);
  EXPECT_EQ(m.x(a1), 2u);
  EXPECT_EQ(m.x(a2), 1u);
}

TEST_F(MmuTest, NonCanonicalAddressFaults) {
  m.x(s0) = 1ull << 38;  // bit 38 set, 63..39 clear
  run({ld(a0, s0, 0)});
  EXPECT_EQ(m.state().mcause, cause::kLoadPageFault);
  EXPECT_EQ(m.state().mtval, 1ull << 38);
}

TEST_F(MmuTest, PageTableOutsideRamIsAnAccessFault) {
  m.x(s0) = 0x1000;
  m.state().satp = (8ull << 60) | (0x10000000 >> 12);
  m.state().pc = kRamBase;  // M-mode code, MPRV makes its loads use S translation
  m.state().mstatus = mstatus::kMPRV | (1ull << mstatus::kMPPShift);
  m.load(kRamBase, {ld(a0, s0, 0)});
  m.hart.flush_caches();
  m.hart.step(1);
  EXPECT_EQ(m.state().mcause, cause::kLoadAccessFault);
}

TEST_F(MmuTest, MprvTranslatesMachineDataAccesses) {
  map(0x1000, kRamBase + 0x3000, 0, pte::R | pte::W | pte::A | pte::D);
  m.write64(kRamBase + 0x3000, 0x77);
  m.x(s0) = 0x1000;
  m.x(t0) = mstatus::kMPRV;
  m.state().pc = kRamBase + 0x400;
  m.load(kRamBase + 0x400, {ld(a0, s0, 0), csrrc(zero, csr::kMstatus, t0), ld(a1, s0, 0)});
  m.state().mstatus = mstatus::kMPRV | (1ull << mstatus::kMPPShift);
  m.hart.flush_caches();
  m.hart.step(3);
  EXPECT_EQ(m.x(a0), 0x77u);
  EXPECT_EQ(m.state().mcause, cause::kLoadAccessFault);  // bare 0x1000: nothing mapped
}

TEST_F(MmuTest, StoreStraddlingIntoAFaultingPageWritesNothing) {
  map(0x1000, kRamBase + 0x3000, 0, pte::R | pte::W | pte::A | pte::D);
  map(0x2000, kRamBase + 0x4000, 0, pte::R | pte::A);
  m.x(s0) = 0x2000 - 4;
  m.x(a1) = ~0ull;
  run({sd(a1, s0, 0)});
  EXPECT_EQ(m.state().mcause, cause::kStorePageFault);
  EXPECT_EQ(m.state().mtval, 0x2000u);
  EXPECT_EQ(m.read32(kRamBase + 0x3ffc), 0u);
}

TEST_F(MmuTest, TranslateForDebugBareAndMachineModeAreTheIdentity) {
  m.state().privilege = Privilege::kMachine;
  EXPECT_EQ(m.hart.translate_for_debug(0x1234), 0x1234u);
  m.state().privilege = Privilege::kSupervisor;
  m.state().satp = 0;  // Bare
  EXPECT_EQ(m.hart.translate_for_debug(0xdead'beef, Hart::AccessType::kExecute), 0xdead'beefu);
}

TEST_F(MmuTest, TranslateForDebugWalksSv39WithoutSideEffects) {
  map(0x1000, kRamBase + 0x3000, 0, pte::R | pte::W);
  map(0x200000, kRamBase + 0x200000, 1, pte::R | pte::A);
  map(0x40000000, kRamBase, 2, pte::R | pte::X | pte::A);
  m.state().privilege = Privilege::kSupervisor;
  const uint64_t pte_before = m.read64(pte_address(0x1000, 0));
  EXPECT_EQ(m.hart.translate_for_debug(0x1abc), kRamBase + 0x3abc);
  EXPECT_EQ(m.hart.translate_for_debug(0x1abc, Hart::AccessType::kWrite), kRamBase + 0x3abc);
  EXPECT_EQ(m.hart.translate_for_debug(0x201238), kRamBase + 0x201238);
  EXPECT_EQ(m.hart.translate_for_debug(0x40412340, Hart::AccessType::kExecute), kRamBase + 0x412340);
  EXPECT_EQ(m.read64(pte_address(0x1000, 0)), pte_before);  // A and D untouched
  EXPECT_EQ(m.hart.translate_for_debug(0x7000), std::nullopt);  // unmapped
  EXPECT_EQ(m.hart.translate_for_debug(0x201238, Hart::AccessType::kWrite), std::nullopt);  // read-only
  EXPECT_EQ(m.hart.translate_for_debug(0x1000, Hart::AccessType::kExecute), std::nullopt);
  EXPECT_EQ(m.hart.translate_for_debug(1ull << 40), std::nullopt);  // not sign-extended
  EXPECT_EQ(m.state().mcause, 0u);  // and no trap was taken
  EXPECT_EQ(m.state().privilege, Privilege::kSupervisor);
}

TEST_F(MmuTest, TranslateForDebugFollowsMprvForDataOnly) {
  map(0x1000, kRamBase + 0x3000, 0, pte::R | pte::U);
  m.state().privilege = Privilege::kMachine;
  m.state().mstatus = mstatus::kMPRV;  // MPP = U
  EXPECT_EQ(m.hart.translate_for_debug(0x1008), kRamBase + 0x3008);
  EXPECT_EQ(m.hart.translate_for_debug(0x1008, Hart::AccessType::kExecute), 0x1008u);
  m.state().mstatus = 0;
  EXPECT_EQ(m.hart.translate_for_debug(0x1008), 0x1008u);
}

TEST_F(MmuTest, BlockRunsFromThePageTheCurrentMappingNames) {
  // A loop whose jump target lies on another page; remapping that page
  // (and sfence.vma) must run the new page's code, although the blocks of
  // both are cached and chained.
  constexpr uint64_t kLoop = kCodeVa + 0x10;
  constexpr uint64_t kOther = 0x20000;
  constexpr auto kThere = static_cast<int32_t>(kOther - kLoop);
  constexpr auto kBack = static_cast<int32_t>(kLoop - (kOther + 4));
  map(kOther, kRamBase + 0x6000, 0, pte::R | pte::X | pte::A);
  m.load(kRamBase + 0x6000, {addi(a0, a0, 1), jal(zero, kBack)});
  m.load(kRamBase + 0x7000, {addi(a0, a0, 100), jal(zero, kBack)});
  m.load(kRamBase + 0xc, {sfence_vma(zero, zero), jal(zero, kThere)});
  m.state().pc = kLoop;
  m.state().privilege = Privilege::kSupervisor;
  m.hart.flush_caches();
  m.hart.step(30);  // 10 round trips of jal, addi, jal
  EXPECT_EQ(m.state().mcause, 0u);
  EXPECT_EQ(m.x(a0), 10u);
  EXPECT_EQ(m.state().pc, kLoop);
  map(kOther, kRamBase + 0x7000, 0, pte::R | pte::X | pte::A);
  m.state().pc = kLoop - 4;
  m.hart.step(4);  // sfence.vma, jal, then the new page's addi and jal
  EXPECT_EQ(m.x(a0), 110u);
}

}  // namespace
}  // namespace godwit::testing
