#include "migration/page_residency.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace godwit {
namespace {

constexpr uint64_t kHostPageSize = 4096;
// Entries read per pread: 32 KiB of pagemap covers 16 MiB of RAM.
constexpr uint64_t kEntriesPerRead = 4096;
constexpr uint64_t kPresent = uint64_t{1} << 63;
constexpr uint64_t kSwapped = uint64_t{1} << 62;

}  // namespace

PageResidency::PageResidency() {
  // Only the host's page size that pagemap counts in makes the lookup valid.
  if (::sysconf(_SC_PAGESIZE) == static_cast<long>(kHostPageSize)) {
    fd_ = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  }
}

PageResidency::~PageResidency() {
  if (fd_ >= 0) ::close(fd_);
}

bool PageResidency::refill(uint64_t page_number) {
  entries_.resize(kEntriesPerRead);
  const ssize_t n = ::pread(fd_, entries_.data(), kEntriesPerRead * sizeof(uint64_t),
                            static_cast<off_t>(page_number * sizeof(uint64_t)));
  if (n < static_cast<ssize_t>(sizeof(uint64_t))) {
    entries_.clear();
    return false;
  }
  entries_.resize(static_cast<size_t>(n) / sizeof(uint64_t));
  first_ = page_number;
  return true;
}

bool PageResidency::maybe_populated(const uint8_t* page) {
  if (fd_ < 0) return true;
  const uint64_t page_number = reinterpret_cast<uintptr_t>(page) / kHostPageSize;
  if (page_number < first_ || page_number - first_ >= entries_.size()) {
    if (!refill(page_number)) return true;
  }
  return (entries_[page_number - first_] & (kPresent | kSwapped)) != 0;
}

bool PageResidency::refill_extent(int fd, uint64_t offset) {
  extent_fd_ = -1;
  const off_t data = ::lseek(fd, static_cast<off_t>(offset), SEEK_DATA);
  if (data < 0) {
    if (errno != ENXIO) return false;  // no SEEK_DATA here: look at the bytes
    extent_start_ = offset;              // nothing but hole from here on
    extent_end_ = UINT64_MAX;
    extent_data_ = false;
  } else if (static_cast<uint64_t>(data) > offset) {
    extent_start_ = offset;
    extent_end_ = static_cast<uint64_t>(data);
    extent_data_ = false;
  } else {
    const off_t hole = ::lseek(fd, static_cast<off_t>(offset), SEEK_HOLE);
    if (hole < 0 || static_cast<uint64_t>(hole) <= offset) return false;
    extent_start_ = offset;
    extent_end_ = static_cast<uint64_t>(hole);
    extent_data_ = true;
  }
  extent_fd_ = fd;
  return true;
}

bool PageResidency::maybe_data(int fd, uint64_t offset) {
  if (fd != extent_fd_ || offset < extent_start_ || offset >= extent_end_) {
    if (!refill_extent(fd, offset)) return true;
  }
  return extent_data_;
}

void PageResidency::note_populated(const uint8_t* page) {
  extent_fd_ = -1;  // a write may have filled a hole
  const uint64_t page_number = reinterpret_cast<uintptr_t>(page) / kHostPageSize;
  if (page_number >= first_ && page_number - first_ < entries_.size()) entries_[page_number - first_] |= kPresent;
}

}  // namespace godwit
