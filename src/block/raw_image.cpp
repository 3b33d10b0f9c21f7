#include "block/raw_image.hpp"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "base/errno_text.hpp"
#include "block/image_lock.hpp"

namespace godwit {
namespace {

constexpr uint64_t kDirectMemoryAlignment = 4096;  // safe for every O_DIRECT device
constexpr size_t kZeroChunkBytes = 1 << 20;

uint64_t round_down(uint64_t value, uint64_t alignment) { return value / alignment * alignment; }
uint64_t round_up(uint64_t value, uint64_t alignment) { return round_down(value + alignment - 1, alignment); }

struct FreeDeleter {
  void operator()(void* pointer) const { free(pointer); }
};
using AlignedBuffer = std::unique_ptr<uint8_t, FreeDeleter>;

AlignedBuffer aligned_buffer(uint64_t alignment, uint64_t size) {
  return AlignedBuffer(
      static_cast<uint8_t*>(aligned_alloc(alignment, round_up(std::max<uint64_t>(size, 1), alignment))));
}

// preadv/pwritev until every byte moved, resuming after short transfers and
// EINTR. A read that meets the end of the file fills the rest with zeros,
// as QEMU's raw driver does. Returns 0 or an errno.
int transfer_all(bool is_write, int fd, uint64_t offset, std::vector<iovec> segments) {
  size_t index = 0;
  while (index < segments.size()) {
    if (segments[index].iov_len == 0) {
      ++index;
      continue;
    }
    const int count = static_cast<int>(std::min<size_t>(IOV_MAX, segments.size() - index));
    const ssize_t moved = is_write ? pwritev(fd, &segments[index], count, static_cast<off_t>(offset))
                                   : preadv(fd, &segments[index], count, static_cast<off_t>(offset));
    if (moved < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (moved == 0) {
      if (is_write) return ENOSPC;  // no progress on a non-empty write
      for (; index < segments.size(); ++index) memset(segments[index].iov_base, 0, segments[index].iov_len);
      return 0;
    }
    offset += static_cast<uint64_t>(moved);
    size_t left = static_cast<size_t>(moved);
    while (left > 0 && index < segments.size()) {
      iovec& segment = segments[index];
      const size_t step = std::min(left, segment.iov_len);
      segment.iov_base = static_cast<uint8_t*>(segment.iov_base) + step;
      segment.iov_len -= step;
      left -= step;
      if (segment.iov_len == 0) ++index;
    }
  }
  return 0;
}

uint64_t total_length(std::span<const iovec> segments) {
  uint64_t total = 0;
  for (const iovec& segment : segments) total += segment.iov_len;
  return total;
}

// The smallest O_DIRECT read the file accepts at offset 0, as QEMU's
// raw_probe_alignment: 512 on most disks, 4096 on 4Kn ones.
uint64_t probe_request_alignment(int fd) {
  AlignedBuffer buffer = aligned_buffer(kDirectMemoryAlignment, kDirectMemoryAlignment);
  for (uint64_t size : {512u, 1024u, 2048u, 4096u}) {
    if (pread(fd, buffer.get(), size, 0) >= 0) return size;
    if (errno != EINVAL) break;
  }
  return 4096;
}

}  // namespace

Result<std::unique_ptr<RawImage>> RawImage::open(const std::string& path, const RawImageOptions& options,
                                                 IoWorkerPool& workers) {
  int flags = (options.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
  if (options.cache.direct) flags |= O_DIRECT;
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) return fail("Could not open '" + path + "': " + errno_text(errno));
  std::unique_ptr<RawImage> image(new RawImage(fd, path, options, workers));
  if (auto status = image->finish_open(); !status) return std::unexpected(std::move(status.error()));
  return image;
}

Result<std::unique_ptr<RawImage>> RawImage::adopt(int fd, const std::string& path, const RawImageOptions& options,
                                                  IoWorkerPool& workers) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return fail("descriptor " + std::to_string(fd) + " of '" + path + "': " + errno_text(errno));
  // The image owns it from here, even when it refuses it below.
  std::unique_ptr<RawImage> image(new RawImage(fd, path, options, workers));
  if (!options.read_only && (flags & O_ACCMODE) == O_RDONLY) {
    return fail("descriptor " + std::to_string(fd) + " of '" + path + "' is open read-only");
  }
  // O_DIRECT is one of the few flags F_SETFL changes, so cache.direct can
  // differ from the sender's; close-on-exec is ours to manage again.
  const int wanted = options.cache.direct ? (flags | O_DIRECT) : (flags & ~O_DIRECT);
  if (wanted != flags && fcntl(fd, F_SETFL, wanted) != 0) {
    return fail("Could not set O_DIRECT on descriptor " + std::to_string(fd) + " of '" + path +
                "': " + errno_text(errno));
  }
  (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
  if (auto status = image->finish_open(); !status) return std::unexpected(std::move(status.error()));
  return image;
}

RawImage::RawImage(int fd, std::string path, const RawImageOptions& options, IoWorkerPool& workers)
    : fd_(fd), path_(std::move(path)), options_(options), workers_(workers) {}

Status RawImage::finish_open() {
  struct stat info = {};
  if (fstat(fd_, &info) != 0) return fail("Could not stat '" + path_ + "': " + errno_text(errno));
  if (!S_ISREG(info.st_mode) && !S_ISBLK(info.st_mode)) {
    return fail("'" + path_ + "' is not a file or block device");
  }
  // Block devices report st_size 0; the end of the file is right for both.
  const off_t end = lseek(fd_, 0, SEEK_END);
  if (end < 0) return fail("Could not get the size of '" + path_ + "': " + errno_text(errno));
  size_bytes_ = static_cast<uint64_t>(end);
  if (options_.cache.direct) {
    request_alignment_ = probe_request_alignment(fd_);
    memory_alignment_ = kDirectMemoryAlignment;
  }
  return {};
}

RawImage::~RawImage() {
  drain();
  // No explicit unlock: a description shared with a new owner keeps its
  // locks, and the last close drops them anyway.
  ::close(fd_);
}

Status RawImage::set_permissions(BlockPermissions wanted) {
  if (active_ && options_.locking) {
    if (auto status = change_image_locks(fd_, permissions_, wanted, path_); !status) return status;
  }
  permissions_ = wanted;
  return {};
}

Status RawImage::inactivate() {
  if (!active_) return {};
  if (options_.locking) {
    if (auto status = release_image_locks(fd_); !status) return status;
  }
  active_ = false;
  return {};
}

Status RawImage::activate() {
  if (active_) return {};
  if (handed_over_) {
    return fail("Could not activate '" + path_ + "': it was handed over to the new process with its locks (cpr)");
  }
  if (options_.locking) {
    if (auto status = change_image_locks(fd_, kNoPermissions, permissions_, path_); !status) return status;
  }
  active_ = true;
  return {};
}

void RawImage::start(std::move_only_function<Status()> work, Completion done) {
  {
    std::lock_guard lock(in_flight_mutex_);
    ++in_flight_;
  }
  workers_.submit([this, work = std::move(work), done = std::move(done)]() mutable {
    done(work());
    std::lock_guard lock(in_flight_mutex_);
    if (--in_flight_ == 0) idle_.notify_all();
  });
}

void RawImage::drain() {
  std::unique_lock lock(in_flight_mutex_);
  idle_.wait(lock, [this] { return in_flight_ == 0; });
}

size_t RawImage::in_flight() const {
  std::lock_guard lock(in_flight_mutex_);
  return in_flight_;
}

std::string RawImage::where(std::string_view what, uint64_t offset, uint64_t length) const {
  std::string text(what);
  text += ' ' + std::to_string(length) + " bytes at offset " + std::to_string(offset) + " of '" + path_ + "'";
  return text;
}

Status RawImage::check_range(std::string_view what, uint64_t offset, uint64_t length) const {
  if (offset > size_bytes_ || length > size_bytes_ - offset) {
    return fail(where(what, offset, length) + ": beyond the end of the image (" + std::to_string(size_bytes_) +
                " bytes)");
  }
  return {};
}

Status RawImage::check_writable(std::string_view what) const {
  if (options_.read_only) return fail(std::string(what) + " '" + path_ + "': the image is read-only");
  return {};
}

bool RawImage::aligned(uint64_t offset, uint64_t length, std::span<const iovec> segments) const {
  if (offset % request_alignment_ != 0 || length % request_alignment_ != 0) return false;
  return std::all_of(segments.begin(), segments.end(), [this](const iovec& segment) {
    return reinterpret_cast<uintptr_t>(segment.iov_base) % memory_alignment_ == 0 &&
           segment.iov_len % request_alignment_ == 0;
  });
}

void RawImage::read(uint64_t offset, std::span<const std::span<uint8_t>> segments, Completion done) {
  std::vector<iovec> list;
  list.reserve(segments.size());
  for (auto segment : segments) list.push_back({segment.data(), segment.size()});
  start([this, offset, list = std::move(list)]() mutable { return do_read(offset, std::move(list)); }, std::move(done));
}

void RawImage::write(uint64_t offset, std::span<const std::span<const uint8_t>> segments, Completion done) {
  std::vector<iovec> list;
  list.reserve(segments.size());
  // pwritev takes non-const iovecs; it never writes through them.
  for (auto segment : segments) list.push_back({const_cast<uint8_t*>(segment.data()), segment.size()});
  start([this, offset, list = std::move(list)]() mutable { return do_write(offset, std::move(list)); },
        std::move(done));
}

Status RawImage::do_read(uint64_t offset, std::vector<iovec> segments) {
  const uint64_t length = total_length(segments);
  if (auto status = check_range("reading", offset, length); !status) return status;
  if (!aligned(offset, length, segments)) return bounced_read(offset, segments, length);
  if (int err = transfer_all(false, fd_, offset, std::move(segments)); err != 0) {
    return fail(where("reading", offset, length) + ": " + errno_text(err));
  }
  return {};
}

Status RawImage::do_write(uint64_t offset, std::vector<iovec> segments, bool sync) {
  const uint64_t length = total_length(segments);
  if (auto status = check_writable("writing"); !status) return status;
  if (auto status = check_range("writing", offset, length); !status) return status;
  if (!aligned(offset, length, segments)) {
    if (auto status = bounced_write(offset, segments, length); !status) return status;
  } else {
    std::shared_lock lock(rmw_mutex_);
    if (int err = transfer_all(true, fd_, offset, std::move(segments)); err != 0) {
      return fail(where("writing", offset, length) + ": " + errno_text(err));
    }
  }
  return sync ? sync_after_write() : Status{};
}

Status RawImage::bounced_read(uint64_t offset, std::span<const iovec> segments, uint64_t length) {
  const uint64_t start = round_down(offset, request_alignment_);
  const uint64_t span = round_up(offset + length, request_alignment_) - start;
  AlignedBuffer buffer = aligned_buffer(memory_alignment_, span);
  if (!buffer) return fail(where("reading", offset, length) + ": out of memory for a bounce buffer");
  if (int err = transfer_all(false, fd_, start, {iovec{buffer.get(), span}}); err != 0) {
    return fail(where("reading", offset, length) + ": " + errno_text(err));
  }
  const uint8_t* from = buffer.get() + (offset - start);
  for (const iovec& segment : segments) {
    memcpy(segment.iov_base, from, segment.iov_len);
    from += segment.iov_len;
  }
  return {};
}

Status RawImage::bounced_write(uint64_t offset, std::span<const iovec> segments, uint64_t length) {
  const uint64_t start = round_down(offset, request_alignment_);
  const uint64_t span = round_up(offset + length, request_alignment_) - start;
  AlignedBuffer buffer = aligned_buffer(memory_alignment_, span);
  if (!buffer) return fail(where("writing", offset, length) + ": out of memory for a bounce buffer");
  const bool partial = start != offset || span != length;
  // A partial block is read, patched and written back; no other write may
  // land in it meanwhile.
  std::shared_lock shared(rmw_mutex_, std::defer_lock);
  std::unique_lock exclusive(rmw_mutex_, std::defer_lock);
  if (partial) {
    exclusive.lock();
    if (int err = transfer_all(false, fd_, start, {iovec{buffer.get(), span}}); err != 0) {
      return fail(where("writing", offset, length) + ": reading around it: " + errno_text(err));
    }
  } else {
    shared.lock();
  }
  uint8_t* to = buffer.get() + (offset - start);
  for (const iovec& segment : segments) {
    memcpy(to, segment.iov_base, segment.iov_len);
    to += segment.iov_len;
  }
  if (int err = transfer_all(true, fd_, start, {iovec{buffer.get(), span}}); err != 0) {
    return fail(where("writing", offset, length) + ": " + errno_text(err));
  }
  return {};
}

Status RawImage::sync_after_write() {
  if (options_.cache.write_cache || options_.cache.no_flush) return {};
  if (fdatasync(fd_) != 0) return fail("flushing '" + path_ + "' after a write: " + errno_text(errno));
  return {};
}

void RawImage::flush(Completion done) {
  start(
      [this]() -> Status {
        if (options_.cache.no_flush) return {};  // cache=unsafe
        if (fdatasync(fd_) != 0) return fail("flushing '" + path_ + "': " + errno_text(errno));
        return {};
      },
      std::move(done));
}

void RawImage::discard(uint64_t offset, uint64_t length, Completion done) {
  start(
      [this, offset, length]() -> Status {
        if (auto status = check_writable("discarding in"); !status) return status;
        if (auto status = check_range("discarding", offset, length); !status) return status;
        if (options_.discard == DiscardMode::kIgnore || length == 0) return {};
        std::shared_lock lock(rmw_mutex_);
        if (fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                      static_cast<off_t>(length)) != 0) {
          // As QEMU's bdrv_co_pdiscard: a file system that cannot is fine.
          if (errno == EOPNOTSUPP || errno == ENOSYS) return {};
          return fail(where("discarding", offset, length) + ": " + errno_text(errno));
        }
        return {};
      },
      std::move(done));
}

void RawImage::write_zeroes(uint64_t offset, uint64_t length, bool may_unmap, Completion done) {
  start([this, offset, length, may_unmap] { return do_write_zeroes(offset, length, may_unmap); }, std::move(done));
}

Status RawImage::do_write_zeroes(uint64_t offset, uint64_t length, bool may_unmap) {
  if (auto status = check_writable("writing zeroes to"); !status) return status;
  if (auto status = check_range("writing zeroes", offset, length); !status) return status;
  if (length == 0) return {};
  {
    std::shared_lock lock(rmw_mutex_);
    // A punched hole reads back as zeros on Linux, so it serves when the
    // guest allows unmapping and the image is set to unmap.
    const off_t at = static_cast<off_t>(offset);
    const off_t size = static_cast<off_t>(length);
    if (may_unmap && options_.discard == DiscardMode::kUnmap &&
        fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, at, size) == 0) {
      return sync_after_write();
    }
    if (fallocate(fd_, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, at, size) == 0) return sync_after_write();
    if (errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL && errno != ENODEV) {
      return fail(where("writing zeroes", offset, length) + ": " + errno_text(errno));
    }
  }
  // The file system zeroes nothing for us: write them.
  AlignedBuffer zeros = aligned_buffer(kDirectMemoryAlignment, kZeroChunkBytes);
  if (!zeros) return fail(where("writing zeroes", offset, length) + ": out of memory");
  memset(zeros.get(), 0, kZeroChunkBytes);
  Status status;
  for (uint64_t done = 0; done < length && status;) {
    const uint64_t step = std::min<uint64_t>(kZeroChunkBytes, length - done);
    // One flush at the end, not one per chunk.
    status = do_write(offset + done, {iovec{zeros.get(), step}}, /*sync=*/false);
    done += step;
  }
  if (!status) return status;
  return sync_after_write();
}

}  // namespace godwit
