// The RAM section's sending side, checked through the loader and against the
// byte layout of QEMU's migration/ram.c.
#include <gtest/gtest.h>

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "migration/guest_ram_test_util.hpp"
#include "migration/ram_section_loader.hpp"
#include "migration/ram_section_saver.hpp"

namespace godwit {
namespace {

constexpr size_t kPage = kRamPageSize;

// A RAM block with memory of its own.
struct TestBlock {
  TestBlock(std::string id, uint64_t pages, uint64_t guest_address = 0x80000000, bool shared = false)
      : memory(pages * kPage) {
    view = {std::move(id), memory.data(), memory.size(), guest_address, shared};
    view.memory = guest_ram.map(memory, guest_address);
  }
  uint8_t* page(uint64_t index) { return memory.data() + index * kPage; }
  std::vector<uint8_t> memory;
  TestGuestRam guest_ram;
  RamBlockView view;
};

// Page `index` gets a pattern that differs from every other page's.
void fill_page(TestBlock& block, uint64_t index, uint8_t seed) {
  for (size_t i = 0; i < kPage; ++i) block.page(index)[i] = static_cast<uint8_t>(seed + i * 7 + index);
}

void put_be64(std::vector<uint8_t>& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

void put_name(std::vector<uint8_t>& out, std::string_view name) {
  out.push_back(static_cast<uint8_t>(name.size()));
  out.insert(out.end(), name.begin(), name.end());
}

uint64_t be64_at(const std::vector<uint8_t>& data, size_t offset) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = v << 8 | data[offset + i];
  return v;
}

TEST(RamSection, ZeroPageCheck) {
  std::vector<uint8_t> page(kPage + 1, 0);
  EXPECT_TRUE(is_zero_page(page.data()));
  EXPECT_TRUE(is_zero_page(page.data() + 1));  // unaligned host pointers are fine
  page[kPage - 1] = 1;
  EXPECT_FALSE(is_zero_page(page.data()));
  page[kPage - 1] = 0;
  page[3] = 0x80;
  EXPECT_FALSE(is_zero_page(page.data()));
}

TEST(RamSection, RoundTripsBlocksWithZeroAndDataPages) {
  TestBlock ram("riscv_virt_board.ram", 40);
  TestBlock extra("mem1", 5, 0x100000000);
  for (uint64_t i = 0; i < 40; i += 3) fill_page(ram, i, 0x11);
  ram.page(7)[kPage - 1] = 0xff;  // non-zero only in its last byte
  fill_page(extra, 4, 0x22);

  MemorySink sink;
  StreamWriter out(sink, 8192);  // small buffer: exercises flushing between pages
  RamSaver saver(out, {ram.view, extra.view});
  saver.write_setup();
  saver.write_all_pages(saver.blocks()[0]);
  saver.write_all_pages(saver.blocks()[1]);
  saver.end_chunk();
  ASSERT_TRUE(out.flush());

  EXPECT_EQ(saver.stats().normal_pages, 14u + 1 + 1);  // pages 0,3,..,39, page 7, extra page 4
  EXPECT_EQ(saver.stats().duplicate_pages, 45u - 16);
  EXPECT_EQ(saver.stats().normal_bytes, 16 * kPage);
  EXPECT_EQ(saver.stats().transferred_bytes, sink.data().size());
  EXPECT_EQ(saver.stats().precopy_bytes, sink.data().size());
  EXPECT_EQ(saver.stats().total_bytes, 45 * kPage);
  EXPECT_EQ(saver.stats().page_size, 4096u);

  // The destination starts dirty, so zero pages must really clear it.
  TestBlock ram_in("riscv_virt_board.ram", 40);
  TestBlock extra_in("mem1", 5, 0x100000000);
  std::memset(ram_in.memory.data(), 0xcc, ram_in.memory.size());
  MemorySource source(sink.data());
  StreamReader in(source, 4096 + 100);
  RamLoader loader(in, {ram_in.view, extra_in.view});
  ASSERT_TRUE(loader.load_chunk());  // setup chunk
  auto status = loader.load_chunk();
  ASSERT_TRUE(status) << status.error().message();
  EXPECT_TRUE(in.at_end());
  EXPECT_EQ(ram_in.memory, ram.memory);
  EXPECT_EQ(extra_in.memory, extra.memory);
  EXPECT_EQ(loader.stats().normal_pages, 16u);
  EXPECT_EQ(loader.stats().zero_pages, 29u);
  EXPECT_EQ(loader.stats().zero_pages_cleared, 25u);  // ram's zero pages; extra's were zero already
}

// Private anonymous memory straight from mmap, as guest RAM is: its pages
// start never populated, which the saver and loader use (PageResidency).
struct AnonymousBlock {
  AnonymousBlock(std::string id, uint64_t pages) : bytes(pages * kPage) {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_NE(p, MAP_FAILED);
    host = static_cast<uint8_t*>(p);
    view = {std::move(id), host, bytes, 0x80000000, false, true};
    view.memory = guest_ram.map({host, bytes}, 0x80000000);
  }
  ~AnonymousBlock() { ::munmap(host, bytes); }
  uint8_t* page(uint64_t index) { return host + index * kPage; }
  size_t bytes;
  uint8_t* host;
  TestGuestRam guest_ram;
  RamBlockView view;
};

TEST(RamSection, APageWrittenBetweenChunksIsSentWithItsData) {
  // The first chunk sees page 5 never populated; the guest then writes it
  // (its dirty bit set again); the next chunk must send its bytes, not a
  // cached "zeros".
  AnonymousBlock ram("ram", 64);
  ram.page(2)[0] = 7;
  MemorySink sink;
  StreamWriter out(sink);
  RamSaver saver(out, {ram.view});
  std::vector<uint64_t> dirty = {~uint64_t{0}};
  saver.write_pages(saver.blocks()[0], dirty, SIZE_MAX);
  saver.end_chunk();
  EXPECT_EQ(saver.stats().normal_pages, 1u);
  EXPECT_EQ(saver.stats().duplicate_pages, 63u);
  ram.page(5)[100] = 9;
  dirty[0] = uint64_t{1} << 5;
  saver.write_pages(saver.blocks()[0], dirty, SIZE_MAX);
  saver.end_chunk();
  EXPECT_EQ(saver.stats().normal_pages, 2u);
}

TEST(RamSection, AZeroRecordAfterAPageRecordClearsItOnAFreshDestination) {
  // One chunk sends page 3 with data, a later one as zeros: the loader
  // must not trust a cached "never populated" for a page it wrote.
  AnonymousBlock source("ram", 64);
  MemorySink sink;
  StreamWriter out(sink);
  RamSaver saver(out, {source.view});
  saver.write_setup();
  std::memset(source.page(3), 0x5a, kPage);
  std::vector<uint64_t> dirty = {~uint64_t{0}};
  saver.write_pages(saver.blocks()[0], dirty, SIZE_MAX);
  saver.end_chunk();
  std::memset(source.page(3), 0, kPage);
  dirty[0] = uint64_t{1} << 3;
  saver.write_pages(saver.blocks()[0], dirty, SIZE_MAX);
  saver.end_chunk();
  ASSERT_TRUE(out.flush());
  EXPECT_EQ(saver.stats().duplicate_pages, 64u);

  AnonymousBlock destination("ram", 64);
  MemorySource in_source(sink.data());
  StreamReader in(in_source);
  RamLoader loader(in, {destination.view});
  for (int chunk = 0; chunk < 3; ++chunk) {
    auto status = loader.load_chunk();
    ASSERT_TRUE(status) << status.error().message();
  }
  EXPECT_TRUE(in.at_end());
  EXPECT_EQ(std::memcmp(destination.host, source.host, destination.bytes), 0);
}

// Shared memory in a memfd, as a memory-backend-memfd,share=on: holes read
// as zeros, and reading them would allocate them.
struct MemfdBlock {
  MemfdBlock(std::string id, uint64_t pages) : bytes(pages * kPage) {
    fd = memfd_create("ram-section-test", MFD_CLOEXEC);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(ftruncate(fd, static_cast<off_t>(bytes)), 0);
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    EXPECT_NE(p, MAP_FAILED);
    host = static_cast<uint8_t*>(p);
    view = {std::move(id), host, bytes, 0x80000000, true, false, fd};
    view.memory = guest_ram.map({host, bytes}, 0x80000000);
  }
  ~MemfdBlock() {
    ::munmap(host, bytes);
    ::close(fd);
  }
  uint64_t allocated_bytes() const {
    struct stat st {};
    EXPECT_EQ(fstat(fd, &st), 0);
    return static_cast<uint64_t>(st.st_blocks) * 512;
  }
  uint8_t* page(uint64_t index) { return host + index * kPage; }
  size_t bytes;
  int fd;
  uint8_t* host;
  TestGuestRam guest_ram;
  RamBlockView view;
};

TEST(RamSection, SharedMemoryHolesAreSentAsZerosWithoutBeingAllocated) {
  MemfdBlock source("ram", 256);
  std::memset(source.page(3), 0x77, kPage);
  MemorySink sink;
  StreamWriter out(sink);
  RamSaver saver(out, {source.view});
  saver.write_setup();
  saver.write_all_pages(saver.blocks()[0]);
  saver.end_chunk();
  // The page written earlier, then zeros again: sent as a ZERO record.
  std::memset(source.page(3), 0, kPage);
  std::vector<uint64_t> dirty(4, 0);
  dirty[0] = uint64_t{1} << 3;
  saver.write_pages(saver.blocks()[0], dirty, SIZE_MAX);
  saver.end_chunk();
  ASSERT_TRUE(out.flush());
  EXPECT_EQ(saver.stats().normal_pages, 1u);
  EXPECT_EQ(saver.stats().duplicate_pages, 256u);
  EXPECT_LE(source.allocated_bytes(), 4 * kPage) << "scanning allocated the holes";

  MemfdBlock destination("ram", 256);
  MemorySource in_source(sink.data());
  StreamReader in(in_source);
  RamLoader loader(in, {destination.view});
  for (int chunk = 0; chunk < 3; ++chunk) {
    auto status = loader.load_chunk();
    ASSERT_TRUE(status) << status.error().message();
  }
  EXPECT_LE(destination.allocated_bytes(), 4 * kPage) << "loading zero pages allocated the holes";
  // (Comparing reads, and so allocates, every page: last.)
  EXPECT_EQ(std::memcmp(destination.host, source.host, destination.bytes), 0);
}

// Every byte of a tiny stream, against the layout in the reference notes
// (section 2): MEM_SIZE record, then a PAGE naming its block and a ZERO with
// CONTINUE, each chunk closed by EOS.
TEST(RamSection, TinyStreamHasQemuLayout) {
  TestBlock ram("ram", 2);
  fill_page(ram, 0, 0x40);

  MemorySink sink;
  StreamWriter out(sink);
  RamSaver saver(out, {ram.view});
  saver.write_setup();
  saver.write_all_pages(saver.blocks()[0]);
  saver.end_chunk();
  ASSERT_TRUE(out.flush());

  std::vector<uint8_t> expected;
  put_be64(expected, 0x2000 | 0x04);  // total | MEM_SIZE
  put_name(expected, "ram");
  put_be64(expected, 0x2000);         // used_length
  put_be64(expected, 0x10);           // EOS
  put_be64(expected, 0x0000 | 0x08);  // offset 0 | PAGE
  put_name(expected, "ram");
  expected.insert(expected.end(), ram.page(0), ram.page(0) + kPage);
  put_be64(expected, 0x1000 | 0x02 | 0x20);  // offset 0x1000 | ZERO | CONTINUE
  expected.push_back(0x00);                  // fill byte
  put_be64(expected, 0x10);                  // EOS
  EXPECT_EQ(sink.data(), expected);
  EXPECT_EQ(saver.stats().transferred_bytes, expected.size());
}

TEST(RamSection, DirtyBitmapSendsResumeUnderAByteBudget) {
  TestBlock ram("ram", 130);  // three bitmap words, the last one partly used
  for (uint64_t i = 0; i < 130; ++i) fill_page(ram, i, 0x01);
  TestBlock ram_in("ram", 130);
  std::copy(ram.memory.begin(), ram.memory.end(), ram_in.memory.begin());  // in place: ram_in's views stay valid

  // The guest dirties some pages: data in most, zeros in two.
  std::vector<uint64_t> dirty(3, 0);
  const std::vector<uint64_t> dirtied = {1, 2, 5, 63, 64, 65, 100, 127, 128, 129};
  for (uint64_t page : dirtied) {
    dirty[page / 64] |= uint64_t{1} << (page % 64);
    fill_page(ram, page, 0x99);
  }
  std::memset(ram.page(5), 0, kPage);
  std::memset(ram.page(128), 0, kPage);
  ram_in.page(0)[0] ^= 1;  // a clean page the sender must not overwrite
  const std::vector<uint8_t> clean_page0(ram_in.page(0), ram_in.page(0) + kPage);

  MemorySink sink;
  StreamWriter out(sink);
  RamSaver saver(out, {ram.view});
  const size_t budget = 2 * (8 + 4 + kPage);  // two named data pages
  std::vector<size_t> chunk_starts;
  size_t calls = 0;
  for (;;) {
    chunk_starts.push_back(out.bytes_written());
    const size_t sent = saver.write_pages(saver.blocks()[0], dirty, budget);
    saver.end_chunk();
    if (sent == 0) break;
    EXPECT_LE(sent, budget);
    ++calls;
  }
  ASSERT_TRUE(out.flush());
  EXPECT_EQ(dirty, std::vector<uint64_t>(3, 0));
  EXPECT_EQ(calls, 5u);  // 8 data pages at most two per call, zero pages riding along
  EXPECT_EQ(saver.stats().normal_pages, 8u);
  EXPECT_EQ(saver.stats().duplicate_pages, 2u);
  // Each chunk's first record names its block.
  for (size_t i = 0; i + 1 < chunk_starts.size(); ++i) {
    const uint64_t header = be64_at(sink.data(), chunk_starts[i]);
    EXPECT_EQ(header & ram_flag::kContinue, 0u) << "chunk " << i;
    EXPECT_EQ(sink.data()[chunk_starts[i] + 8], 3) << "chunk " << i;
  }

  MemorySource source(sink.data());
  StreamReader in(source);
  RamLoader loader(in, {ram_in.view});
  for (size_t i = 0; i < chunk_starts.size(); ++i) {
    auto status = loader.load_chunk();
    ASSERT_TRUE(status) << status.error().message();
  }
  EXPECT_TRUE(in.at_end());
  EXPECT_EQ(std::vector<uint8_t>(ram_in.page(0), ram_in.page(0) + kPage), clean_page0);
  std::memcpy(ram_in.page(0), ram.page(0), kPage);
  EXPECT_EQ(ram_in.memory, ram.memory);
}

TEST(RamSection, PageCapStopsAChunkOfZeroPagesEarly) {
  // Pages of zeros are 9-byte records: a byte budget alone would let one
  // call scan the whole block.
  TestBlock ram("ram", 128);
  MemorySink sink;
  StreamWriter out(sink);
  RamSaver saver(out, {ram.view});
  std::vector<uint64_t> dirty = {~uint64_t{0}, ~uint64_t{0}};
  EXPECT_EQ(saver.write_pages(saver.blocks()[0], dirty, 1 << 20, 70), (8 + 4 + 1) + 69 * (8 + 1));
  EXPECT_EQ(dirty[0], 0u);
  EXPECT_EQ(dirty[1], ~uint64_t{0} << 6);
  EXPECT_EQ(saver.stats().duplicate_pages, 70u);
}

TEST(RamSection, TinyBudgetStillSendsOnePagePerCall) {
  TestBlock ram("ram", 4);
  for (uint64_t i = 0; i < 4; ++i) fill_page(ram, i, 0x10);
  MemorySink sink;
  StreamWriter out(sink);
  RamSaver saver(out, {ram.view});
  std::vector<uint64_t> dirty = {0b1011};
  EXPECT_EQ(saver.write_pages(saver.blocks()[0], dirty, 1), 8 + 4 + kPage);
  EXPECT_EQ(dirty[0], 0b1010u);
  EXPECT_EQ(saver.write_pages(saver.blocks()[0], dirty, 1), 8 + kPage);  // CONTINUE: no name
  EXPECT_EQ(dirty[0], 0b1000u);
  EXPECT_EQ(saver.write_pages(saver.blocks()[0], dirty, 1), 8 + kPage);
  EXPECT_EQ(dirty[0], 0u);
  EXPECT_EQ(saver.write_pages(saver.blocks()[0], dirty, 1), 0u);
}

TEST(RamSection, IgnoreSharedListsSharedBlocksButSendsNoPages) {
  TestBlock ram("ram", 2, 0x80000000);
  TestBlock shm("shm", 3, 0x90000000, /*shared=*/true);
  fill_page(ram, 1, 0x31);
  fill_page(shm, 0, 0x32);
  const RamSectionOptions options{.ignore_shared = true};

  MemorySink sink;
  StreamWriter out(sink);
  RamSaver saver(out, {ram.view, shm.view}, options);
  saver.write_setup();
  saver.write_all_pages(saver.blocks()[0]);
  EXPECT_EQ(saver.write_all_pages(saver.blocks()[1]), 0u);
  std::vector<uint64_t> dirty = {0b111};
  EXPECT_EQ(saver.write_pages(saver.blocks()[1], dirty, 1 << 20), 0u);
  EXPECT_EQ(dirty[0], 0u);
  saver.end_chunk();
  ASSERT_TRUE(out.flush());
  EXPECT_EQ(saver.stats().normal_pages + saver.stats().duplicate_pages, 2u);
  EXPECT_EQ(saver.stats().total_bytes, 2 * kPage);

  // The block list still names the shared block, with every block's address.
  std::vector<uint8_t> setup;
  put_be64(setup, 5 * kPage | 0x04);
  put_name(setup, "ram");
  put_be64(setup, 2 * kPage);
  put_be64(setup, 0x80000000);
  put_name(setup, "shm");
  put_be64(setup, 3 * kPage);
  put_be64(setup, 0x90000000);
  put_be64(setup, 0x10);
  ASSERT_GE(sink.data().size(), setup.size());
  EXPECT_EQ(std::vector<uint8_t>(sink.data().begin(), sink.data().begin() + setup.size()), setup);

  TestBlock ram_in("ram", 2, 0x80000000);
  TestBlock shm_in("shm", 3, 0x90000000, true);
  MemorySource source(sink.data());
  StreamReader in(source);
  RamLoader loader(in, {ram_in.view, shm_in.view}, options);
  ASSERT_TRUE(loader.load_chunk());
  ASSERT_TRUE(loader.load_chunk());
  EXPECT_EQ(ram_in.memory, ram.memory);
  EXPECT_EQ(shm_in.memory, std::vector<uint8_t>(3 * kPage, 0));  // not sent: the real one is mapped
}

TEST(RamSection, CountsBytesSentWithTheGuestStoppedAsDowntime) {
  TestBlock ram("ram", 3);
  fill_page(ram, 2, 0x05);
  MemorySink sink;
  StreamWriter out(sink);
  RamSaver saver(out, {ram.view});
  saver.write_setup();
  const uint64_t setup_bytes = saver.stats().transferred_bytes;
  saver.set_phase(RamSavePhase::downtime);
  saver.write_all_pages(saver.blocks()[0]);
  saver.end_chunk();
  EXPECT_EQ(saver.stats().precopy_bytes, setup_bytes);
  EXPECT_EQ(saver.stats().downtime_bytes, 2 * (8 + 1) + 4 + (8 + kPage) + 8);
  EXPECT_EQ(saver.stats().transferred_bytes, out.bytes_written());
}

}  // namespace
}  // namespace godwit
