// Every way a hart writes RAM marks the AddressSpace's dirty log: stores of
// each width on the TLB fast path and the slow path, AMOs, SC and the page
// walker's A/D updates; nothing is marked while the log is off.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cpu/hart_test_util.hpp"

namespace godwit::testing {
namespace {

constexpr uint64_t kPage = 4096;

uint64_t page_of(uint64_t pa) { return (pa - kRamBase) / kPage; }

std::set<uint64_t> pages_of(const std::vector<uint64_t>& words) {
  std::set<uint64_t> pages;
  for (size_t i = 0; i < words.size(); ++i) {
    for (unsigned bit = 0; bit < 64; ++bit) {
      if (words[i] >> bit & 1) pages.insert(i * 64 + bit);
    }
  }
  return pages;
}

class HartDirtyLog : public ::testing::Test {
 protected:
  void start() { ASSERT_TRUE(m.memory.start_dirty_log().has_value()); }
  std::set<uint64_t> take() { return pages_of(m.memory.dirty_log()->take()); }

  TestMachine m;
};

TEST_F(HartDirtyLog, StoresOfEveryWidthMarkTheirPagesOnBothPaths) {
  start();
  m.x(a1) = 0x1122334455667788;
  m.x(s0) = kRamBase + 0x10000;
  m.x(s1) = kRamBase + 0x11008;
  m.x(s2) = kRamBase + 0x12ff0;
  m.x(s3) = kRamBase + 0x13002;  // misaligned, inside the page
  m.load(kRamBase, {sb(a1, s0, 0), sh(a1, s1, 0), sw(a1, s2, 0), sd(a1, s3, 0), jal(zero, -16)});
  const std::set<uint64_t> expected = {0x10, 0x11, 0x12, 0x13};
  m.hart.step(4);  // TLB misses: the slow path, which fills the TLB
  EXPECT_EQ(take(), expected);
  m.hart.step(5);  // the jump back, then the same stores through the TLB
  EXPECT_EQ(m.state().pc, kRamBase + 16);
  EXPECT_EQ(take(), expected);
  EXPECT_EQ(m.read64(kRamBase + 0x13002), 0x1122334455667788u);
}

TEST_F(HartDirtyLog, MisalignedStoreAcrossAPageMarksBothPages) {
  start();
  m.x(a1) = ~0ull;
  m.x(s0) = kRamBase + 0x21000 - 4;
  m.x(s1) = kRamBase + 0x23000 - 1;
  m.load(kRamBase, {sd(a1, s0, 0), sh(a1, s1, 0)});
  m.hart.step(2);
  EXPECT_EQ(m.state().mcause, 0u);
  EXPECT_EQ(take(), (std::set<uint64_t>{0x20, 0x21, 0x22, 0x23}));
}

TEST_F(HartDirtyLog, AmosMark) {
  start();
  m.x(a1) = 5;
  m.x(s0) = kRamBase + 0x30000;
  m.x(s1) = kRamBase + 0x31008;
  m.load(kRamBase, {amoadd_w(a0, s0, a1), amoadd_d(a2, s1, a1), amo(0x1c, 3, a3, s1, a1) /* amomaxu.d */});
  m.hart.step(3);
  EXPECT_EQ(m.state().mcause, 0u);
  EXPECT_EQ(m.read64(kRamBase + 0x31008), 5u);
  EXPECT_EQ(take(), (std::set<uint64_t>{0x30, 0x31}));
}

TEST_F(HartDirtyLog, SuccessfulScMarksAndFailedScDoesNot) {
  start();
  m.x(a1) = 7;
  m.x(s0) = kRamBase + 0x40000;
  m.x(s1) = kRamBase + 0x41000;
  // sc.d without a reservation fails; lr.d then sc.d succeeds.
  m.load(kRamBase, {sc_d(a0, s1, a1), lr_d(a2, s0), sc_d(a3, s0, a1)});
  m.hart.step(1);
  EXPECT_EQ(m.x(a0), 1u);
  EXPECT_TRUE(take().empty());
  m.hart.step(2);
  EXPECT_EQ(m.x(a3), 0u);
  EXPECT_EQ(m.read64(kRamBase + 0x40000), 7u);
  EXPECT_EQ(take(), std::set<uint64_t>{0x40});
}

TEST_F(HartDirtyLog, PageTableAccessedAndDirtyUpdatesMarkThePageTablePage) {
  // Sv39: root table, then one level-1 and one level-0 table, all in RAM.
  constexpr uint64_t kRoot = kRamBase + 0x100000, kLevel1 = kRoot + 0x1000, kLevel0 = kRoot + 0x2000;
  constexpr uint64_t kV = 1, kR = 2, kW = 4, kX = 8, kA = 64, kD = 128;
  auto pte = [](uint64_t pa, uint64_t flags) { return (pa >> 12) << 10 | flags | kV; };
  m.write64(kRoot, pte(kLevel1, 0));
  m.write64(kLevel1, pte(kLevel0, 0));
  m.write64(kLevel0 + 0x10 * 8, pte(kRamBase, kR | kX | kA));          // code at va 0x10000
  m.write64(kLevel0 + 0x1 * 8, pte(kRamBase + 0x3000, kR | kW));       // data at va 0x1000
  m.write64(kLevel0 + 0x2 * 8, pte(kRamBase + 0x5000, kR | kW | kA));  // read-only use
  m.state().satp = (8ull << 60) | (kRoot >> 12);
  m.state().privilege = Privilege::kSupervisor;
  m.state().pc = 0x10000;
  m.x(s0) = 0x1000;
  m.x(s1) = 0x2000;
  m.load(kRamBase, {ld(a0, s1, 0), sd(a0, s0, 0)});
  m.hart.flush_caches();
  start();
  m.hart.step(1);  // the load: A is already set, no page-table write
  EXPECT_TRUE(take().empty());
  m.hart.step(1);  // the store: A and D set on the data PTE
  EXPECT_EQ(m.state().mcause, 0u);
  EXPECT_EQ(m.read64(kLevel0 + 8) & (kA | kD), kA | kD);
  EXPECT_EQ(take(), (std::set<uint64_t>{page_of(kLevel0), 0x3}));
}

TEST_F(HartDirtyLog, NothingIsMarkedWhileTheLogIsOff) {
  m.x(a1) = 1;
  m.x(s0) = kRamBase + 0x50000;
  m.load(kRamBase, {sd(a1, s0, 0), amoadd_d(a0, s0, a1), lr_d(a2, s0), sc_d(a3, s0, a1), jal(zero, -16)});
  m.hart.step(4);  // never started
  EXPECT_EQ(m.memory.dirty_log(), nullptr);
  start();
  DirtyLog* kept = m.memory.dirty_log();
  EXPECT_EQ(kept->count(), 0u);
  m.memory.stop_dirty_log();
  m.hart.step(5);  // the jump back, then all four writes again, through the TLB
  EXPECT_EQ(m.x(a3), 0u);
  EXPECT_EQ(kept->count(), 0u);
}

// A hart thread stores a rising counter round a ring of 64 pages while this
// thread takes the log again and again, reading the pages after each take.
// Every value the reads see must have been marked in a take close after it
// appeared: a hart preempted between a write and its mark may delay the mark
// by several takes, but never past its next write to that page.
TEST_F(HartDirtyLog, ConcurrentTakesNeverLoseAWrite) {
  constexpr uint64_t kData = kRamBase + 0x100000;
  constexpr unsigned kRing = 64;
  m.x(s0) = kData;
  m.load(kRamBase, {addi(t0, t0, 1), andi(t1, t0, kRing - 1), slli(t1, t1, 12), add(t1, t1, s0), sd(t0, t1, 0),
                    jal(zero, -20)});
  start();
  DirtyLog& log = *m.memory.dirty_log();
  auto read_ring = [&] {
    std::vector<uint64_t> values(kRing);
    for (unsigned i = 0; i < kRing; ++i) {
      values[i] = __atomic_load_n(reinterpret_cast<const uint64_t*>(m.host(kData + i * kPage)), __ATOMIC_RELAXED);
    }
    return values;
  };
  std::vector<std::set<uint64_t>> taken;
  std::vector<std::vector<uint64_t>> values;
  {
    std::atomic<bool> stop{false};
    std::jthread hart([&] {
      while (!stop.load(std::memory_order_relaxed)) m.hart.step(20000);
    });
    while (read_ring()[1] == 0) std::this_thread::yield();  // the hart is running
    while (taken.size() < 2000) {
      taken.push_back(pages_of(log.take()));
      values.push_back(read_ring());
    }
    stop = true;
  }
  taken.push_back(pages_of(log.take()));  // the hart has stopped: the rest
  values.push_back(read_ring());

  // Value v first seen at read j was marked after its write and before the
  // hart's next write to the page, which read k first shows (or, if none,
  // before the hart stopped): one of takes j to k + 1 has the page.
  uint64_t changes = 0, lost = 0;
  std::string first_lost;
  for (unsigned i = 0; i < kRing; ++i) {
    const uint64_t page = page_of(kData) + i;
    for (size_t j = 1; j < values.size(); ++j) {
      if (values[j][i] == values[j - 1][i]) continue;
      ++changes;
      size_t k = j + 1;
      while (k < values.size() && values[k][i] == values[j][i]) ++k;
      bool marked = false;
      for (size_t t = j; t <= k + 1 && t < taken.size(); ++t) marked = marked || taken[t].contains(page);
      if (!marked && lost++ == 0) {
        first_lost = "ring page " + std::to_string(i) + " first seen changed at read " + std::to_string(j);
      }
    }
  }
  EXPECT_EQ(lost, 0u) << "first: " << first_lost;
  EXPECT_GT(changes, 0u);
  for (const auto& pages : taken) {
    for (uint64_t page : pages) {
      EXPECT_TRUE(page >= page_of(kData) && page < page_of(kData) + kRing) << "page " << page << " was never written";
    }
  }
}

}  // namespace
}  // namespace godwit::testing
