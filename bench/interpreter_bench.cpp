// Interpreter inner-loop speed on small hand-made loops, in guest
// instructions per second (items_per_second). These isolate dispatch, the
// TLB fast path and block lookup from boot and device costs; bench/mips.py
// measures whole guests against QEMU.
#include <benchmark/benchmark.h>

#include "cpu/hart_test_util.hpp"

namespace godwit::testing {
namespace {

constexpr uint64_t kBatch = 10'000'000;

void run_batches(benchmark::State& state, TestMachine& m) {
  uint64_t total = 0;
  for (auto _ : state) {
    uint64_t retired = 0;
    while (retired < kBatch) retired += m.hart.step(kBatch - retired);
    total += retired;
  }
  state.SetItemsProcessed(static_cast<int64_t>(total));
}

// Register-only arithmetic: 6 instructions an iteration, never ends.
void BM_AluLoop(benchmark::State& state) {
  TestMachine m;
  m.load(kRamBase, {addi(a0, a0, 1), xori(a1, a0, 0x5a), add(a2, a2, a1), slli(a3, a2, 3), sub(a4, a3, a0),
                    jal(zero, -20)});
  run_batches(state, m);
}
BENCHMARK(BM_AluLoop)->Unit(benchmark::kMillisecond);

// ld/add/sd/xor/addi/bne over one word: 6 instructions an iteration.
void BM_LoadStoreLoop(benchmark::State& state) {
  TestMachine m;
  m.x(s0) = kRamBase + 0x10000;
  m.x(s1) = ~0ull >> 1;
  m.load(kRamBase, {ld(t0, s0, 0), add(t0, t0, s1), sd(t0, s0, 0), op(0, 4, t1, t0, s1), addi(s1, s1, -1),
                    bne(s1, zero, -20)});
  run_batches(state, m);
}
BENCHMARK(BM_LoadStoreLoop)->Unit(benchmark::kMillisecond);

// A call and return per iteration: 8 instructions, short blocks.
void BM_CallLoop(benchmark::State& state) {
  TestMachine m;
  m.x(s1) = ~0ull >> 1;
  m.load(kRamBase, {jal(ra, 16), addi(s1, s1, -1), bne(s1, zero, -8), jal(zero, 0),
                    add(a0, a0, s1), slli(a1, a0, 3), xori(a1, a1, 0x55), sub(a0, a1, a0), jalr(zero, ra, 0)});
  run_batches(state, m);
}
BENCHMARK(BM_CallLoop)->Unit(benchmark::kMillisecond);

// Binary64 arithmetic, dynamic rounding (RNE): fadd.d, fmul.d, fmadd.d and
// the jump back, 4 instructions an iteration. F and D are computed in
// integers (float_ops), so this measures those routines as much as dispatch.
void BM_FloatLoop(benchmark::State& state) {
  TestMachine m;
  m.state().mstatus |= 1ull << 13;  // FS Initial
  m.state().f[1] = 0x3ff0000000000000;  // 1.0
  m.state().f[2] = 0x3ff0000000000001;  // 1 + 2^-52: every result inexact
  m.load(kRamBase, {0x0220f0d3,  // fadd.d f1,f1,f2
                    0x1220f1d3,  // fmul.d f3,f1,f2
                    0x1a20f243,  // fmadd.d f4,f1,f2,f3
                    jal(zero, -12)});
  run_batches(state, m);
}
BENCHMARK(BM_FloatLoop)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace godwit::testing

BENCHMARK_MAIN();
