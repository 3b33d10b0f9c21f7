// Which pages of private anonymous RAM the host kernel has ever populated,
// read from /proc/self/pagemap. A page that is neither present nor swapped
// out in such a mapping has never been written (nor read): it holds zeros
// without anyone looking at it. The sender then need not scan a never-used
// GiB for zeros, and the receiver need not fault pages in to check them.
//
// Only a hint: where pagemap cannot be read every page counts as populated
// and the caller looks at the bytes as before. Entries are cached a run at
// a time, so a cached "never populated" goes stale once the page is
// written: the sender forgets the cache at the end of every chunk (a page
// the guest wrote meanwhile is in the dirty log, and sent again in a later
// chunk that reads fresh entries), the loader notes each page it writes.
//
// Threads: one instance per thread (it caches a run of entries).
#pragma once

#include <cstdint>
#include <vector>

namespace godwit {

class PageResidency {
 public:
  PageResidency();
  ~PageResidency();
  PageResidency(const PageResidency&) = delete;
  PageResidency& operator=(const PageResidency&) = delete;

  // Whether the 4 KiB page at `page` (page-aligned host address of private
  // anonymous memory) may hold something other than zeros.
  bool maybe_populated(const uint8_t* page);

  // Whether the page at `offset` of shared memory file `fd` may hold
  // something other than zeros: false in a hole (lseek SEEK_DATA/SEEK_HOLE,
  // one extent cached), where reading would allocate the page.
  bool maybe_data(int fd, uint64_t offset);

  // `page` has just been written: a cached entry must not say otherwise.
  void note_populated(const uint8_t* page);

  // Drops the cached entries; the next lookup reads pagemap again.
  void forget() {
    entries_.clear();
    extent_fd_ = -1;
  }

 private:
  bool refill(uint64_t page_number);

  int fd_ = -1;
  uint64_t first_ = 0;  // page number of entries_[0]
  std::vector<uint64_t> entries_;
  // The cached extent of a file: [extent_start_, extent_end_) is all data
  // or all hole.
  bool refill_extent(int fd, uint64_t offset);
  int extent_fd_ = -1;
  uint64_t extent_start_ = 0;
  uint64_t extent_end_ = 0;
  bool extent_data_ = true;
};

}  // namespace godwit
