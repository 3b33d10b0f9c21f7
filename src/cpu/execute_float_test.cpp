// F and D on a hart: mstatus.FS gating and Dirty tracking, fcsr/frm/fflags,
// static and dynamic rounding, NaN boxing, loads and stores (compressed
// ones too), conversions through integer registers, misa and the hart
// state's "cpu/fpu" subsection. The arithmetic itself is float_ops_test's.
#include <gtest/gtest.h>

#include <bit>

#include "cpu/csr_defs.hpp"
#include "cpu/hart_test_util.hpp"

namespace godwit::testing {
namespace {

// f registers by number.
enum FReg : uint32_t { f0 = 0, f1 = 1, f2 = 2, f3 = 3, f8 = 8, f9 = 9, f10 = 10 };

constexpr uint32_t op_fp(uint32_t funct7, uint32_t rs2, uint32_t rs1, uint32_t rm, uint32_t rd) {
  return r_type(funct7, rs2, rs1, rm, rd, 0x53);
}
constexpr uint32_t kDyn = 7;
constexpr uint32_t fadd_s(uint32_t rd, uint32_t rs1, uint32_t rs2, uint32_t rm = kDyn) { return op_fp(0x00, rs2, rs1, rm, rd); }
constexpr uint32_t fadd_d(uint32_t rd, uint32_t rs1, uint32_t rs2, uint32_t rm = kDyn) { return op_fp(0x01, rs2, rs1, rm, rd); }
constexpr uint32_t fdiv_d(uint32_t rd, uint32_t rs1, uint32_t rs2, uint32_t rm = kDyn) { return op_fp(0x0d, rs2, rs1, rm, rd); }
constexpr uint32_t fsgnj_s(uint32_t rd, uint32_t rs1, uint32_t rs2) { return op_fp(0x10, rs2, rs1, 0, rd); }
constexpr uint32_t fcvt_w_d(uint32_t rd, uint32_t rs1, uint32_t rm = kDyn) { return op_fp(0x61, 0, rs1, rm, rd); }
constexpr uint32_t fcvt_wu_d(uint32_t rd, uint32_t rs1, uint32_t rm = kDyn) { return op_fp(0x61, 1, rs1, rm, rd); }
constexpr uint32_t fcvt_d_w(uint32_t rd, uint32_t rs1, uint32_t rm = kDyn) { return op_fp(0x69, 0, rs1, rm, rd); }
constexpr uint32_t fcvt_s_lu(uint32_t rd, uint32_t rs1, uint32_t rm = kDyn) { return op_fp(0x68, 3, rs1, rm, rd); }
constexpr uint32_t fcvt_d_s(uint32_t rd, uint32_t rs1, uint32_t rm = kDyn) { return op_fp(0x21, 0, rs1, rm, rd); }
constexpr uint32_t fmv_x_w(uint32_t rd, uint32_t rs1) { return op_fp(0x70, 0, rs1, 0, rd); }
constexpr uint32_t fmv_w_x(uint32_t rd, uint32_t rs1) { return op_fp(0x78, 0, rs1, 0, rd); }
constexpr uint32_t fmv_x_d(uint32_t rd, uint32_t rs1) { return op_fp(0x71, 0, rs1, 0, rd); }
constexpr uint32_t fclass_s(uint32_t rd, uint32_t rs1) { return op_fp(0x70, 0, rs1, 1, rd); }
constexpr uint32_t feq_d(uint32_t rd, uint32_t rs1, uint32_t rs2) { return op_fp(0x51, rs2, rs1, 2, rd); }
constexpr uint32_t fmadd_d(uint32_t rd, uint32_t rs1, uint32_t rs2, uint32_t rs3, uint32_t rm = kDyn) {
  return rs3 << 27 | 1u << 25 | rs2 << 20 | rs1 << 15 | rm << 12 | rd << 7 | 0x43;
}
constexpr uint32_t flw(uint32_t rd, uint32_t rs1, int32_t imm) { return i_type(imm, rs1, 2, rd, 0x07); }
constexpr uint32_t fld(uint32_t rd, uint32_t rs1, int32_t imm) { return i_type(imm, rs1, 3, rd, 0x07); }
constexpr uint32_t fsw(uint32_t rs2, uint32_t rs1, int32_t imm) { return s_type(imm, rs2, rs1, 2, 0x27); }
constexpr uint32_t fsd(uint32_t rs2, uint32_t rs1, int32_t imm) { return s_type(imm, rs2, rs1, 3, 0x27); }

constexpr uint32_t kFflags = 0x001, kFrm = 0x002, kFcsr = 0x003;
constexpr uint64_t kFSInitial = 1ull << 13;

uint64_t f64(double value) { return std::bit_cast<uint64_t>(value); }
uint64_t boxed(float value) { return 0xffffffff00000000ull | std::bit_cast<uint32_t>(value); }

// A hart with FS set to Initial, running `words` from kRamBase.
struct FloatMachine : TestMachine {
  explicit FloatMachine(std::initializer_list<uint32_t> words) : TestMachine(64 << 10) {
    state().mstatus |= kFSInitial;
    load(kRamBase, words);
  }
  uint64_t& f(unsigned i) { return state().f[i]; }
  void run(uint64_t count) { EXPECT_EQ(hart.step(count), count); }
  uint64_t fs() const { return (hart.state().mstatus & mstatus::kFS) >> 13; }
};

TEST(ExecuteFloat, EveryInstructionAndFloatCsrIsIllegalWithFSOff) {
  const uint32_t instructions[] = {fadd_d(f1, f2, f3), fld(f1, a0, 0), fsd(f1, a0, 0), fmv_x_d(a1, f1),
                                   csrrs(a1, kFflags, zero), csrrw(zero, kFcsr, a1), csrrs(a1, kFrm, zero)};
  for (uint32_t insn : instructions) {
    TestMachine m(64 << 10);
    m.x(a0) = kRamBase + 0x100;
    m.state().mtvec = kRamBase + 0x200;
    m.load(kRamBase, {insn});
    m.hart.step(1);
    EXPECT_EQ(m.state().mcause, cause::kIllegalInstruction) << std::hex << insn;
    EXPECT_EQ(m.state().mtval, insn);
    EXPECT_EQ(m.state().pc, kRamBase + 0x200);
  }
  // c.fld too.
  TestMachine m(64 << 10);
  m.state().mtvec = kRamBase + 0x200;
  m.load16(kRamBase, {0x2588});  // c.fld fa0,8(a1)
  m.hart.step(1);
  EXPECT_EQ(m.state().mcause, cause::kIllegalInstruction);
}

TEST(ExecuteFloat, WritingStateMakesFSDirtyAndSetsSD) {
  FloatMachine m({fmv_x_d(a0, f1), fadd_d(f1, f2, f3), csrrs(a1, csr::kMstatus, zero), csrrs(a2, csr::kSstatus, zero)});
  m.f(f1) = f64(1.5);
  m.run(1);  // a move out changes no floating-point state
  EXPECT_EQ(m.x(a0), f64(1.5));
  EXPECT_EQ(m.fs(), 1u);
  m.run(3);
  EXPECT_EQ(m.fs(), 3u);
  EXPECT_EQ(m.x(a1) >> 63, 1u);  // SD
  EXPECT_EQ(m.x(a1) & mstatus::kFS, mstatus::kFS);
  EXPECT_EQ(m.x(a2) >> 63, 1u);
  EXPECT_EQ(m.x(a2) & mstatus::kFS, mstatus::kFS);
}

TEST(ExecuteFloat, FlagsAloneMakeFSDirty) {
  FloatMachine m({feq_d(a0, f1, f2)});
  m.f(f1) = 0x7ff0000000000001;  // a signaling NaN
  m.run(1);
  EXPECT_EQ(m.x(a0), 0u);
  EXPECT_EQ(m.state().fcsr, 0x10u);  // NV
  EXPECT_EQ(m.fs(), 3u);
}

TEST(ExecuteFloat, SstatusWritesFS) {
  TestMachine m(64 << 10);
  m.x(a0) = mstatus::kFS;
  m.load(kRamBase, {csrrs(zero, csr::kSstatus, a0), csrrs(a1, csr::kMstatus, zero)});
  m.hart.step(2);
  EXPECT_EQ(m.x(a1) & mstatus::kFS, mstatus::kFS);
  EXPECT_EQ(m.x(a1) >> 63, 1u);
}

TEST(ExecuteFloat, FcsrFieldsAndFlagsAccrue) {
  FloatMachine m({csrrw(zero, kFcsr, a0), csrrs(a1, kFrm, zero), csrrs(a2, kFflags, zero), fdiv_d(f1, f2, f3, 0),
                  csrrs(a3, kFflags, zero), csrrwi(a4, kFrm, 0x1f), csrrs(a5, kFcsr, zero)});
  m.x(a0) = 0x1ff;  // bits above 7 are dropped; frm 7 is reserved, so fdiv.d rounds statically
  m.f(f2) = f64(1.0);
  m.f(f3) = f64(0.0);
  m.run(7);
  EXPECT_EQ(m.x(a1), 7u);
  EXPECT_EQ(m.x(a2), 0x1fu);
  EXPECT_EQ(m.x(a3), 0x1fu);  // DZ accrued onto what was there
  EXPECT_EQ(m.x(a4), 7u);
  EXPECT_EQ(m.x(a5), 0xffu);  // frm keeps only 3 bits
  EXPECT_EQ(m.state().fcsr, 0xffu);
}

TEST(ExecuteFloat, StaticAndDynamicRounding) {
  // 1/3 in binary64 rounds down in RNE and RTZ, up in RUP.
  FloatMachine m({fdiv_d(f1, f2, f3, 3), fdiv_d(f8, f2, f3, 1), csrrwi(zero, kFrm, 3), fdiv_d(f9, f2, f3)});
  m.f(f2) = f64(1.0);
  m.f(f3) = f64(3.0);
  m.run(4);
  EXPECT_EQ(m.f(f1), f64(1.0 / 3.0) + 1);
  EXPECT_EQ(m.f(f8), f64(1.0 / 3.0));
  EXPECT_EQ(m.f(f9), f64(1.0 / 3.0) + 1);
  EXPECT_EQ(m.state().fcsr & 0x1f, 1u);  // NX
}

TEST(ExecuteFloat, ReservedDynamicRoundingModeIsIllegal) {
  for (uint32_t frm : {5u, 6u, 7u}) {
    // Even for a conversion that is always exact, as QEMU checks rm first.
    for (uint32_t insn : {fadd_d(f1, f2, f3), fcvt_d_s(f1, f2), fcvt_d_w(f1, a0)}) {
      FloatMachine m({csrrwi(zero, kFrm, frm), insn});
      m.state().mtvec = kRamBase + 0x200;
      m.hart.step(2);
      EXPECT_EQ(m.state().mcause, cause::kIllegalInstruction) << frm << " " << std::hex << insn;
      EXPECT_EQ(m.state().mepc, kRamBase + 4);
    }
  }
  // A static rm of 5 or 6 is illegal whatever frm holds.
  FloatMachine m({fadd_d(f1, f2, f3, 5)});
  m.state().mtvec = kRamBase + 0x200;
  m.hart.step(1);
  EXPECT_EQ(m.state().mcause, cause::kIllegalInstruction);
}

TEST(ExecuteFloat, SinglesAreNaNBoxed) {
  FloatMachine m({fadd_s(f1, f2, f3), fadd_s(f8, f2, f9), fsgnj_s(f10, f9, f9), fclass_s(a0, f9),
                  fmv_x_w(a1, f9), fmv_w_x(f0, a2), fcvt_d_s(f3, f9)});
  m.f(f2) = boxed(1.0f);
  m.f(f3) = boxed(2.0f);
  m.f(f9) = 0x00000000bf800000;  // -1.0f, not boxed: reads as the canonical NaN
  m.x(a2) = 0x12345678cafef00d;
  m.run(7);
  EXPECT_EQ(m.f(f1), boxed(3.0f));
  EXPECT_EQ(m.f(f8), 0xffffffff7fc00000u);  // NaN in, canonical NaN out
  EXPECT_EQ(m.f(f10), 0xffffffff7fc00000u);
  EXPECT_EQ(m.x(a0), 1u << 9);  // quiet NaN
  EXPECT_EQ(m.x(a1), 0xffffffffbf800000u);  // fmv.x.w ignores the box, sign-extends
  EXPECT_EQ(m.f(f0), 0xffffffffcafef00du);
  EXPECT_EQ(m.f(f3), 0x7ff8000000000000u);
  EXPECT_EQ(m.state().fcsr & 0x1f, 0u);  // quiet NaNs raise nothing
}

TEST(ExecuteFloat, LoadsAndStores) {
  FloatMachine m({flw(f1, a0, 0), fld(f2, a0, 8), fsw(f2, a0, 16), fsd(f1, a0, 24)});
  m.x(a0) = kRamBase + 0x100;
  m.write64(kRamBase + 0x100, 0xaaaaaaaa3f800000);
  m.write64(kRamBase + 0x108, 0x0123456789abcdef);
  m.run(4);
  EXPECT_EQ(m.f(f1), boxed(1.0f));
  EXPECT_EQ(m.f(f2), 0x0123456789abcdefu);
  EXPECT_EQ(m.read64(kRamBase + 0x110), 0x0000000089abcdefu);  // the low 32 bits, box unchecked
  EXPECT_EQ(m.read64(kRamBase + 0x118), boxed(1.0f));
  EXPECT_EQ(m.fs(), 3u);
}

TEST(ExecuteFloat, CompressedLoadsAndStores) {
  TestMachine m(64 << 10);
  m.state().mstatus |= kFSInitial;
  m.x(a1) = kRamBase + 0x100;
  m.x(sp) = kRamBase + 0x200;
  m.write64(kRamBase + 0x108, f64(2.5));
  m.write64(kRamBase + 0x210, f64(-7.0));
  // c.fld fa0,8(a1); c.fldsp fs0,16(sp); c.fsdsp fa0,0(sp); c.fsd fs0,0(a1)
  m.load16(kRamBase, {0x2588, 0x2442, 0xa02a, 0xa180});
  EXPECT_EQ(m.hart.step(4), 4u);
  EXPECT_EQ(m.state().f[10], f64(2.5));
  EXPECT_EQ(m.state().f[8], f64(-7.0));
  EXPECT_EQ(m.read64(kRamBase + 0x200), f64(2.5));
  EXPECT_EQ(m.read64(kRamBase + 0x100), f64(-7.0));
  EXPECT_EQ(m.state().pc, kRamBase + 8);
}

TEST(ExecuteFloat, ConversionsThroughIntegerRegisters) {
  FloatMachine m({fcvt_w_d(a0, f1, 1), fcvt_wu_d(a1, f2), fcvt_s_lu(f8, a2), fmadd_d(f9, f1, f1, f3, 0),
                  fcvt_w_d(zero, f2)});
  m.f(f1) = f64(-2.75);
  m.f(f2) = f64(4294967295.0);
  m.f(f3) = f64(0.25);
  m.x(a2) = ~0ull;
  m.run(5);
  EXPECT_EQ(m.x(a0), static_cast<uint64_t>(-2));  // RTZ
  EXPECT_EQ(m.x(a1), ~0ull);                      // 0xffffffff sign-extended
  EXPECT_EQ(m.f(f8), boxed(0x1p64f));
  EXPECT_EQ(m.f(f9), f64(-2.75 * -2.75 + 0.25));
  EXPECT_EQ(m.x(zero), 0u);
  EXPECT_EQ(m.state().fcsr & 0x1f, 0x11u);  // NX (-2.75, 2^64 - 1), NV (2^32 - 1 to w)
}

TEST(ExecuteFloat, MisaReportsFAndD) {
  TestMachine m(64 << 10);
  m.load(kRamBase, {csrrs(a0, csr::kMisa, zero)});
  m.hart.step(1);
  EXPECT_TRUE(m.x(a0) & (1u << ('F' - 'A')));
  EXPECT_TRUE(m.x(a0) & (1u << ('D' - 'A')));
}

}  // namespace
}  // namespace godwit::testing
