// The dirty-page log, alone and as AddressSpace drives it.
#include "memory/dirty_log.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <set>
#include <thread>
#include <vector>

#include "memory/address_space.hpp"
#include "memory/guest_memory.hpp"

namespace godwit {
namespace {

constexpr uint64_t kPage = DirtyLog::kPageSize;

// Page numbers set in a snapshot from take().
std::set<uint64_t> pages_of(const std::vector<uint64_t>& words) {
  std::set<uint64_t> pages;
  for (size_t i = 0; i < words.size(); ++i) {
    for (unsigned bit = 0; bit < 64; ++bit) {
      if (words[i] >> bit & 1) pages.insert(i * 64 + bit);
    }
  }
  return pages;
}

TEST(DirtyLog, SizesRoundUpToWholePagesAndWords) {
  DirtyLog log(130 * kPage + 1);
  EXPECT_EQ(log.page_count(), 131u);
  EXPECT_EQ(log.word_count(), 3u);
  EXPECT_EQ(log.count(), 0u);
  EXPECT_EQ(log.take(), std::vector<uint64_t>(3, 0));
}

TEST(DirtyLog, MarksEveryPageARangeTouches) {
  DirtyLog log(256 * kPage);
  log.mark(0, 1);
  log.mark(5 * kPage + 100, 8);        // inside page 5
  log.mark(7 * kPage - 4, 8);          // straddles pages 6 and 7
  log.mark(9 * kPage, kPage);          // exactly page 9
  log.mark(20 * kPage + 1, 0);         // empty: nothing
  log.mark(60 * kPage + 5, 70 * kPage);  // pages 60..130, across three words
  std::set<uint64_t> expected = {0, 5, 6, 7, 9};
  for (uint64_t page = 60; page <= 130; ++page) expected.insert(page);
  EXPECT_EQ(log.count(), expected.size());
  EXPECT_EQ(pages_of(log.take()), expected);
}

TEST(DirtyLog, MarkingTwiceCountsOnce) {
  DirtyLog log(16 * kPage);
  log.mark(3 * kPage, 8);
  log.mark(3 * kPage + 8, 8);
  EXPECT_EQ(log.count(), 1u);
}

TEST(DirtyLog, TakeClearsAndTakeIntoMatchesTake) {
  DirtyLog log(100 * kPage);
  log.mark(2 * kPage, 1);
  log.mark(99 * kPage, 1);
  std::vector<uint64_t> out(log.word_count(), ~0ull);
  log.take_into(out);
  EXPECT_EQ(pages_of(out), (std::set<uint64_t>{2, 99}));
  EXPECT_EQ(log.count(), 0u);
  EXPECT_TRUE(pages_of(log.take()).empty());
  log.mark(50 * kPage, 1);
  EXPECT_EQ(pages_of(log.take()), std::set<uint64_t>{50});
}

TEST(DirtyLog, ClearDropsEveryMark) {
  DirtyLog log(64 * kPage);
  log.mark(0, 64 * kPage);
  EXPECT_EQ(log.count(), 64u);
  log.clear();
  EXPECT_EQ(log.count(), 0u);
}

// Threads mark overlapping sets of pages while another takes again and
// again: the union of all snapshots is exactly the pages marked.
TEST(DirtyLog, ConcurrentMarksAndTakesLoseNothingAndInventNothing) {
  constexpr uint64_t kPages = 4096;
  constexpr unsigned kThreads = 4;
  DirtyLog log(kPages * kPage);
  std::atomic<unsigned> running{kThreads};
  std::vector<uint64_t> seen(log.word_count(), 0);
  std::vector<uint64_t> snapshot(log.word_count());
  {
    std::vector<std::jthread> markers;
    for (unsigned t = 0; t < kThreads; ++t) {
      markers.emplace_back([&log, &running, t] {
        // Thread t marks pages whose number is 0 mod (t + 2), several
        // times over, some as two-page writes.
        for (int round = 0; round < 20; ++round) {
          for (uint64_t page = 0; page < kPages; page += t + 2) {
            if (page + 1 < kPages && page % 7 == 3) {
              log.mark(page * kPage + kPage - 2, 4);  // page and page + 1
            } else {
              log.mark(page * kPage + (round * 8) % kPage, 8);
            }
          }
        }
        running.fetch_sub(1);
      });
    }
    while (running.load() != 0) {
      log.take_into(snapshot);
      for (size_t i = 0; i < seen.size(); ++i) seen[i] |= snapshot[i];
    }
  }
  log.take_into(snapshot);
  for (size_t i = 0; i < seen.size(); ++i) seen[i] |= snapshot[i];

  std::set<uint64_t> expected;
  for (unsigned t = 0; t < kThreads; ++t) {
    for (uint64_t page = 0; page < kPages; page += t + 2) {
      expected.insert(page);
      if (page + 1 < kPages && page % 7 == 3) expected.insert(page + 1);
    }
  }
  EXPECT_EQ(pages_of(seen), expected);
}

// --- AddressSpace ---

constexpr uint64_t kRamBase = 0x80000000;

class AddressSpaceDirtyLog : public ::testing::Test {
 protected:
  AddressSpaceDirtyLog() : ram(64 * kPage) {
    EXPECT_TRUE(memory.map_ram(kRamBase, ram).has_value());
    EXPECT_TRUE(memory.map_rom(0x1000, std::vector<uint8_t>(kPage), "rom").has_value());
  }
  std::vector<uint8_t> ram;
  AddressSpace memory;
  GuestMemory guest{memory};
};

TEST(AddressSpaceDirtyLogSetup, StartFailsWithoutRam) {
  AddressSpace memory;
  EXPECT_FALSE(memory.start_dirty_log().has_value());
  EXPECT_EQ(memory.dirty_log(), nullptr);
}

TEST_F(AddressSpaceDirtyLog, NothingIsLoggedWhileOff) {
  EXPECT_EQ(memory.dirty_log(), nullptr);
  EXPECT_TRUE(guest.write_value(kRamBase + 3 * kPage, 8, 1));
  const std::vector<uint8_t> bytes(2 * kPage, 0xab);
  EXPECT_TRUE(guest.write(kRamBase, bytes).has_value());
  ASSERT_TRUE(memory.start_dirty_log().has_value());
  EXPECT_EQ(memory.dirty_log()->count(), 0u);
}

TEST_F(AddressSpaceDirtyLog, WriteAndWriteBytesMarkRamPages) {
  ASSERT_TRUE(memory.start_dirty_log().has_value());
  DirtyLog* log = memory.dirty_log();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->page_count(), 64u);
  EXPECT_TRUE(guest.write_value(kRamBase + 3 * kPage + 8, 8, 1));
  EXPECT_TRUE(guest.write_value(kRamBase + 63 * kPage + 4095, 1, 1));
  const std::vector<uint8_t> bytes(kPage + 2, 0xab);
  EXPECT_TRUE(guest.write(kRamBase + 10 * kPage - 1, bytes).has_value());  // pages 9, 10, 11
  EXPECT_EQ(pages_of(log->take()), (std::set<uint64_t>{3, 9, 10, 11, 63}));
}

TEST_F(AddressSpaceDirtyLog, RomWritesAndReadsMarkNothing) {
  ASSERT_TRUE(memory.start_dirty_log().has_value());
  EXPECT_TRUE(guest.write_value(0x1000, 4, 1));
  const std::vector<uint8_t> bytes(16, 1);
  EXPECT_TRUE(guest.write(0x1000, bytes).has_value());
  uint64_t value;
  EXPECT_TRUE(memory.read(kRamBase, 8, value));
  std::vector<uint8_t> out(kPage);
  EXPECT_TRUE(memory.read_bytes(kRamBase, out).has_value());
  EXPECT_EQ(memory.dirty_log()->count(), 0u);
}

TEST_F(AddressSpaceDirtyLog, StopKeepsTheLogAndRestartReusesItClear) {
  ASSERT_TRUE(memory.start_dirty_log().has_value());
  DirtyLog* first = memory.dirty_log();
  EXPECT_TRUE(guest.write_value(kRamBase, 8, 1));
  memory.stop_dirty_log();
  EXPECT_EQ(memory.dirty_log(), nullptr);
  EXPECT_TRUE(guest.write_value(kRamBase + kPage, 8, 1));
  // Still allocated, holding what was marked before the stop.
  EXPECT_EQ(pages_of(first->take()), std::set<uint64_t>{0});
  first->mark(5 * kPage, 1);  // a hart that loaded the pointer before the stop
  ASSERT_TRUE(memory.start_dirty_log().has_value());
  EXPECT_EQ(memory.dirty_log(), first);
  EXPECT_EQ(first->count(), 0u);
  EXPECT_TRUE(guest.write_value(kRamBase + 2 * kPage, 8, 1));
  EXPECT_EQ(pages_of(first->take()), std::set<uint64_t>{2});
}

}  // namespace
}  // namespace godwit
