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

}  // namespace
}  // namespace godwit::testing

BENCHMARK_MAIN();
