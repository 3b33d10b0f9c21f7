// Sdtrig: the trigger CSRs' legal values, execute/load/store address
// matches raising breakpoints, triggers that must stay quiet, and the
// triggers in the migrated state.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "cpu/csr_defs.hpp"
#include "cpu/debug_triggers.hpp"
#include "cpu/hart_test_util.hpp"
#include "cpu/hart_stream_test_util.hpp"

namespace godwit::testing {
namespace {

constexpr uint64_t kMHandler = kRamBase + 0x1000;
constexpr uint64_t kData = kRamBase + 0x3000;
constexpr uint64_t kType2 = 2ull << 60;
constexpr uint64_t kType6 = 6ull << 60;
constexpr uint64_t kM = 1u << 6, kS = 1u << 4, kU = 1u << 3;

// M-mode code at kRamBase; the trap handler spins at kMHandler.
struct TriggerMachine : TestMachine {
  TriggerMachine() : TestMachine(64 << 10) {
    state().mtvec = kMHandler;
    load(kMHandler, {jal(zero, 0)});
    write64(kData, 0x1122334455667788);
  }
  void arm(unsigned index, uint64_t tdata1, uint64_t tdata2) {
    state().triggers.tdata1[index] = tdata1;
    state().triggers.tdata2[index] = tdata2;
    hart.flush_caches();
  }
  bool breakpoint_at(uint64_t epc, uint64_t tval) {
    return state().pc == kMHandler && state().mcause == cause::kBreakpoint && state().mepc == epc &&
           state().mtval == tval;
  }
};

TEST(DebugTriggers, CsrsResetAndWarlValues) {
  TestMachine m(64 << 10);
  m.x(a1) = 5;
  m.x(a2) = kType2 | (1ull << 59) /* dmode */ | (15ull << 12) /* action */ | (1u << 11) /* chain */ |
            (1u << 19) /* select */ | kM | kS | kU | 7 | (1ull << 16) /* sizelo 1 */;
  m.x(a3) = 0x0abc;
  m.load(kRamBase, {csrrs(a0, csr::kTinfo, zero),  csrrs(t0, csr::kTdata1, zero), csrrw(zero, csr::kTselect, a1),
                    csrrs(t1, csr::kTselect, zero), csrrwi(zero, csr::kTselect, 1), csrrw(zero, csr::kTdata1, a2),
                    csrrs(t2, csr::kTdata1, zero), csrrw(zero, csr::kTdata1, zero), csrrs(t3, csr::kTdata1, zero),
                    csrrw(zero, csr::kTdata3, a3), csrrs(t4, csr::kTdata3, zero), csrrw(zero, csr::kTinfo, a3),
                    csrrs(t5, csr::kTinfo, zero)});
  ASSERT_EQ(m.hart.step(13), 13u);
  EXPECT_EQ(m.x(a0), (1u << 2) | (1u << 6));  // mcontrol and mcontrol6, as QEMU's tinfo
  EXPECT_EQ(m.x(t0), kType2);                 // type 2, matching nothing
  EXPECT_EQ(m.x(t1), 0u);                     // tselect 5: no such trigger, unchanged
  EXPECT_EQ(m.x(t2), kType2 | kM | kS | kU | 7 | (1ull << 16));
  EXPECT_EQ(m.x(t3), m.x(t2));  // type 0 is not offered: the write is ignored
  EXPECT_EQ(m.x(t4), 0u);       // tdata3 reads zero
  EXPECT_EQ(m.x(t5), m.x(a0));  // tinfo ignores writes
  EXPECT_EQ(m.state().triggers.tselect, 1u);
  EXPECT_EQ(m.state().triggers.tdata1[0], kType2);
}

TEST(DebugTriggers, Tdata1Legalisation) {
  using trigger::write_tdata1;
  const uint64_t old = kType2;
  EXPECT_EQ(write_tdata1(old, kType6 | kM | 1 | (5ull << 16)), kType6 | kM | 1 | (5ull << 16));
  EXPECT_EQ(write_tdata1(old, kType6 | kM | 1 | (4ull << 16)), kType6 | kM | 1);  // 6 bytes: size any
  EXPECT_EQ(write_tdata1(old, kType2 | kS | 2 | (1ull << 21) | (1ull << 16)), kType2 | kS | 2 | (1ull << 21) | (1ull << 16));
  EXPECT_EQ(write_tdata1(old, kType2 | (1ull << 22)), kType2);  // sizehi 2: size 8, not legal
  EXPECT_EQ(write_tdata1(old, (3ull << 60) | kM | 4), old);     // icount: not offered
  EXPECT_EQ(write_tdata1(old, (15ull << 60)), old);
  EXPECT_TRUE(trigger::valid_tdata1(kType2));
  EXPECT_TRUE(trigger::valid_tdata1(kType6 | kU | 7));
  EXPECT_FALSE(trigger::valid_tdata1(0));
  EXPECT_FALSE(trigger::valid_tdata1(kType2 | (1ull << 59)));
}

TEST(DebugTriggers, ExecuteTriggerFiresBeforeTheInstruction) {
  TriggerMachine m;
  m.load(kRamBase, {addi(a0, zero, 1), addi(a1, zero, 2), addi(a2, zero, 3)});
  ASSERT_EQ(m.hart.step(3), 3u);  // the block is cached before the trigger is armed
  m.state().pc = kRamBase;
  m.x(a0) = m.x(a1) = m.x(a2) = 0;
  m.arm(0, kType2 | kM | trigger::kExecute, kRamBase + 4);
  m.hart.step(2);
  EXPECT_EQ(m.x(a0), 1u);
  EXPECT_EQ(m.x(a1), 0u);  // not executed
  EXPECT_TRUE(m.breakpoint_at(kRamBase + 4, kRamBase + 4));
  EXPECT_EQ(m.state().minstret, 3u + 1u);  // the trapped one did not retire
}

TEST(DebugTriggers, ArmedByTheGuestFiresOnTheNextInstructionFetchedThere) {
  TriggerMachine m;
  m.x(t0) = kRamBase + 16;
  m.x(t1) = kType6 | kM | trigger::kExecute;
  m.load(kRamBase, {csrrw(zero, csr::kTdata2, t0), csrrw(zero, csr::kTdata1, t1), addi(a0, zero, 1),
                    addi(a1, zero, 1), addi(a2, zero, 1)});
  m.hart.step(10);
  EXPECT_EQ(m.x(a1), 1u);
  EXPECT_EQ(m.x(a2), 0u);
  EXPECT_TRUE(m.breakpoint_at(kRamBase + 16, kRamBase + 16));
}

TEST(DebugTriggers, LoadAndStoreTriggersFireBeforeTheAccess) {
  TriggerMachine m;
  m.x(a1) = kData;
  m.x(a2) = 0x55;
  // Warm the data TLB first: arming must still catch the next access.
  m.load(kRamBase, {ld(a0, a1, 0), sd(a2, a1, 8), ld(a3, a1, 0), sw(a2, a1, 8)});
  ASSERT_EQ(m.hart.step(2), 2u);
  m.x(a0) = 0;
  m.state().pc = kRamBase;
  m.arm(0, kType2 | kM | trigger::kLoad, kData + 4);  // inside the ld's 8 bytes
  m.arm(1, kType2 | kM | trigger::kStore, kData + 8);
  m.hart.step(1);
  EXPECT_EQ(m.x(a0), 0u);  // not loaded
  EXPECT_TRUE(m.breakpoint_at(kRamBase, kData + 4));

  m.state().pc = kRamBase + 4;
  m.write64(kData + 8, 0);
  m.hart.step(1);
  EXPECT_EQ(m.read64(kData + 8), 0u);  // not stored
  EXPECT_TRUE(m.breakpoint_at(kRamBase + 4, kData + 8));

  // A load trigger ignores stores and a store trigger loads.
  m.arm(0, kType2 | kM | trigger::kLoad, kData + 8);
  m.arm(1, kType2 | kM | trigger::kStore, kData);
  m.state().pc = kRamBase + 8;
  m.state().mcause = 0;
  m.hart.step(1);
  EXPECT_EQ(m.x(a3), 0x1122334455667788u);
  EXPECT_EQ(m.state().pc, kRamBase + 12);
  m.arm(0, kType2, kData + 8);  // no access enabled
  m.hart.step(1);
  EXPECT_EQ(m.read32(kData + 8), 0x55u);
  EXPECT_EQ(m.state().mcause, 0u);
}

TEST(DebugTriggers, AtomicsMatchLoadOrStoreTriggers) {
  TriggerMachine m;
  m.x(a1) = kData;
  m.x(a2) = 1;
  m.load(kRamBase, {amoadd_d(a0, a1, a2)});
  m.arm(1, kType2 | kM | trigger::kStore, kData);
  m.hart.step(1);
  EXPECT_TRUE(m.breakpoint_at(kRamBase, kData));
  EXPECT_EQ(m.read64(kData), 0x1122334455667788u);
  m.load(kRamBase, {lr_d(a0, a1)});
  m.arm(1, kType2 | kM | trigger::kLoad, kData);
  m.state().pc = kRamBase;
  m.hart.step(1);
  EXPECT_TRUE(m.breakpoint_at(kRamBase, kData));
  EXPECT_FALSE(m.state().reservation_valid);
}

TEST(DebugTriggers, OnlyTheEnabledModesMatch) {
  TriggerMachine m;
  m.state().medeleg = 0;
  m.load(kRamBase, {addi(a0, zero, 1), addi(a1, zero, 1)});
  m.arm(0, kType2 | kS | kU | trigger::kExecute, kRamBase);  // not M
  m.hart.step(2);
  EXPECT_EQ(m.x(a1), 1u);
  EXPECT_NE(m.state().mcause, cause::kBreakpoint);
  // In S-mode (Bare) the same trigger fires, and the trap goes to M.
  m.state().pc = kRamBase;
  m.state().privilege = Privilege::kSupervisor;
  m.hart.flush_caches();
  m.hart.step(1);
  EXPECT_TRUE(m.breakpoint_at(kRamBase, kRamBase));
  EXPECT_EQ((m.state().mstatus & mstatus::kMPP) >> mstatus::kMPPShift, 1u);
}

TEST(DebugTriggers, TriggersTravelInASubsectionOnlyWhenSet) {
  TestMachine idle(64 << 10);
  const auto plain = save_bytes(idle.hart);
  const std::string name = "cpu/debug";
  EXPECT_EQ(std::search(plain.begin(), plain.end(), name.begin(), name.end()), plain.end());

  TriggerMachine source;
  source.state().triggers.tselect = 1;
  source.arm(1, kType2 | kM | trigger::kExecute, kRamBase + 8);
  const auto bytes = save_bytes(source.hart);
  EXPECT_NE(std::search(bytes.begin(), bytes.end(), name.begin(), name.end()), bytes.end());

  // The destination's hart fires the migrated trigger.
  TriggerMachine destination;
  destination.load(kRamBase, {addi(a0, zero, 1), addi(a0, zero, 2), addi(a0, zero, 3)});
  ASSERT_TRUE(load_bytes(destination.hart, bytes));
  EXPECT_EQ(destination.state().triggers.tselect, 1u);
  EXPECT_EQ(save_bytes(destination.hart), bytes);
  destination.state().pc = kRamBase;
  destination.hart.step(3);
  EXPECT_EQ(destination.x(a0), 2u);
  EXPECT_TRUE(destination.breakpoint_at(kRamBase + 8, kRamBase + 8));

  // A stream without the subsection leaves the triggers as after reset.
  ASSERT_TRUE(load_bytes(destination.hart, plain));
  EXPECT_TRUE(destination.state().triggers_at_reset());

  // A loaded trigger the CSRs could never hold is refused.
  TriggerMachine bad;
  bad.state().triggers.tdata1[0] = kType2 | (1ull << 59);
  const auto bad_bytes = save_bytes(bad.hart);
  const Status status = load_bytes(destination.hart, bad_bytes);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message().find("tdata1 is not a legal value"), std::string::npos)
      << status.error().message();
}

}  // namespace
}  // namespace godwit::testing
