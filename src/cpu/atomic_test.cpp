// LR/SC and AMOs: values, alignment, and exact totals from two harts
// running on two host threads over the same RAM.
#include <gtest/gtest.h>

#include <thread>

#include "cpu/csr_defs.hpp"
#include "cpu/hart_test_util.hpp"

namespace godwit::testing {
namespace {

constexpr uint64_t kData = kRamBase + 0x1000;

struct AmoCase {
  const char* what;
  uint32_t funct5;
  uint32_t width;
  uint64_t memory;
  uint64_t operand;
  uint64_t result_memory;
};

TEST(Atomic, AmoValuesAndSignExtension) {
  const AmoCase cases[] = {
      {"amoswap.w", 1, 2, 0x80000001, 5, 5},
      {"amoadd.w", 0, 2, 0xffffffff, 2, 1},
      {"amoxor.w", 4, 2, 0xff00ff00, 0xffff, 0xff0000ff},
      {"amoand.w", 12, 2, 0xff00ff00, 0x0ff0, 0x0f00},
      {"amoor.w", 8, 2, 0xff00ff00, 0x0ff0, 0xff00fff0},
      {"amomin.w", 16, 2, 0x80000000, 1, 0x80000000},
      {"amomax.w", 20, 2, 0x80000000, 1, 1},
      {"amominu.w", 24, 2, 0x80000000, 1, 1},
      {"amomaxu.w", 28, 2, 0x80000000, 1, 0x80000000},
      {"amoswap.d", 1, 3, 1ull << 63, 5, 5},
      {"amoadd.d", 0, 3, ~0ull, 2, 1},
      {"amomin.d", 16, 3, 1ull << 63, 1, 1ull << 63},
      {"amomax.d", 20, 3, 1ull << 63, 1, 1},
      {"amominu.d", 24, 3, 1ull << 63, 1, 1},
      {"amomaxu.d", 28, 3, 1ull << 63, 1, 1ull << 63},
  };
  for (const AmoCase& c : cases) {
    TestMachine m(64 << 10);
    m.write64(kData, c.width == 2 ? (0xdeadbeef00000000ull | c.memory) : c.memory);
    m.x(s0) = kData;
    m.x(a1) = c.operand;
    m.load(kRamBase, {amo(c.funct5, c.width, a0, s0, a1)});
    EXPECT_EQ(m.hart.step(1), 1u) << c.what;
    if (c.width == 2) {
      EXPECT_EQ(m.x(a0), static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(c.memory)))) << c.what;
      EXPECT_EQ(m.read64(kData), 0xdeadbeef00000000ull | c.result_memory) << c.what;  // upper word untouched
    } else {
      EXPECT_EQ(m.x(a0), c.memory) << c.what;
      EXPECT_EQ(m.read64(kData), c.result_memory) << c.what;
    }
  }
}

TEST(Atomic, LoadReservedStoreConditional) {
  TestMachine m(64 << 10);
  m.write64(kData, 0xfffffffe);
  m.x(s0) = kData;
  m.x(a1) = 7;
  m.load(kRamBase, {lr_w(a0, s0), sc_w(a2, s0, a1),  // succeeds
                    sc_w(a3, s0, a1),                 // no reservation: fails
                    lr_d(a4, s0), sw(zero, s0, 0), sc_d(a5, s0, a1)});  // value changed: fails
  m.x(a3) = m.x(a5) = 99;
  EXPECT_EQ(m.hart.step(6), 6u);
  EXPECT_EQ(m.x(a0), 0xfffffffffffffffeull);  // sign-extended word
  EXPECT_EQ(m.x(a2), 0u);
  EXPECT_EQ(m.x(a3), 1u);
  EXPECT_EQ(m.x(a4), 7u);
  EXPECT_EQ(m.x(a5), 1u);
  EXPECT_EQ(m.read64(kData), 0u);
  EXPECT_FALSE(m.state().reservation_valid);
}

TEST(Atomic, MisalignedAtomicsRaiseAddressMisaligned) {
  TestMachine m(64 << 10);
  m.state().mtvec = kRamBase + 0x800;
  m.load(kRamBase + 0x800, {jal(zero, 0)});
  m.x(s0) = kData + 4;
  m.load(kRamBase, {lr_d(a0, s0)});
  m.hart.step(1);
  EXPECT_EQ(m.state().mcause, cause::kLoadMisaligned);
  EXPECT_EQ(m.state().mtval, kData + 4);
  m.load(kRamBase, {amoadd_d(a0, s0, a1)});
  m.state().pc = kRamBase;
  m.hart.step(1);
  EXPECT_EQ(m.state().mcause, cause::kStoreMisaligned);
  m.load(kRamBase, {sc_w(a0, s0, a1)});
  m.x(s0) = kData + 2;
  m.state().pc = kRamBase;
  m.hart.step(1);
  EXPECT_EQ(m.state().mcause, cause::kStoreMisaligned);
}

TEST(Atomic, AmoOnMmioIsAnAccessFault) {
  TestMachine m(64 << 10);
  m.state().mtvec = kRamBase + 0x800;
  m.load(kRamBase + 0x800, {jal(zero, 0)});
  m.x(s0) = 0x10000000;
  m.load(kRamBase, {amoadd_w(a0, s0, a1)});
  m.hart.step(1);
  EXPECT_EQ(m.state().mcause, cause::kStoreAccessFault);
}

// Two harts share one RAM; each runs its own copy of `loop` (at its own
// address) `kIterations` times on its own thread, then spins on `done`.
class TwoHarts {
 public:
  static constexpr uint64_t kCounter = kRamBase + 0x10000;
  static constexpr uint64_t kIterations = 200000;

  explicit TwoHarts(std::initializer_list<uint32_t> loop)
      : ram_(1 << 20),
        hart0_(0, memory_, control0_, clock_),
        hart1_(1, memory_, control1_, clock_) {
    EXPECT_TRUE(memory_.map_ram(kRamBase, ram_).has_value());
    for (Hart* h : {&hart0_, &hart1_}) {
      const uint64_t code = kRamBase + 0x1000 * (h->hart_id() + 1);
      uint64_t pa = code;
      for (uint32_t w : loop) {
        std::memcpy(ram_.data() + (pa - kRamBase), &w, 4);
        pa += 4;
      }
      const uint32_t spin = jal(zero, 0);
      std::memcpy(ram_.data() + (pa - kRamBase), &spin, 4);
      h->reset(code);
      h->state().x[s0] = kCounter;
      h->state().x[s1] = kIterations;
      done_[h->hart_id()] = pa;
    }
  }

  uint64_t run_to_completion() {
    auto body = [this](Hart& h) {
      while (h.state().pc != done_[h.hart_id()]) h.step(10000);
    };
    std::thread other(body, std::ref(hart1_));
    body(hart0_);
    other.join();
    uint64_t value;
    std::memcpy(&value, ram_.data() + (kCounter - kRamBase), 8);
    return value;
  }

 private:
  std::vector<uint8_t> ram_;
  AddressSpace memory_;
  HartControl control0_, control1_;
  GuestClock clock_;
  Hart hart0_, hart1_;
  uint64_t done_[2] = {};
};

TEST(Atomic, AmoAddFromTwoThreadsIsExact) {
  TwoHarts harts({
      addi(t0, zero, 1),
      amoadd_d(zero, s0, t0),
      addi(s1, s1, -1),
      bne(s1, zero, -8),       // back to the amoadd
  });
  EXPECT_EQ(harts.run_to_completion(), 2 * TwoHarts::kIterations);
}

TEST(Atomic, LrScIncrementFromTwoThreadsIsExact) {
  TwoHarts harts({
      lr_w(t0, s0),            // 0
      addi(t0, t0, 1),         // 4
      sc_w(t1, s0, t0),        // 8
      bne(t1, zero, -12),      // c: retry
      addi(s1, s1, -1),        // 10
      bne(s1, zero, -20),      // 14
  });
  EXPECT_EQ(harts.run_to_completion(), 2 * TwoHarts::kIterations);
}

}  // namespace
}  // namespace godwit::testing
