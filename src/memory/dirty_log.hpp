// Dirty-page log of guest RAM for precopy migration: one bit per 4 KiB page,
// set by every write to RAM while logging is on, taken (read and cleared) by
// the migration thread at each sync, QEMU's migration_bitmap_sync.
//
// Threads: mark() from any thread (harts, device and main-loop threads);
// take(), take_into() and count() from the migration thread. Words are
// atomic, so marks are never lost against a concurrent take: a mark lands
// either in the snapshot a take returns or in the log the next take reads.
//
// Ordering: a writer marks after its write, with release, and take()
// exchanges with acquire, so a page seen in a snapshot shows the write that
// dirtied it. A writer that finds its page's bit already set skips the
// atomic (no cache-line ping-pong between harts hammering one page); its
// write may then still sit in the host store buffer while a take clears the
// bit, so take() ends with a process-wide memory barrier (membarrier(2)):
// once it returns, every write made before the take is visible to the
// caller, and every later write sees the cleared bit and marks it again.
#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace godwit {

class DirtyLog {
 public:
  static constexpr unsigned kPageShift = 12;
  static constexpr uint64_t kPageSize = uint64_t{1} << kPageShift;

  // A log for `ram_size_bytes` of RAM (the last page may be partial), all
  // pages clean.
  explicit DirtyLog(uint64_t ram_size_bytes);

  // Registers the process for the expedited memory barrier that take()
  // uses. The kernel waits for an RCU grace period to register (about
  // 10 ms): call it early, off any latency-critical path. Idempotent.
  static void prepare_process();
  DirtyLog(const DirtyLog&) = delete;
  DirtyLog& operator=(const DirtyLog&) = delete;

  uint64_t page_count() const { return page_count_; }
  size_t word_count() const { return word_count_; }

  // Marks every page that [ram_offset, ram_offset + size) touches; the range
  // must lie inside RAM. A write that crosses a page marks both pages.
  void mark(uint64_t ram_offset, uint64_t size) {
    if (size == 0) [[unlikely]] return;
    const uint64_t first = ram_offset >> kPageShift;
    const uint64_t last = (ram_offset + size - 1) >> kPageShift;
    assert(last < page_count_);
    if (first == last) [[likely]] {
      mark_page(first);
    } else {
      mark_pages(first, last);
    }
  }

  // Returns the pages marked since the last take (bit i of word i / 64 for
  // page i) and clears them. take_into() writes into `out`, which must hold
  // word_count() words.
  std::vector<uint64_t> take();
  void take_into(std::span<uint64_t> out);

  // Clears every page; for a new logging session.
  void clear();

  // Pages marked now, without clearing them.
  size_t count() const;

 private:
  void mark_page(uint64_t page) {
    std::atomic<uint64_t>& word = words_[page / 64];
    const uint64_t bit = uint64_t{1} << (page % 64);
    // A relaxed test first: a page stored to again and again costs a load
    // that hits a shared cache line, not an exclusive one.
    if ((word.load(std::memory_order_relaxed) & bit) == 0) word.fetch_or(bit, std::memory_order_release);
  }
  void mark_pages(uint64_t first, uint64_t last);

  const uint64_t page_count_;
  const size_t word_count_;
  std::unique_ptr<std::atomic<uint64_t>[]> words_;
};

}  // namespace godwit
