// Interpreter speed, in guest instructions per second. Disabled by default;
// run with: cpu_tests --gtest_also_run_disabled_tests --gtest_filter='*Bench*'
// The loops match bench programs that can be run under qemu-system-riscv64
// for a ratio (same instructions, same iteration count).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "cpu/test_support.hpp"

namespace godwit::test {
namespace {

double measure(TestMachine& m, uint64_t instructions) {
  const auto start = std::chrono::steady_clock::now();
  uint64_t retired = 0;
  while (retired < instructions) retired += m.hart.step(instructions - retired);
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  return static_cast<double>(retired) / elapsed.count();
}

// ld/add/sd/xor/addi/bne over one word: 6 instructions per iteration.
TEST(InterpreterBench, DISABLED_LoadStoreLoop) {
  TestMachine m;
  m.x(s0) = kRamBase + 0x10000;
  m.x(s1) = ~0ull >> 1;
  m.load(kRamBase, {ld(t0, s0, 0), add(t0, t0, s1), sd(t0, s0, 0), op(0, 4, t1, t0, s1), addi(s1, s1, -1),
                    bne(s1, zero, -20)});
  const double ips = measure(m, 600'000'000);
  std::printf("load/store loop: %.0f M instructions/s\n", ips / 1e6);
}

// Register-only arithmetic with a call and return per iteration: 8 instructions.
TEST(InterpreterBench, DISABLED_CallLoop) {
  TestMachine m;
  m.x(s1) = ~0ull >> 1;
  m.load(kRamBase, {jal(ra, 16), addi(s1, s1, -1), bne(s1, zero, -8), jal(zero, 0),
                    // function at +16
                    add(a0, a0, s1), slli(a1, a0, 3), xori(a1, a1, 0x55), sub(a0, a1, a0), jalr(zero, ra, 0)});
  const double ips = measure(m, 600'000'000);
  std::printf("call loop: %.0f M instructions/s\n", ips / 1e6);
}

}  // namespace
}  // namespace godwit::test
