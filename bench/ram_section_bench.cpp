// RAM section throughput: pages per second through the saver into a sink
// that discards, and through the loader from memory, for all-data, all-zero
// and half-and-half RAM. The sink and source cost nothing, so these bound
// what the section code itself allows on one core.
#include <benchmark/benchmark.h>

#include <cstring>

#include "migration/guest_ram_test_util.hpp"
#include "migration/ram_section_loader.hpp"
#include "migration/ram_section_saver.hpp"

namespace godwit {
namespace {

constexpr uint64_t kPages = 16384;  // 64 MiB

class NullSink final : public ByteSink {
 public:
  Status write_all(std::span<const uint8_t> bytes) override {
    benchmark::DoNotOptimize(bytes.data());
    return {};
  }
};

// Every `data_every`-th page holds data; 0 means none does.
std::vector<uint8_t> make_ram(uint64_t data_every) {
  std::vector<uint8_t> ram(kPages * kRamPageSize, 0);
  for (uint64_t page = 0; data_every != 0 && page < kPages; page += data_every) {
    std::memset(ram.data() + page * kRamPageSize, static_cast<int>(page | 1), kRamPageSize);
  }
  return ram;
}

void BM_SaveAllPages(benchmark::State& state) {
  auto ram = make_ram(static_cast<uint64_t>(state.range(0)));
  NullSink sink;
  StreamWriter out(sink);
  RamSaver saver(out, {{"riscv_virt_board.ram", ram.data(), ram.size(), 0x80000000, false}});
  for (auto _ : state) {
    saver.write_all_pages(saver.blocks()[0]);
    saver.end_chunk();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kPages));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kPages * kRamPageSize));
}
BENCHMARK(BM_SaveAllPages)->Arg(1)->Arg(2)->Arg(0)->Unit(benchmark::kMillisecond);

// One dirty page in 8, sent from the bitmap.
void BM_SaveDirtyPages(benchmark::State& state) {
  auto ram = make_ram(1);
  NullSink sink;
  StreamWriter out(sink);
  RamSaver saver(out, {{"riscv_virt_board.ram", ram.data(), ram.size(), 0x80000000, false}});
  std::vector<uint64_t> dirty(kPages / 64);
  for (auto _ : state) {
    std::fill(dirty.begin(), dirty.end(), 0x0101010101010101);
    saver.write_pages(saver.blocks()[0], dirty, SIZE_MAX);
    saver.end_chunk();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kPages / 8));
}
BENCHMARK(BM_SaveDirtyPages)->Unit(benchmark::kMillisecond);

void BM_LoadAllPages(benchmark::State& state) {
  auto ram = make_ram(static_cast<uint64_t>(state.range(0)));
  MemorySink sink;
  {
    StreamWriter out(sink);
    RamSaver saver(out, {{"riscv_virt_board.ram", ram.data(), ram.size(), 0x80000000, false}});
    saver.write_all_pages(saver.blocks()[0]);
    saver.end_chunk();
    if (!out.flush()) state.SkipWithError("save failed");
  }
  std::vector<uint8_t> ram_in(ram.size());
  TestGuestRam guest_ram;
  RamBlockView view_in{"riscv_virt_board.ram", ram_in.data(), ram_in.size(), 0x80000000, false};
  view_in.memory = guest_ram.map(ram_in, 0x80000000);
  for (auto _ : state) {
    MemorySource source(sink.data());
    StreamReader in(source);
    RamLoader loader(in, {view_in});
    if (!loader.load_chunk()) state.SkipWithError("load failed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kPages));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kPages * kRamPageSize));
}
BENCHMARK(BM_LoadAllPages)->Arg(1)->Arg(2)->Arg(0)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace godwit

BENCHMARK_MAIN();
