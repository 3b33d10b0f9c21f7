// One descriptor carrying a migration stream (a socket, a pipe, a file, or
// a socket to an exec'd command), with the cancellation and child reaping
// the transports share. Internal to channel.cpp and its tests.
//
// Threads: owned by one thread; shutdown() from any.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "migration/byte_channel.hpp"

namespace godwit {

class FdStream final : public ByteSink, public ByteSource {
 public:
  // Which ways the stream goes: as the descriptor was opened, or one way
  // only (a socket to an exec'd command carries one direction).
  enum class Use { as_opened, write_only, read_only };

  // Takes `fd` (closed by close()). `child` is the exec'd command to reap
  // on close, or -1. `address` prefixes every error.
  static Result<std::unique_ptr<FdStream>> create(int fd, std::string address, pid_t child = -1,
                                                  Use use = Use::as_opened);
  ~FdStream() override;
  FdStream(const FdStream&) = delete;
  FdStream& operator=(const FdStream&) = delete;

  Status write_all(std::span<const uint8_t> bytes) override;
  // One sendmsg/writev for many parts (a pipe goes part by part, as
  // write_all handles its SIGPIPE).
  Status write_all_parts(std::span<const iovec> parts) override;
  Result<size_t> read_some(std::span<uint8_t> buffer) override;

  bool readable() const { return readable_; }
  bool writable() const { return writable_; }
  bool is_socket() const { return is_socket_; }
  const std::string& address() const { return address_; }

  // Closes the descriptor, then reaps the child: waits for it up to
  // `child_wait`, then SIGTERM, then SIGKILL. A non-zero exit is an error
  // unless the stream was shut down. Later calls return the first result.
  Status close();
  // Any thread: wakes a blocked read or write (and kills the child).
  void shutdown();

 private:
  FdStream(int fd, int cancel_fd, std::string address, pid_t child);
  // Waits until `fd_` is ready for `events` or the stream is shut down.
  Status wait_for(short events);
  std::unexpected<Error> failure(const std::string& what, int err) const;
  Status reap_child();

  int fd_;
  std::vector<iovec> pending_parts_;  // write_all_parts' copy, advanced on short writes
  const int cancel_fd_;  // eventfd, readable once shut down
  const std::string address_;
  pid_t child_;
  bool readable_ = false;
  bool writable_ = false;
  bool is_socket_ = false;
  bool is_fifo_ = false;
  std::atomic<bool> cancelled_{false};
  std::mutex mutex_;  // guards fd_ and child_ against shutdown()
  std::optional<Status> closed_;
};

}  // namespace godwit
