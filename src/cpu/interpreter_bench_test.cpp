// Interpreter speed, in guest instructions per second. Disabled by default;
// run with: cpu_tests --gtest_also_run_disabled_tests --gtest_filter='*Bench*'
// The loops match bench programs that can be run under qemu-system-riscv64
// for a ratio (same instructions, same iteration count).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>

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

// The SiFive test device's "pass" write at 0x100000 ends a bare-metal run,
// as it powers off qemu-system-riscv64 -M virt.
class Finisher : public MmioDevice {
 public:
  std::string_view name() const override { return "finisher"; }
  uint64_t read(uint64_t, unsigned) override { return 0; }
  void write(uint64_t, unsigned, uint64_t value) override { finished = (value & 0xffff) == 0x5555; }
  bool finished = false;
};

// A flat binary linked at 0x80000000 (GODWIT_BENCH_BINARY), run until it
// writes 0x5555 to 0x100000; the same ELF can be timed under QEMU with
// -M virt -bios none -kernel.
TEST(InterpreterBench, DISABLED_BareMetalBinary) {
  const char* path = std::getenv("GODWIT_BENCH_BINARY");
  if (path == nullptr) GTEST_SKIP() << "set GODWIT_BENCH_BINARY";
  std::ifstream file(path, std::ios::binary);
  ASSERT_TRUE(file.good()) << path;
  const std::vector<char> image{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  TestMachine m;
  ASSERT_LE(image.size(), m.ram.size());
  std::memcpy(m.ram.data(), image.data(), image.size());
  Finisher finisher;
  ASSERT_TRUE(m.memory.map_mmio(0x100000, 0x1000, finisher).has_value());
  const auto start = std::chrono::steady_clock::now();
  uint64_t retired = 0;
  while (!finisher.finished) retired += m.hart.step(1'000'000);
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  std::printf("%s: %llu instructions in %.3f s: %.0f M instructions/s\n", path,
              static_cast<unsigned long long>(retired), elapsed.count(), retired / elapsed.count() / 1e6);
}

}  // namespace
}  // namespace godwit::test
