// A raw disk image in a host file or block device: QEMU's file protocol
// (block/file-posix.c) under its raw format, which passes every request
// through. Reads and writes are vectored into the caller's buffers (guest
// RAM the device has mapped), at byte offsets; the device checks that they
// fall inside the disk.
//
// Requests are asynchronous: each returns at once and its completion runs
// on one of the IoWorkerPool's threads (never on the caller's), with the
// outcome as a Status whose error names the operation, offset and file.
// The buffers must stay valid until then.
//
// Opening follows QEMU's cache= modes (CacheOptions): O_DIRECT for direct,
// a flush after each write without a write cache, flushes answered at once
// with no_flush. With O_DIRECT the kernel wants offsets, lengths and
// buffers aligned; requests that are not go through an aligned bounce
// buffer (read-modify-write for a partial block, serialized against other
// writes), as QEMU's block layer does.
//
// Locking: set_permissions() takes QEMU's lock bytes for what the device
// does with the image (image_lock.hpp). inactivate() gives them up while
// keeping the file open, activate() takes them again: the two sides of a
// migration's switchover. fd() lends the descriptor so it can be handed to
// a new godwit (cpr-transfer, cpr-exec), and adopt() builds an image on one
// handed over; its locks come with it, belonging to the open file
// description. The destructor closes without unlocking, so a description
// shared with a new owner keeps its locks; the last close drops them.
//
// Threads: requests from any thread; set_permissions, activate, inactivate,
// adopt and destruction from the owner (main loop or migration), with no
// request racing them. The IoWorkerPool must outlive the image.
#pragma once

#include <sys/uio.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "block/block_config.hpp"
#include "block/io_worker_pool.hpp"
#include "block/permissions.hpp"

namespace godwit {

struct RawImageOptions {
  bool read_only = false;
  CacheOptions cache;
  DiscardMode discard = DiscardMode::kIgnore;
  bool locking = true;  // locking=off: take no lock bytes at all
};

class RawImage {
 public:
  using Completion = std::move_only_function<void(Status)>;

  // Opens `path` (read-only or read-write, O_DIRECT with cache.direct).
  // Fails in QEMU's words: "Could not open 'x.img': No such file or
  // directory". Takes no locks until set_permissions().
  static Result<std::unique_ptr<RawImage>> open(const std::string& path, const RawImageOptions& options,
                                                IoWorkerPool& workers);
  // Takes ownership of `fd`, already open on `path` (handed over by CPR),
  // with `options` applied: fails if it is read-only and options are not,
  // or not a file or block device. Locks it holds stay held.
  static Result<std::unique_ptr<RawImage>> adopt(int fd, const std::string& path, const RawImageOptions& options,
                                                 IoWorkerPool& workers);

  ~RawImage();  // drains, then closes
  RawImage(const RawImage&) = delete;
  RawImage& operator=(const RawImage&) = delete;

  const std::string& path() const { return path_; }
  const RawImageOptions& options() const { return options_; }
  bool read_only() const { return options_.read_only; }
  uint64_t size_bytes() const { return size_bytes_; }
  // The descriptor, lent: to send or keep across exec, not to close.
  int fd() const { return fd_; }

  // What the image's user does and shares; takes or drops lock bytes to
  // match while active, only records while inactive. Fails with QEMU's
  // lock error, leaving the previous permissions in force.
  Status set_permissions(BlockPermissions wanted);
  BlockPermissions permissions() const { return permissions_; }
  // Drops every lock byte (the source at switchover); requests still work.
  Status inactivate();
  // Takes the lock bytes of permissions() again; fails with the lock error
  // if another process holds the image meanwhile, and stays inactive.
  Status activate();
  bool active() const { return active_; }
  // cpr-transfer's and cpr-exec's new side, on an adopted image: inactive
  // without unlocking, since the lock bytes it shares with the old program
  // are the ones that program still counts on until the switchover;
  // activate() then moves them to this side's permissions with no moment
  // unlocked.
  void defer_locks_to_sender() { active_ = false; }
  // The old side, once the new program runs on the descriptor: inactive for
  // good, its locks left to the new owner; activate() refuses, so a `cont`
  // here cannot make two writers.
  void hand_over() {
    active_ = false;
    handed_over_ = true;
  }
  bool handed_over() const { return handed_over_; }

  void read(uint64_t offset, std::span<const std::span<uint8_t>> segments, Completion done);
  void write(uint64_t offset, std::span<const std::span<const uint8_t>> segments, Completion done);
  void flush(Completion done);
  // Deallocates (discard=unmap) or does nothing (discard=ignore, or a file
  // system that cannot): a discard is a hint, and succeeds either way.
  void discard(uint64_t offset, uint64_t length, Completion done);
  // Zeroes [offset, offset + length): a punched hole when `may_unmap` and
  // discard=unmap, else an allocated zero range, else written zeroes.
  void write_zeroes(uint64_t offset, uint64_t length, bool may_unmap, Completion done);

  // Waits until every request made so far has completed (its completion
  // returned).
  void drain();
  size_t in_flight() const;

 private:
  RawImage(int fd, std::string path, const RawImageOptions& options, IoWorkerPool& workers);
  Status finish_open();

  // Runs `work` on a worker, then `done` with its outcome.
  void start(std::move_only_function<Status()> work, Completion done);
  Status check_range(std::string_view what, uint64_t offset, uint64_t length) const;
  Status check_writable(std::string_view what) const;
  Status do_read(uint64_t offset, std::vector<iovec> segments);
  Status do_write(uint64_t offset, std::vector<iovec> segments, bool sync = true);
  Status do_write_zeroes(uint64_t offset, uint64_t length, bool may_unmap);
  Status sync_after_write();
  bool aligned(uint64_t offset, uint64_t length, std::span<const iovec> segments) const;
  Status bounced_read(uint64_t offset, std::span<const iovec> segments, uint64_t length);
  Status bounced_write(uint64_t offset, std::span<const iovec> segments, uint64_t length);
  std::string where(std::string_view what, uint64_t offset, uint64_t length) const;

  int fd_;
  std::string path_;
  RawImageOptions options_;
  IoWorkerPool& workers_;
  uint64_t size_bytes_ = 0;
  uint64_t request_alignment_ = 1;  // 512 or 4096 with O_DIRECT
  uint64_t memory_alignment_ = 1;
  BlockPermissions permissions_ = kNoPermissions;
  bool active_ = true;
  bool handed_over_ = false;

  // Writes take it shared; a read-modify-write of a partial block takes it
  // exclusively so no other write lands in the block meanwhile.
  std::shared_mutex rmw_mutex_;
  mutable std::mutex in_flight_mutex_;
  std::condition_variable idle_;
  size_t in_flight_ = 0;
};

}  // namespace godwit
