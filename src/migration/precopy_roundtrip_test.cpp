// The precopy sender and the incoming loader end to end, in one process: a
// fake machine's RAM and device state go through a stream in memory into a
// second fake machine. Guest writes are injected where a running guest could
// make them (between syncs, just before it stops, from another thread), and
// every test checks what arrived byte for byte, so a page the sender forgot
// shows up as a difference, not as a count.
//
// Parameters are chosen so that the sender's path does not depend on timing:
// avail-switchover-bandwidth fixes the rate that decides the switchover, so
// a slow or busy machine changes how long a test takes, never what it sees.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "migration/guest_ram_test_util.hpp"
#include "migration/incoming_loader.hpp"
#include "migration/precopy_sender.hpp"
#include "migration/ram_section_loader.hpp"
#include "migration/savevm_format.hpp"

namespace godwit {
namespace {

constexpr uint64_t kPage = kRamPageSize;
constexpr std::string_view kMachine = "godwit-test";

struct BlockSpec {
  std::string id;
  uint64_t pages;
  uint64_t guest_address;
  bool shared;
};

struct DeviceSpec {
  std::string idstr;
  uint32_t instance_id;
  uint32_t version_id;
  size_t state_bytes;
};

// Page-sized content that is never all zero and differs with `seed`.
std::vector<uint8_t> page_pattern(uint32_t seed) {
  std::vector<uint8_t> page(kPage);
  uint32_t x = seed * 2654435761u + 0x9e3779b9u;
  for (uint8_t& byte : page) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    byte = static_cast<uint8_t>(x);
  }
  page[0] |= 1;
  return page;
}

// A machine as the migration code sees it: RAM blocks in vectors, logged as
// one range of RAM offsets by a real DirtyLog, devices whose state is a few
// raw bytes. Hooks stand in for the guest at the points where the sender
// hands control to the machine.
class FakeVm final : public MigratableVm {
 public:
  FakeVm(const std::vector<BlockSpec>& blocks, const std::vector<DeviceSpec>& devices) : specs_(blocks) {
    uint64_t offset = 0;
    for (const BlockSpec& spec : blocks) {
      ram_.emplace_back(spec.pages * kPage, uint8_t{0});
      ram_offsets_.push_back(offset);
      offset += spec.pages * kPage;
    }
    for (size_t i = 0; i < ram_.size(); ++i) ram_memory_.push_back(guest_ram_.map(ram_[i], specs_[i].guest_address));
    log_ = std::make_unique<DirtyLog>(offset);
    for (const DeviceSpec& spec : devices) devices_.push_back({spec, std::vector<uint8_t>(spec.state_bytes, 0), {}});
  }

  // Called at the start of the dirty log (after the stream's setup).
  std::function<void()> on_start_dirty_log;
  // Called each time the sender asks for the log, which it does once per
  // sync, just before taking it: writes made here land in that sync.
  std::function<void(int call)> on_dirty_log;
  // Called as the guest stops: its last writes, seen only by the final sync.
  std::function<void()> on_stop;
  Status stop_result;  // what stop_for_switchover() answers

  int stop_calls = 0;
  int dirty_log_calls = 0;
  bool dirty_log_started = false;
  std::vector<bool> finish_outgoing_calls;
  std::vector<std::string> finish_incoming_calls;
  std::vector<uint64_t> passes;

  std::string_view machine_type() const override { return kMachine; }

  std::vector<RamBlockView> ram_blocks() override {
    std::vector<RamBlockView> views;
    for (size_t i = 0; i < ram_.size(); ++i) {
      views.push_back({specs_[i].id, ram_[i].data(), ram_[i].size(), specs_[i].guest_address, specs_[i].shared});
      views.back().memory = ram_memory_[i];
    }
    return views;
  }

  Status start_dirty_log() override {
    log_->clear();
    logging_ = true;
    dirty_log_started = true;
    if (on_start_dirty_log) on_start_dirty_log();
    return {};
  }
  void stop_dirty_log() override { logging_ = false; }
  DirtyLog& dirty_log() override {
    ++dirty_log_calls;
    if (on_dirty_log) on_dirty_log(dirty_log_calls);
    return *log_;
  }

  std::vector<DeviceSection> device_sections() override {
    std::vector<DeviceSection> sections;
    for (Device& device : devices_) {
      Device* d = &device;
      sections.push_back({d->spec.idstr, d->spec.instance_id, d->spec.version_id,
                          [d](StreamWriter& out) { out.put_buffer(d->state); },
                          [d](StreamReader& in, uint32_t version) -> Status {
                            // As a real device: state changes only once it all arrived.
                            std::vector<uint8_t> incoming(d->state.size());
                            in.get_buffer(incoming);
                            if (auto status = in.status(); !status) return status;
                            d->state = std::move(incoming);
                            d->loaded_versions.push_back(version);
                            return {};
                          },
                          [d] {
                            return nlohmann::json{{"bytes", d->state.size()}};
                          }});
    }
    return sections;
  }

  Status stop_for_switchover() override {
    ++stop_calls;
    if (on_stop) on_stop();
    return stop_result;
  }
  void finish_outgoing(bool success) override { finish_outgoing_calls.push_back(success); }
  void finish_incoming(const Status& result) override {
    finish_incoming_calls.push_back(result ? "" : result.error().message());
  }
  void emit_migration_status(MigrationStatus) override {}
  void emit_migration_pass(uint64_t pass) override { passes.push_back(pass); }

  // A guest store: memory first, then the mark, as every write path does.
  void guest_write(size_t block, uint64_t offset, std::span<const uint8_t> bytes) {
    std::memcpy(ram_[block].data() + offset, bytes.data(), bytes.size());
    if (logging_) log_->mark(ram_offsets_[block] + offset, bytes.size());
  }
  void fill_page(size_t block, uint64_t page, uint32_t seed) { guest_write(block, page * kPage, page_pattern(seed)); }
  void zero_page(size_t block, uint64_t page) { guest_write(block, page * kPage, std::vector<uint8_t>(kPage, 0)); }
  void poke(size_t block, uint64_t offset, uint8_t value) { guest_write(block, offset, {&value, 1}); }

  // Fills all RAM and device state with `value`, without logging: a
  // destination's memory before the stream arrives.
  void scribble(uint8_t value) {
    for (auto& block : ram_) std::fill(block.begin(), block.end(), value);
    for (auto& device : devices_) std::fill(device.state.begin(), device.state.end(), value);
  }

  const std::vector<BlockSpec>& block_specs() const { return specs_; }
  std::vector<uint8_t>& ram(size_t block) { return ram_[block]; }
  std::vector<uint8_t>& state(size_t device) { return devices_[device].state; }
  const std::vector<uint32_t>& loaded_versions(size_t device) const { return devices_[device].loaded_versions; }

 private:
  struct Device {
    DeviceSpec spec;
    std::vector<uint8_t> state;
    std::vector<uint32_t> loaded_versions;
  };

  std::vector<BlockSpec> specs_;
  std::vector<std::vector<uint8_t>> ram_;
  TestGuestRam guest_ram_;
  std::vector<GuestMemory*> ram_memory_;  // ram_[i] as guest RAM
  std::vector<uint64_t> ram_offsets_;
  std::unique_ptr<DirtyLog> log_;
  std::atomic<bool> logging_ = false;
  std::vector<Device> devices_;
};

// Two blocks (each a whole number of 256 KiB, as the log's words need) and
// two devices, one with a version above 1.
std::vector<BlockSpec> two_blocks() { return {{"ram0", 512, 0x80000000, false}, {"ram1", 256, 0x100000000, false}}; }
std::vector<DeviceSpec> two_devices() { return {{"serial", 0, 3, 16}, {"timer", 1, 1, 5}}; }
constexpr uint64_t kTwoBlocksPages = 512 + 256;

// Data pages here and there, the rest zero; `kDataPages` of them.
constexpr uint64_t kDataPages = 17;
void populate(FakeVm& vm) {
  for (uint64_t page : {0, 1, 7, 100, 511}) vm.fill_page(0, page, static_cast<uint32_t>(page));
  // Zero but for one byte at either end: data pages, not zero pages.
  vm.poke(0, 2 * kPage + kPage - 1, 0x80);
  vm.poke(0, 3 * kPage, 0x01);
  for (uint64_t page = 1; page < 10; ++page) vm.fill_page(1, page, static_cast<uint32_t>(1000 + page));
  vm.fill_page(1, 255, 2000);
  vm.state(0) = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  vm.state(1) = {0xde, 0xad, 0xbe, 0xef, 0x42};
}

MigrationParameters parameters(uint64_t downtime_limit_ms, uint64_t avail_switchover_bandwidth,
                               uint64_t max_bandwidth = MigrationParameters{}.max_bandwidth) {
  MigrationParameters p;
  p.downtime_limit_ms = downtime_limit_ms;
  p.avail_switchover_bandwidth = avail_switchover_bandwidth;
  p.max_bandwidth = max_bandwidth;
  return p;
}

// A switchover threshold below one page whatever the link does (1 byte/s
// for 300 ms): the sender switches over only once nothing is dirty.
MigrationParameters only_when_clean() { return parameters(300, 1); }
// A threshold above any RAM here: the sender switches over at its first look.
MigrationParameters at_once() { return parameters(MigrationParameters::kMaxDowntimeLimitMs, 1ull << 30); }

struct Outcome {
  Status status;
  std::vector<uint8_t> stream;
  bool switched_over;
  MigrationProgress progress;
  std::vector<MigrationStatus> statuses;
};

Outcome send_with(FakeVm& vm, std::function<MigrationParameters()> parameters, MigrationCapabilities capabilities = {},
                  CancelToken* cancel = nullptr, ByteSink* sink = nullptr) {
  MemorySink memory;
  CancelToken never;
  StreamWriter out(sink != nullptr ? *sink : memory, 64 * 1024);  // small: many flushes
  ProgressBoard progress;
  std::vector<MigrationStatus> statuses;
  PrecopyOptions options{std::move(parameters), capabilities,
                         [&statuses](MigrationStatus status) { statuses.push_back(status); }};
  PrecopySender sender(vm, out, std::move(options), progress, cancel != nullptr ? *cancel : never);
  Status status = sender.run(PrecopySender::Clock::now());
  return {std::move(status), memory.data(), sender.switched_over(), progress.snapshot(), std::move(statuses)};
}

Outcome send(FakeVm& vm, MigrationParameters fixed = {}, MigrationCapabilities capabilities = {}) {
  return send_with(
      vm, [fixed] { return fixed; }, capabilities);
}

Status receive(const std::vector<uint8_t>& stream, FakeVm& vm, MigrationCapabilities capabilities = {}) {
  MemorySource source(stream);
  StreamReader in(source, 64 * 1024);
  return load_migration_stream(in, vm, capabilities);
}

// "" when both machines hold the same RAM, else the first page that differs
// (never two megabytes of bytes in a failure message).
std::string ram_difference(FakeVm& a, FakeVm& b) {
  for (size_t block = 0; block < a.block_specs().size(); ++block) {
    const std::vector<uint8_t>& x = a.ram(block);
    const std::vector<uint8_t>& y = b.ram(block);
    if (x.size() != y.size()) return "block '" + a.block_specs()[block].id + "' sizes differ";
    for (size_t offset = 0; offset < x.size(); offset += kPage) {
      if (std::memcmp(x.data() + offset, y.data() + offset, kPage) != 0) {
        return "block '" + a.block_specs()[block].id + "' page " + std::to_string(offset / kPage);
      }
    }
  }
  return "";
}

// One RAM chunk of a stream: its section type and the records it carried.
struct RamChunk {
  savevm::SectionType type;
  uint64_t pages;
  uint64_t zero_pages;
  bool operator==(const RamChunk&) const = default;
};

void PrintTo(const RamChunk& chunk, std::ostream* os) {
  *os << savevm::section_type_name(chunk.type) << "{" << chunk.pages << " pages, " << chunk.zero_pages << " zero}";
}

// The RAM chunks of a sent stream in order, read with the real RAM loader
// into a scratch machine laid out like `layout`, up to the first device.
std::vector<RamChunk> ram_chunks(const std::vector<uint8_t>& stream, FakeVm& layout, bool ignore_shared = false) {
  FakeVm scratch(layout.block_specs(), {});
  MemorySource source(stream);
  StreamReader in(source);
  savevm::Reader reader(in);
  std::vector<RamChunk> chunks;
  const std::vector<std::string> capabilities =
      ignore_shared ? std::vector<std::string>{"x-ignore-shared"} : std::vector<std::string>{};
  if (auto status = reader.read_header(kMachine, capabilities); !status) {
    ADD_FAILURE() << status.error().message();
    return chunks;
  }
  RamLoader loader(in, scratch.ram_blocks(), RamSectionOptions{ignore_shared});
  for (;;) {
    auto header = reader.read_section_header();
    if (!header) {
      ADD_FAILURE() << header.error().message();
      break;
    }
    if (header->type != savevm::kSectionStart && header->type != savevm::kSectionPart &&
        header->type != savevm::kSectionEnd) {
      break;
    }
    const RamLoadStats before = loader.stats();
    if (auto status = loader.load_chunk(); !status) {
      ADD_FAILURE() << status.error().message();
      break;
    }
    chunks.push_back({header->type, loader.stats().normal_pages - before.normal_pages,
                      loader.stats().zero_pages - before.zero_pages});
    if (auto status = reader.read_footer(*header); !status) {
      ADD_FAILURE() << status.error().message();
      break;
    }
  }
  return chunks;
}

RamChunk ram_start() { return {savevm::kSectionStart, 0, 0}; }
RamChunk ram_part(uint64_t pages, uint64_t zero_pages) { return {savevm::kSectionPart, pages, zero_pages}; }
RamChunk ram_end(uint64_t pages, uint64_t zero_pages) { return {savevm::kSectionEnd, pages, zero_pages}; }

TEST(PrecopyRoundTrip, AQuietGuestArrivesByteForByte) {
  FakeVm source(two_blocks(), two_devices());
  populate(source);
  const Outcome out = send(source);
  ASSERT_TRUE(out.status) << out.status.error().message();
  EXPECT_TRUE(out.switched_over);
  EXPECT_EQ(source.stop_calls, 1);
  // Finishing (postmigrate, closing the channel) is the caller's, not the sender's.
  EXPECT_TRUE(source.finish_outgoing_calls.empty());
  EXPECT_EQ(out.statuses, (std::vector<MigrationStatus>{MigrationStatus::kActive, MigrationStatus::kDevice}));

  // One pass carries everything (zero pages as ZERO records); the sync that
  // finds nothing dirty switches over, and the final sync finds nothing either.
  EXPECT_EQ(ram_chunks(out.stream, source),
            (std::vector<RamChunk>{ram_start(), ram_part(kDataPages, kTwoBlocksPages - kDataPages), ram_end(0, 0)}));
  EXPECT_EQ(source.passes, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(out.progress.dirty_sync_count, 3u);
  EXPECT_EQ(out.progress.ram.normal_pages, kDataPages);
  EXPECT_EQ(out.progress.ram.duplicate_pages, kTwoBlocksPages - kDataPages);
  EXPECT_EQ(out.progress.ram.total_bytes, kTwoBlocksPages * kPage);
  EXPECT_EQ(out.progress.remaining_bytes, 0u);

  // The destination starts with garbage everywhere, so every zero page has
  // to be cleared by its ZERO record, and every device overwritten.
  FakeVm destination(two_blocks(), two_devices());
  destination.scribble(0xcc);
  auto loaded = receive(out.stream, destination);
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(ram_difference(source, destination), "");
  EXPECT_EQ(destination.state(0), source.state(0));
  EXPECT_EQ(destination.state(1), source.state(1));
  EXPECT_EQ(destination.loaded_versions(0), std::vector<uint32_t>{3});
  EXPECT_EQ(destination.loaded_versions(1), std::vector<uint32_t>{1});
  // Loading touches neither the destination's life cycle nor its log.
  EXPECT_EQ(destination.stop_calls, 0);
  EXPECT_EQ(destination.dirty_log_calls, 0);
  EXPECT_TRUE(destination.finish_incoming_calls.empty());
}

TEST(PrecopyRoundTrip, PagesDirtiedWhileSendingArriveWithTheirLatestContent) {
  FakeVm source(two_blocks(), two_devices());
  populate(source);
  source.on_dirty_log = [&](int call) {
    if (call == 1) {
      // After the first pass: a zero page gains data, a data page changes.
      source.fill_page(0, 5, 50);
      source.fill_page(1, 1, 51);
    } else if (call == 2) {
      // The same page again, and one store across a page boundary (pages
      // 20 and 21 of ram0, both zero until now).
      source.fill_page(0, 5, 52);
      const uint8_t bytes[] = {1, 2, 3, 4};
      source.guest_write(0, 21 * kPage - 2, bytes);
    }
  };
  source.on_stop = [&] {
    // The last stores before the guest stops: only the END section can
    // carry them. A data page becomes zero, a zero page gains data, and a
    // page already sent three times changes once more.
    source.zero_page(0, 100);
    source.fill_page(0, 200, 53);
    source.fill_page(0, 5, 54);
  };
  const Outcome out = send(source, only_when_clean());
  ASSERT_TRUE(out.status) << out.status.error().message();

  EXPECT_EQ(ram_chunks(out.stream, source),
            (std::vector<RamChunk>{ram_start(), ram_part(kDataPages, kTwoBlocksPages - kDataPages), ram_part(2, 0),
                                   ram_part(3, 0), ram_end(2, 1)}));
  // Setup, three syncs while running (the last one clean), one after the stop.
  EXPECT_EQ(source.passes, (std::vector<uint64_t>{1, 2, 3, 4, 5}));

  FakeVm destination(two_blocks(), two_devices());
  destination.scribble(0xcc);
  auto loaded = receive(out.stream, destination);
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(ram_difference(source, destination), "");
  EXPECT_EQ(destination.ram(0)[100 * kPage], 0);  // the page zeroed last is zero, not its first-pass data
  EXPECT_EQ(destination.state(0), source.state(0));
  EXPECT_EQ(destination.state(1), source.state(1));
}

TEST(PrecopyRoundTrip, AGuestWritingOnAnotherThreadArrivesAsItWasWhenItStopped) {
  // A guest hart storing into RAM while the migration thread sends it, as
  // in a live migration: only the dirty log tells the sender what changed.
  // The writer stops (and is joined) when the guest stops, so what the
  // destination must hold is exactly the source's RAM after the run.
  FakeVm source(two_blocks(), two_devices());
  populate(source);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> writes{0};
  std::thread guest;
  source.on_start_dirty_log = [&] {
    guest = std::thread([&] {
      for (uint64_t n = 1; !stop.load(std::memory_order_relaxed); ++n) {
        // 48 pages over both blocks, the counter at a moving offset.
        const size_t block = n % 3 == 0 ? 1 : 0;
        const uint64_t page = (n * 7) % 48 + (block == 0 ? 300 : 100);
        const uint64_t offset = page * kPage + (n % (kPage / 8)) * 8;
        uint8_t bytes[8];
        std::memcpy(bytes, &n, sizeof n);
        source.guest_write(block, offset, bytes);
        writes.fetch_add(1, std::memory_order_relaxed);
      }
    });
  };
  source.on_stop = [&] {
    stop = true;
    guest.join();
  };
  // Each sync while running waits for some new writes, so every pass has
  // something to send whatever the scheduler does.
  source.on_dirty_log = [&](int) {
    if (stop) return;
    const uint64_t seen = writes.load();
    while (writes.load() < seen + 16) std::this_thread::yield();
  };
  // Held in precopy for several passes, then switched over at once.
  int reads = 0;
  const Outcome out = send_with(source, [&] { return ++reads <= 8 ? only_when_clean() : at_once(); });
  if (guest.joinable()) {  // the sender failed before stopping the guest
    stop = true;
    guest.join();
  }
  ASSERT_TRUE(out.status) << out.status.error().message();
  EXPECT_GT(writes.load(), 16u * 6);
  EXPECT_GE(source.passes.size(), 8u);

  FakeVm destination(two_blocks(), two_devices());
  destination.scribble(0xcc);
  auto loaded = receive(out.stream, destination);
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(ram_difference(source, destination), "");
}

TEST(PrecopyRoundTrip, AHugeDowntimeLimitAtAKnownBandwidthSwitchesOverBeforeAnyIteration) {
  // avail-switchover-bandwidth 1 GiB/s for downtime-limit 2000 s: all RAM
  // fits, so the first convergence check stops the guest and the END
  // section carries every page; no PART is sent. The guest dirties a page
  // at that check, which changes nothing.
  FakeVm source(two_blocks(), two_devices());
  populate(source);
  source.on_dirty_log = [&](int call) {
    if (source.stop_calls == 0) source.fill_page(0, 300 + static_cast<uint64_t>(call), 60);
  };
  const Outcome out = send(source, at_once());
  ASSERT_TRUE(out.status) << out.status.error().message();
  EXPECT_TRUE(out.switched_over);
  EXPECT_EQ(ram_chunks(out.stream, source),
            (std::vector<RamChunk>{ram_start(), ram_end(kDataPages + 1, kTwoBlocksPages - kDataPages - 1)}));
  // Only the block list went while the guest ran; every page with it stopped.
  EXPECT_LT(out.progress.ram.precopy_bytes, 100u);
  EXPECT_GT(out.progress.ram.downtime_bytes, (kDataPages + 1) * kPage);

  FakeVm destination(two_blocks(), two_devices());
  destination.scribble(0xcc);
  auto loaded = receive(out.stream, destination);
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(ram_difference(source, destination), "");
}

TEST(PrecopyRoundTrip, ADowntimeLimitTooShortForTheRamSendsItWhileTheGuestRuns) {
  // The same 1 GiB/s with a 1 ms downtime limit allows about 1 MB: the
  // 3 MiB of RAM go as a PART first, and only what is left (nothing) at
  // the switchover.
  FakeVm source(two_blocks(), two_devices());
  populate(source);
  const Outcome out = send(source, parameters(1, 1ull << 30));
  ASSERT_TRUE(out.status) << out.status.error().message();
  EXPECT_EQ(ram_chunks(out.stream, source),
            (std::vector<RamChunk>{ram_start(), ram_part(kDataPages, kTwoBlocksPages - kDataPages), ram_end(0, 0)}));
}

TEST(PrecopyRoundTrip, ParametersChangedDuringTheMigrationApplyAtTheNextWindow) {
  // A guest dirtying a page at every sync never converges below one page,
  // so with avail-switchover-bandwidth at 1 byte/s it stays in precopy.
  // Then the limit goes to 2000 s at the measured rate: once a 100 ms
  // window has been measured, the rest fits and the guest is stopped.
  FakeVm source({{"ram0", 64, 0x80000000, false}}, two_devices());
  source.fill_page(0, 0, 1);
  source.on_dirty_log = [&](int call) {
    if (source.stop_calls == 0) source.fill_page(0, 10 + static_cast<uint64_t>(call) % 20, static_cast<uint32_t>(call));
  };
  int reads = 0;
  int reads_at_stop = 0;
  source.on_stop = [&] { reads_at_stop = reads; };
  // 4 MiB/s keeps the busy loop to about 400 KiB per window.
  const MigrationParameters hold = parameters(300, 1, 4u << 20);
  const MigrationParameters measured = parameters(MigrationParameters::kMaxDowntimeLimitMs, 0, 4u << 20);
  const Outcome out = send_with(source, [&] { return ++reads <= 10 ? hold : measured; });
  ASSERT_TRUE(out.status) << out.status.error().message();
  EXPECT_GT(reads_at_stop, 10);
  const auto chunks = ram_chunks(out.stream, source);
  ASSERT_GE(chunks.size(), 4u);
  EXPECT_EQ(chunks.front(), ram_start());
  EXPECT_EQ(chunks[1], ram_part(1, 63));
  // With the guest stopped go the page dirtied at the sync that found the
  // rest fits, and the one still pending if that check came right after a
  // wait for the bandwidth window (which one depends on timing).
  EXPECT_EQ(chunks.back().type, savevm::kSectionEnd);
  EXPECT_GE(chunks.back().pages, 1u);
  EXPECT_LE(chunks.back().pages, 2u);
  EXPECT_EQ(chunks.back().zero_pages, 0u);
  for (size_t i = 2; i + 1 < chunks.size(); ++i) EXPECT_EQ(chunks[i], ram_part(1, 0)) << "chunk " << i;

  FakeVm destination({{"ram0", 64, 0x80000000, false}}, two_devices());
  destination.scribble(0xcc);
  auto loaded = receive(out.stream, destination);
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(ram_difference(source, destination), "");
}

TEST(PrecopyRoundTrip, MaxBandwidthSplitsTheFirstPassIntoWindowSizedChunks) {
  // 1 MiB/s allows 104 857 bytes per 100 ms window: 25 page records. The 64
  // data pages take three windows (about 0.2 s), no chunk above one window's
  // worth (a chunk may overshoot by one page, never by more).
  FakeVm source({{"ram0", 64, 0x80000000, false}}, two_devices());
  for (uint64_t page = 0; page < 64; ++page) source.fill_page(0, page, static_cast<uint32_t>(page));
  const Outcome out = send(source, parameters(300, 1, 1u << 20));
  ASSERT_TRUE(out.status) << out.status.error().message();
  const auto chunks = ram_chunks(out.stream, source);
  uint64_t pages = 0;
  size_t parts = 0;
  for (const RamChunk& chunk : chunks) {
    if (chunk.type != savevm::kSectionPart) continue;
    ++parts;
    pages += chunk.pages;
    EXPECT_LE(chunk.pages, 26u);
  }
  EXPECT_GE(parts, 3u);
  EXPECT_EQ(pages, 64u);

  FakeVm destination({{"ram0", 64, 0x80000000, false}}, two_devices());
  auto loaded = receive(out.stream, destination);
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(ram_difference(source, destination), "");
}

// A max-bandwidth below 10 bytes/s (accepted, as QEMU accepts it) still
// moves a page per window instead of spinning without sending: about 0.2 s,
// a page in the first window, then a wait.
TEST(PrecopyRoundTrip, ATinyMaxBandwidthStillSendsAPagePerWindow) {
  FakeVm source({{"ram0", 64, 0x80000000, false}}, {});
  for (uint64_t page = 0; page < 64; ++page) source.fill_page(0, page, static_cast<uint32_t>(page));
  CancelToken cancel;
  int reads = 0;
  // Cancelled at the third read of the parameters (the constructor's is the first).
  const Outcome out = send_with(
      source,
      [&] {
        if (++reads >= 3) cancel.cancel();
        return parameters(300, 1, 5);
      },
      {}, &cancel);
  ASSERT_FALSE(out.status);
  EXPECT_EQ(out.status.error().message(), "cancelled");
  EXPECT_GE(out.progress.ram.normal_pages, 1u);
}

TEST(PrecopyRoundTrip, WithoutASwitchoverBandwidthThePassInProgressEndsWhileTheGuestRuns) {
  // A downtime limit everything fits in, but no avail-switchover-bandwidth:
  // once a 100 ms window has measured the link (max-bandwidth keeps the
  // first pass going for a few windows), QEMU would stop the guest in the
  // middle of the pass and send its rest in the downtime. godwit sends the
  // rest first, at the same rate, with the guest running; the END section
  // carries only what was dirtied since (nothing here).
  FakeVm source(two_blocks(), two_devices());
  populate(source);
  const uint64_t eight_pages_a_window = 8 * kPage * 10;  // bytes/s
  const Outcome out = send(source, parameters(MigrationParameters::kMaxDowntimeLimitMs, 0, eight_pages_a_window));
  ASSERT_TRUE(out.status) << out.status.error().message();
  const std::vector<RamChunk> chunks = ram_chunks(out.stream, source);
  ASSERT_GE(chunks.size(), 4u);  // START, PARTs, END
  EXPECT_EQ(chunks.back(), ram_end(0, 0));
  uint64_t data_pages = 0;
  for (const RamChunk& chunk : chunks) data_pages += chunk.pages;
  EXPECT_EQ(data_pages, kDataPages);
  EXPECT_LT(out.progress.ram.downtime_bytes, kPage);
}

TEST(PrecopyRoundTrip, XIgnoreSharedListsASharedBlockButSendsNoneOfItsPages) {
  const std::vector<BlockSpec> blocks = {{"ram0", 64, 0x80000000, false}, {"shm", 64, 0x90000000, true}};
  FakeVm source(blocks, two_devices());
  source.fill_page(0, 3, 1);
  source.fill_page(1, 4, 2);
  // Dirtied while running and while stopping: still never sent.
  source.on_dirty_log = [&](int call) {
    if (call == 1) source.fill_page(1, 5, 3);
  };
  source.on_stop = [&] { source.fill_page(1, 6, 4); };
  MigrationCapabilities capabilities;
  capabilities.set(MigrationCapability::kXIgnoreShared, true);
  // Switched over at once.
  const Outcome out = send(source, at_once(), capabilities);
  ASSERT_TRUE(out.status) << out.status.error().message();
  EXPECT_EQ(out.progress.ram.total_bytes, 64 * kPage);
  EXPECT_EQ(ram_chunks(out.stream, source, true), (std::vector<RamChunk>{ram_start(), ram_end(1, 63)}));

  // The destination maps the same shared memory; here it has its own copy,
  // which must stay as it was.
  FakeVm destination(blocks, two_devices());
  destination.scribble(0xcc);
  auto loaded = receive(out.stream, destination, capabilities);
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(destination.ram(0), source.ram(0));
  EXPECT_EQ(destination.ram(1), std::vector<uint8_t>(64 * kPage, 0xcc));
}

// Under x-ignore-shared a shared block's pages never count as still to
// send, so the migration converges once the private RAM is sent even when
// the threshold is under one page (the usual set-up: all guest RAM shared).
// The parameters cancel the run after 200 reads should it not converge.
TEST(PrecopyRoundTrip, XIgnoreSharedConvergesOnceThePrivateRamIsSent) {
  const std::vector<BlockSpec> blocks = {{"ram0", 64, 0x80000000, false}, {"shm", 64, 0x90000000, true}};
  FakeVm source(blocks, two_devices());
  source.fill_page(0, 3, 1);
  MigrationCapabilities capabilities;
  capabilities.set(MigrationCapability::kXIgnoreShared, true);
  CancelToken cancel;
  int reads = 0;
  const Outcome out = send_with(
      source,
      [&] {
        if (++reads > 200) cancel.cancel();
        return only_when_clean();
      },
      capabilities, &cancel);
  ASSERT_TRUE(out.status) << out.status.error().message() << " after " << reads << " reads of the parameters";
  EXPECT_EQ(ram_chunks(out.stream, source, true), (std::vector<RamChunk>{ram_start(), ram_part(1, 63), ram_end(0, 0)}));
}

TEST(PrecopyRoundTrip, ABlockNotStartingOnA256KiBBoundaryIsRefusedBeforeAnythingIsSent) {
  // One log word covers 64 pages; a block must start on a word.
  FakeVm source({{"rom", 3, 0x1000, false}, {"ram0", 64, 0x80000000, false}}, {});
  const Outcome out = send(source);
  ASSERT_FALSE(out.status);
  EXPECT_EQ(out.status.error().message(), "RAM block 'ram0' does not start on a 256 KiB boundary");
  EXPECT_TRUE(out.stream.empty());
  EXPECT_FALSE(source.dirty_log_started);
  EXPECT_EQ(source.stop_calls, 0);
}

TEST(PrecopyRoundTrip, ACancelBeforeTheStartFailsWithoutStoppingTheGuest) {
  FakeVm source(two_blocks(), two_devices());
  populate(source);
  CancelToken cancel;
  cancel.cancel();
  const Outcome out = send_with(
      source, [] { return MigrationParameters{}; }, {}, &cancel);
  ASSERT_FALSE(out.status);
  EXPECT_EQ(out.status.error().message(), "cancelled");
  EXPECT_FALSE(out.switched_over);
  EXPECT_EQ(source.stop_calls, 0);
  EXPECT_TRUE(out.statuses.empty());  // never active
  EXPECT_TRUE(source.finish_outgoing_calls.empty());
}

TEST(PrecopyRoundTrip, ACancelWhileIteratingFailsWithoutStoppingTheGuest) {
  // A guest that never converges, cancelled from inside its third sync (as
  // migrate_cancel from a monitor thread would, at any time).
  FakeVm source(two_blocks(), two_devices());
  populate(source);
  CancelToken cancel;
  source.on_dirty_log = [&](int call) {
    source.fill_page(0, 400, static_cast<uint32_t>(call));
    if (call == 3) cancel.cancel();
  };
  const Outcome out = send_with(
      source, [] { return only_when_clean(); }, {}, &cancel);
  ASSERT_FALSE(out.status);
  EXPECT_EQ(out.status.error().message(), "cancelled");
  EXPECT_FALSE(out.switched_over);
  EXPECT_EQ(source.stop_calls, 0);
  EXPECT_EQ(source.dirty_log_calls, 3);
  EXPECT_EQ(out.statuses, std::vector<MigrationStatus>{MigrationStatus::kActive});
}

TEST(PrecopyRoundTrip, AFailingStopFailsTheMigrationWithItsMessage) {
  FakeVm source(two_blocks(), two_devices());
  source.stop_result = fail("the machine is shutting down");
  const Outcome out = send(source);
  ASSERT_FALSE(out.status);
  EXPECT_EQ(out.status.error().message(), "the machine is shutting down");
  EXPECT_FALSE(out.switched_over);
  EXPECT_EQ(out.statuses, std::vector<MigrationStatus>{MigrationStatus::kActive});
}

// Accepts `limit` bytes in all, then fails every write as a reset socket does.
class FailingSink final : public ByteSink {
 public:
  explicit FailingSink(uint64_t limit) : limit_(limit) {}
  Status write_all(std::span<const uint8_t> bytes) override {
    if (written_ + bytes.size() > limit_) return fail("connection reset by peer");
    written_ += bytes.size();
    return {};
  }

 private:
  uint64_t limit_;
  uint64_t written_ = 0;
};

TEST(PrecopyRoundTrip, ASinkFailingAtSetupFailsBeforeTheLogStarts) {
  FakeVm source(two_blocks(), two_devices());
  FailingSink sink(0);
  const Outcome out = send_with(
      source, [] { return MigrationParameters{}; }, {}, nullptr, &sink);
  ASSERT_FALSE(out.status);
  EXPECT_EQ(out.status.error().message(), "setup: connection reset by peer");
  EXPECT_FALSE(source.dirty_log_started);
  EXPECT_EQ(source.stop_calls, 0);
}

TEST(PrecopyRoundTrip, ASinkFailingMidStreamFailsWithItsMessageAndTheGuestRunning) {
  FakeVm source(two_blocks(), two_devices());
  populate(source);
  for (uint64_t page = 0; page < 256; ++page) source.fill_page(1, page, static_cast<uint32_t>(page));
  FailingSink sink(200 * 1024);  // a fifth of the first pass
  const Outcome out = send_with(
      source, [] { return MigrationParameters{}; }, {}, nullptr, &sink);
  ASSERT_FALSE(out.status);
  EXPECT_EQ(out.status.error().message(), "sending RAM: connection reset by peer");
  EXPECT_FALSE(out.switched_over);
  EXPECT_EQ(source.stop_calls, 0);
}

TEST(PrecopyRoundTrip, ASinkFailingOnTheLastBytesFailsTheSwitchover) {
  // A quiet guest's stream is the same every time: fail one byte short of it,
  // so that the write that fails is the final flush, with the guest stopped.
  FakeVm reference(two_blocks(), two_devices());
  populate(reference);
  const Outcome good = send(reference);
  ASSERT_TRUE(good.status) << good.status.error().message();

  FakeVm source(two_blocks(), two_devices());
  populate(source);
  FailingSink sink(good.stream.size() - 1);
  const Outcome out = send_with(
      source, [] { return MigrationParameters{}; }, {}, nullptr, &sink);
  ASSERT_FALSE(out.status);
  EXPECT_EQ(out.status.error().message(), "switchover: connection reset by peer");
  EXPECT_TRUE(out.switched_over);  // the caller must give the guest back
  EXPECT_EQ(source.stop_calls, 1);
}

}  // namespace
}  // namespace godwit
