#include "memory/dirty_log.hpp"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <bit>

namespace godwit {
namespace {

// Whether this process may use MEMBARRIER_CMD_PRIVATE_EXPEDITED (Linux 4.14+):
// registered once, on first use.
bool expedited_barrier_registered() {
  static const bool registered =
      syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0) == 0;
  return registered;
}

// A full memory barrier executed on every thread of the process: writes that
// other threads made before it are visible to the caller after it.
void barrier_on_all_threads() {
  if (expedited_barrier_registered() && syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0) == 0) return;
  // Slower (it waits for an RCU grace period) but needs no registration.
  // Without either the window left is a host store buffer's drain time.
  syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0);
}

}  // namespace

void DirtyLog::prepare_process() { expedited_barrier_registered(); }

DirtyLog::DirtyLog(uint64_t ram_size_bytes)
    : page_count_((ram_size_bytes + kPageSize - 1) >> kPageShift),
      word_count_(static_cast<size_t>((page_count_ + 63) / 64)),
      words_(std::make_unique<std::atomic<uint64_t>[]>(word_count_)) {
  // make_unique value-initialises: every word starts at zero.
  expedited_barrier_registered();
}

void DirtyLog::mark_pages(uint64_t first, uint64_t last) {
  // Whole words at a time: a loader's write of many megabytes is one
  // fetch_or per 64 pages.
  while (first <= last) {
    const uint64_t word_index = first / 64;
    const unsigned low = static_cast<unsigned>(first % 64);
    const unsigned high = static_cast<unsigned>(std::min<uint64_t>(last - word_index * 64, 63));
    const uint64_t bits = (~uint64_t{0} >> (63 - high)) & (~uint64_t{0} << low);
    std::atomic<uint64_t>& word = words_[word_index];
    if ((word.load(std::memory_order_relaxed) & bits) != bits) word.fetch_or(bits, std::memory_order_release);
    first = (word_index + 1) * 64;
  }
}

std::vector<uint64_t> DirtyLog::take() {
  std::vector<uint64_t> out(word_count_);
  take_into(out);
  return out;
}

void DirtyLog::take_into(std::span<uint64_t> out) {
  assert(out.size() >= word_count_);
  for (size_t i = 0; i < word_count_; ++i) {
    // Skipping clean words keeps the cache lines of idle RAM shared.
    out[i] = words_[i].load(std::memory_order_relaxed) == 0 ? 0 : words_[i].exchange(0, std::memory_order_acquire);
  }
  barrier_on_all_threads();
}

void DirtyLog::clear() {
  for (size_t i = 0; i < word_count_; ++i) words_[i].store(0, std::memory_order_relaxed);
}

size_t DirtyLog::count() const {
  size_t pages = 0;
  for (size_t i = 0; i < word_count_; ++i) pages += std::popcount(words_[i].load(std::memory_order_relaxed));
  return pages;
}

}  // namespace godwit
