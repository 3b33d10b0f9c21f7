// Execution of every instruction class, through guest RAM in an AddressSpace.
#include <gtest/gtest.h>

#include <vector>

#include "base/byte_order.hpp"
#include "cpu/csr_defs.hpp"
#include "cpu/hart_test_util.hpp"

namespace godwit::testing {
namespace {

struct Case {
  const char* what;
  uint32_t insn;  // reads a1, a2; writes a0
  uint64_t a;
  uint64_t b;
  uint64_t expected;
};

uint64_t run_one(uint32_t insn, uint64_t a, uint64_t b) {
  TestMachine m(64 << 10);
  m.x(a1) = a;
  m.x(a2) = b;
  m.load(kRamBase, {insn});
  EXPECT_EQ(m.hart.step(1), 1u);
  EXPECT_EQ(m.state().pc, kRamBase + 4);
  return m.x(a0);
}

constexpr uint64_t kMin64 = 1ull << 63;

TEST(Execute, RegisterAndImmediateArithmetic) {
  const Case cases[] = {
      {"add", add(a0, a1, a2), 5, 7, 12},
      {"add wraps", add(a0, a1, a2), ~0ull, 2, 1},
      {"sub", sub(a0, a1, a2), 5, 7, static_cast<uint64_t>(-2)},
      {"sll", op(0, 1, a0, a1, a2), 1, 65, 2},  // only 6 bits of the shift count
      {"slt", op(0, 2, a0, a1, a2), static_cast<uint64_t>(-1), 0, 1},
      {"sltu", op(0, 3, a0, a1, a2), static_cast<uint64_t>(-1), 0, 0},
      {"xor", op(0, 4, a0, a1, a2), 0xf0f0, 0xff00, 0x0ff0},
      {"srl", op(0, 5, a0, a1, a2), kMin64, 63, 1},
      {"sra", op(0x20, 5, a0, a1, a2), kMin64, 63, ~0ull},
      {"or", op(0, 6, a0, a1, a2), 0xf0, 0x0f, 0xff},
      {"and", op(0, 7, a0, a1, a2), 0xf0, 0x3c, 0x30},
      {"addi", addi(a0, a1, -5), 3, 0, static_cast<uint64_t>(-2)},
      {"slti", slti(a0, a1, -1), static_cast<uint64_t>(-2), 0, 1},
      {"sltiu -1 is max", sltiu(a0, a1, -1), 5, 0, 1},
      {"xori -1 is not", xori(a0, a1, -1), 0x1234, 0, ~0x1234ull},
      {"ori", ori(a0, a1, 0x700), 0xff, 0, 0x7ff},
      {"andi", andi(a0, a1, -16), 0x1234, 0, 0x1230},
      {"slli", slli(a0, a1, 63), 1, 0, kMin64},
      {"srli", srli(a0, a1, 60), ~0ull, 0, 0xf},
      {"srai", srai(a0, a1, 60), kMin64, 0, ~0x7ull},
      {"addiw sign-extends", addiw(a0, a1, 1), 0x7fffffff, 0, 0xffffffff80000000},
      {"slliw", slliw(a0, a1, 31), 1, 0, 0xffffffff80000000},
      {"srliw", srliw(a0, a1, 4), 0xffffffff80000000, 0, 0x08000000},
      {"sraiw", sraiw(a0, a1, 4), 0x80000000, 0, 0xfffffffff8000000},
      {"addw", op32(0, 0, a0, a1, a2), 0xffffffff, 1, 0},
      {"subw", op32(0x20, 0, a0, a1, a2), 0, 1, ~0ull},
      {"sllw", op32(0, 1, a0, a1, a2), 1, 63, 0xffffffff80000000},  // 5 bits of the count
      {"srlw", op32(0, 5, a0, a1, a2), 0x80000000, 31, 1},
      {"sraw", op32(0x20, 5, a0, a1, a2), 0x80000000, 31, ~0ull},
      {"lui", lui(a0, 0x80000), 0, 0, 0xffffffff80000000},
  };
  for (const Case& c : cases) EXPECT_EQ(run_one(c.insn, c.a, c.b), c.expected) << c.what;
}

TEST(Execute, MultiplyAndDivideIncludingCornerCases) {
  const uint64_t m1 = ~0ull;
  const Case cases[] = {
      {"mul", mul(a0, a1, a2), 6, 7, 42},
      {"mulh", op(1, 1, a0, a1, a2), m1, m1, 0},                 // (-1)*(-1) = 1: high 0
      {"mulh negative", op(1, 1, a0, a1, a2), kMin64, 2, m1},   // -2^64: high -1
      {"mulhsu", op(1, 2, a0, a1, a2), m1, m1, m1},              // -1 * (2^64-1)
      {"mulhu", op(1, 3, a0, a1, a2), m1, m1, m1 - 1},
      {"div", op(1, 4, a0, a1, a2), static_cast<uint64_t>(-7), 2, static_cast<uint64_t>(-3)},
      {"div by zero", op(1, 4, a0, a1, a2), 7, 0, m1},
      {"div overflow", op(1, 4, a0, a1, a2), kMin64, m1, kMin64},
      {"divu", op(1, 5, a0, a1, a2), m1, 2, m1 / 2},
      {"divu by zero", op(1, 5, a0, a1, a2), 7, 0, m1},
      {"rem", op(1, 6, a0, a1, a2), static_cast<uint64_t>(-7), 2, m1},
      {"rem by zero", op(1, 6, a0, a1, a2), 7, 0, 7},
      {"rem overflow", op(1, 6, a0, a1, a2), kMin64, m1, 0},
      {"remu", op(1, 7, a0, a1, a2), 7, 4, 3},
      {"remu by zero", op(1, 7, a0, a1, a2), 7, 0, 7},
      {"mulw", op32(1, 0, a0, a1, a2), 0x10000, 0x8000, 0xffffffff80000000},
      {"divw", op32(1, 4, a0, a1, a2), 0xfffffff9, 2, static_cast<uint64_t>(-3)},
      {"divw overflow", op32(1, 4, a0, a1, a2), 0x80000000, m1, 0xffffffff80000000},
      {"divw by zero", op32(1, 4, a0, a1, a2), 5, 0x100000000, m1},  // only the low word of rs2 counts
      {"divuw", op32(1, 5, a0, a1, a2), 0xffffffff, 1, m1},
      {"remw", op32(1, 6, a0, a1, a2), 0xfffffff9, 2, m1},
      {"remw by zero", op32(1, 6, a0, a1, a2), 0x80000000, 0, 0xffffffff80000000},
      {"remuw", op32(1, 7, a0, a1, a2), 0xfffffff9, 0x10, 9},
  };
  for (const Case& c : cases) EXPECT_EQ(run_one(c.insn, c.a, c.b), c.expected) << c.what;
}

TEST(Execute, RegisterZeroStaysZero) {
  TestMachine m(64 << 10);
  m.load(kRamBase, {addi(zero, zero, 5), add(a0, zero, zero)});
  m.x(a0) = 99;
  m.hart.step(2);
  EXPECT_EQ(m.x(zero), 0u);
  EXPECT_EQ(m.x(a0), 0u);
}

TEST(Execute, BranchesJumpsAndAuipc) {
  TestMachine m(64 << 10);
  const uint64_t b = kRamBase;
  m.load(b, {
                addi(a0, zero, -1),  // 0
                addi(a1, zero, 1),   // 4
                blt(a1, a0, 8),      // 8: not taken (1 < -1 false)
                bltu(a1, a0, 8),     // c: taken -> 0x14
                addi(s1, zero, 1),   // 10: skipped
                bge(a0, a1, 8),      // 14: not taken
                bgeu(a0, a1, 8),     // 18: taken -> 0x20
                addi(s1, zero, 2),   // 1c: skipped
                beq(a0, a0, 8),      // 20: taken -> 0x28
                addi(s1, zero, 3),   // 24: skipped
                bne(a0, a0, 8),      // 28: not taken
                jal(ra, 12),         // 2c: -> 0x38, ra = 0x30
                addi(s1, zero, 4),   // 30: skipped
                addi(s1, zero, 5),   // 34: skipped
                auipc(t0, 1),        // 38: t0 = b + 0x38 + 0x1000
                addi(t1, zero, 0x49),  // 3c
                add(t1, t1, ra),     // 40: t1 = b + 0x30 + 0x49 = b + 0x79
                addi(t1, t1, -0x30), // 44: t1 = b + 0x49 (odd)
                jalr(t2, t1, 3),     // 48: target (b + 0x4c) & ~1 = b + 0x4c, t2 = b + 0x4c
                addi(s2, zero, 7),   // 4c
            });
  EXPECT_EQ(m.hart.step(15), 15u);
  EXPECT_EQ(m.state().pc, b + 0x50);
  EXPECT_EQ(m.x(s1), 0u);
  EXPECT_EQ(m.x(ra), b + 0x30);
  EXPECT_EQ(m.x(t0), b + 0x1038);
  EXPECT_EQ(m.x(t2), b + 0x4c);
  EXPECT_EQ(m.x(s2), 7u);
}

TEST(Execute, LoadsAndStoresOfEverySize) {
  TestMachine m(64 << 10);
  const uint64_t data = kRamBase + 0x1000;
  m.x(s0) = data;
  m.x(a0) = 0x8899aabbccddeeffull;
  m.load(kRamBase, {
                       sd(a0, s0, 0), sw(a0, s0, 8), sh(a0, s0, 12), sb(a0, s0, 14),
                       ld(t0, s0, 0), lw(t1, s0, 0), lwu(t2, s0, 0), lh(t3, s0, 0),
                       lhu(t4, s0, 0), lb(t5, s0, 0), lbu(t6, s0, 0), ld(a1, s0, 8),
                   });
  EXPECT_EQ(m.hart.step(12), 12u);
  EXPECT_EQ(m.x(t0), 0x8899aabbccddeeffull);
  EXPECT_EQ(m.x(t1), 0xffffffffccddeeffull);
  EXPECT_EQ(m.x(t2), 0xccddeeffull);
  EXPECT_EQ(m.x(t3), 0xffffffffffffeeffull);
  EXPECT_EQ(m.x(t4), 0xeeffull);
  EXPECT_EQ(m.x(t5), 0xffffffffffffffffull);
  EXPECT_EQ(m.x(t6), 0xffull);
  EXPECT_EQ(m.x(a1), 0x00ffeeffccddeeffull);
}

TEST(Execute, MisalignedAccessesInsideAndAcrossPages) {
  TestMachine m(64 << 10);
  const uint64_t page_end = kRamBase + 0x2000;
  m.x(s0) = page_end;
  m.x(a0) = 0x0102030405060708ull;
  m.load(kRamBase, {
                       sd(a0, s0, -3),  // straddles the page boundary
                       ld(a1, s0, -3),
                       sw(a0, s0, -0x101),  // misaligned inside a page
                       lw(a2, s0, -0x101),
                       lhu(a3, s0, -1),  // straddles, 2 bytes
                   });
  EXPECT_EQ(m.hart.step(5), 5u);
  EXPECT_EQ(m.state().mcause, 0u);
  EXPECT_EQ(m.x(a1), 0x0102030405060708ull);
  EXPECT_EQ(m.read64(page_end - 3), 0x0102030405060708ull);
  EXPECT_EQ(m.x(a2), 0x05060708u);
  EXPECT_EQ(m.x(a3), 0x0506u);
}

class ByteDevice : public MmioDevice {
 public:
  std::string_view name() const override { return "bytes"; }
  uint64_t read(uint64_t offset, unsigned size) override {
    sizes.push_back(size);
    return load_le_sized(bytes + offset, size);
  }
  void write(uint64_t offset, unsigned size, uint64_t value) override {
    sizes.push_back(size);
    store_le_sized(bytes + offset, size, value);
  }
  uint8_t bytes[16] = {};
  std::vector<unsigned> sizes;
};

TEST(Execute, MmioAccessesAreNaturalOrSplitIntoBytes) {
  TestMachine m(64 << 10);
  ByteDevice device;
  ASSERT_TRUE(m.memory.map_mmio(0x10000000, 16, device).has_value());
  m.x(s0) = 0x10000000;
  m.x(a0) = 0x11223344;
  m.load(kRamBase, {sw(a0, s0, 4), lw(a1, s0, 4), sw(a0, s0, 9), lwu(a2, s0, 9), ld(a3, s0, 16)});
  EXPECT_EQ(m.hart.step(4), 4u);
  EXPECT_EQ(m.x(a1), 0x11223344u);
  EXPECT_EQ(m.x(a2), 0x11223344u);
  EXPECT_EQ(device.sizes, (std::vector<unsigned>{4, 4, 1, 1, 1, 1, 1, 1, 1, 1}));
  // Nothing mapped at 0x10000010: load access fault with the address in mtval.
  m.hart.step(1);
  EXPECT_EQ(m.state().mcause, cause::kLoadAccessFault);
  EXPECT_EQ(m.state().mtval, 0x10000010u);
  EXPECT_EQ(m.state().mepc, kRamBase + 16);
}

TEST(Execute, CompressedProgram) {
  TestMachine m(64 << 10);
  m.state().mtvec = kRamBase + 0x800;
  m.load(kRamBase + 0x800, {jal(zero, 0)});
  m.x(sp) = kRamBase + 0x1000;
  m.x(t0) = kRamBase + 44;
  // Assembled with GNU as: c.li a0,0; c.li a1,10; 1: c.addi a0,3; c.addi a1,-1;
  // c.bnez a1,1b; c.slli a0,2; c.mv a2,a0; c.add a2,a0; c.sub a2,a1; c.j 2f;
  // c.li a2,1; 2: c.addi4spn s0,sp,16; c.sdsp a2,8(sp); c.ldsp a3,8(sp);
  // c.sw a2,4(s0); c.lw a4,4(s0); c.lui a5,0x1f; c.srai a5,4; c.andi a5,-8;
  // c.addiw a4,1; c.addw a4,a4; c.jalr t0; c.ebreak
  m.load16(kRamBase, {0x4501, 0x45a9, 0x050d, 0x15fd, 0xfdf5, 0x050a, 0x862a, 0x962a, 0x8e0d, 0xa011, 0x4605, 0x0800,
                      0xe432, 0x66a2, 0xc050, 0x4058, 0x67fd, 0x8791, 0x9be1, 0x2705, 0x9f39, 0x9282, 0x9002});
  m.hart.step(200);
  EXPECT_EQ(m.state().mcause, cause::kBreakpoint);
  EXPECT_EQ(m.state().mepc, kRamBase + 44);
  EXPECT_EQ(m.state().mtval, kRamBase + 44);
  EXPECT_EQ(m.x(a0), 120u);
  EXPECT_EQ(m.x(a2), 240u);
  EXPECT_EQ(m.x(s0), kRamBase + 0x1010);
  EXPECT_EQ(m.x(a3), 240u);
  EXPECT_EQ(m.read32(kRamBase + 0x1014), 240u);
  EXPECT_EQ(m.x(a5), 0x1f00u);
  EXPECT_EQ(m.x(a4), 482u);
  EXPECT_EQ(m.x(ra), kRamBase + 44);
}

TEST(Execute, InstructionStraddlingAPageBoundary) {
  TestMachine m(64 << 10);
  // A c.nop, then a 32-bit addi whose halves lie in two pages.
  const uint64_t start = kRamBase + 0x1000 - 2;
  const uint32_t insn = addi(a0, zero, 42);
  m.load16(start - 2, {0x0001, static_cast<uint16_t>(insn), static_cast<uint16_t>(insn >> 16)});
  m.state().pc = start - 2;
  EXPECT_EQ(m.hart.step(2), 2u);
  EXPECT_EQ(m.x(a0), 42u);
  EXPECT_EQ(m.state().pc, start + 4);
}

TEST(Execute, SelfModifyingCodeIsSeenWithoutAnyFlush) {
  TestMachine m(64 << 10);
  m.load(kRamBase, {addi(a0, zero, 1), jal(zero, -4)});
  m.hart.step(10);
  EXPECT_EQ(m.x(a0), 1u);
  m.load(kRamBase, {addi(a0, zero, 2)});  // e.g. another hart rewrote it
  m.hart.step(2);
  EXPECT_EQ(m.x(a0), 2u);
}

TEST(Execute, StoreRewritingTheNextInstructionOfItsBlock) {
  TestMachine m(64 << 10);
  m.x(s0) = kRamBase;
  m.x(a1) = addi(a0, zero, 9);
  m.load(kRamBase, {sw(a1, s0, 8), addi(zero, zero, 0), addi(a0, zero, 1), addi(a2, zero, 1)});
  m.hart.step(8);  // warm the block cache with the original code first
  m.state().pc = kRamBase;
  m.load(kRamBase + 8, {addi(a0, zero, 1)});
  m.hart.step(4);
  EXPECT_EQ(m.x(a0), 9u);
  EXPECT_EQ(m.x(a2), 1u);
}

TEST(Execute, CodeStoredByTheGuestThenFenceI) {
  TestMachine m(64 << 10);
  m.x(s0) = kRamBase + 0x20;
  m.x(a1) = addi(a0, zero, 77);
  m.load(kRamBase, {sw(a1, s0, 0), fence_i(), jal(zero, 0x18)});
  m.load(kRamBase + 0x20, {addi(a0, zero, 1)});
  m.hart.step(4);
  EXPECT_EQ(m.x(a0), 77u);
}

TEST(Execute, CodeRewrittenBetweenRunsOfChainedBlocksIsSeen) {
  // Two blocks jumping to each other, so each is entered through the other's
  // successor link; then another agent rewrites the second.
  TestMachine m(64 << 10);
  m.load(kRamBase, {addi(a0, a0, 1), jal(zero, 0x40 - 4)});
  m.load(kRamBase + 0x40, {addi(a1, a1, 1), jal(zero, -0x40 - 4)});
  m.hart.step(40);
  EXPECT_EQ(m.x(a0), 10u);
  EXPECT_EQ(m.x(a1), 10u);
  m.load(kRamBase + 0x40, {addi(a1, a1, 100)});
  m.hart.step(4);
  EXPECT_EQ(m.x(a0), 11u);
  EXPECT_EQ(m.x(a1), 110u);
}

TEST(Execute, StoreIntoTheNextBlockWithoutFenceI) {
  // The store's block jumps straight into code the store rewrote; the new
  // bits run even though the old ones were cached and chained.
  TestMachine m(64 << 10);
  m.x(s0) = kRamBase + 0x40;
  m.x(a1) = addi(a0, zero, 1);
  m.load(kRamBase, {sw(a1, s0, 0), jal(zero, 0x40 - 4)});
  m.load(kRamBase + 0x40, {addi(a0, zero, 5), jal(zero, -0x40 - 4)});
  m.hart.step(4);  // both blocks are now cached and linked
  EXPECT_EQ(m.x(a0), 1u);
  m.x(a1) = addi(a0, zero, 42);
  m.hart.step(4);
  EXPECT_EQ(m.x(a0), 42u);
}

TEST(Execute, StoreIntoAnEarlierInstructionOfItsBlockRunsTheRest) {
  TestMachine m(64 << 10);
  m.x(s0) = kRamBase;
  m.x(a1) = addi(a2, zero, 7);
  m.load(kRamBase, {addi(a0, a0, 1), sw(a1, s0, 0), addi(a3, a3, 1), jal(zero, -12)});
  m.hart.step(4);
  EXPECT_EQ(m.x(a0), 1u);
  EXPECT_EQ(m.x(a3), 1u);
  m.hart.step(4);  // the rewritten first instruction, then the rest again
  EXPECT_EQ(m.x(a0), 1u);
  EXPECT_EQ(m.x(a2), 7u);
  EXPECT_EQ(m.x(a3), 2u);
}

TEST(Execute, ShortCompressedBlockRewrittenIsSeen) {
  // c.addi a0, 1; c.j -2: a block of 6 bytes, less than one compared word.
  TestMachine m(64 << 10);
  m.load16(kRamBase, {0x0505, 0xbffd});
  m.hart.step(10);
  EXPECT_EQ(m.x(a0), 5u);
  m.load16(kRamBase, {0x0509});  // c.addi a0, 2
  m.hart.step(2);
  EXPECT_EQ(m.x(a0), 7u);
}

TEST(Execute, StoreRewritingCodeOfTheBlockJumpedTo) {
  // The store rewrites code in the block its own block jumps to, which
  // must run as stored.
  TestMachine m(64 << 10);
  m.x(s0) = kRamBase + 0x40;
  m.x(a1) = addi(a0, zero, 9);
  m.load(kRamBase, {sw(a1, s0, 4), jal(zero, 0x40 - 4)});
  m.load(kRamBase + 0x40, {addi(a2, a2, 1), addi(a0, zero, 1), jal(zero, -0x48)});
  m.hart.step(5);
  EXPECT_EQ(m.x(a0), 9u);
  m.load(kRamBase + 0x44, {addi(a0, zero, 1)});  // the cached block holds the old bits again
  m.hart.step(5);
  EXPECT_EQ(m.x(a0), 9u);
  EXPECT_EQ(m.x(a2), 2u);
}

TEST(Execute, InstretCountsRetiredInstructionsOnly) {
  TestMachine m(64 << 10);
  m.state().mtvec = kRamBase + 0x100;
  m.load(kRamBase + 0x100, {jal(zero, 0)});
  m.load(kRamBase, {addi(a0, zero, 1), addi(a0, a0, 1), 0xffffffff /* illegal */});
  EXPECT_EQ(m.hart.step(3), 2u);
  EXPECT_EQ(m.state().minstret, 2u);
  EXPECT_EQ(m.state().mcycle, 2u);
  EXPECT_EQ(m.hart.step(5), 5u);
  EXPECT_EQ(m.state().minstret, 7u);
}

}  // namespace
}  // namespace godwit::testing
