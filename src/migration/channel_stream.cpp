#include "migration/channel_stream.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <chrono>
#include <thread>

#include "base/errno_text.hpp"

namespace godwit {
namespace {

constexpr auto kChildWait = std::chrono::seconds(30);

// A write to a pipe whose reader is gone raises SIGPIPE, and pipes have no
// MSG_NOSIGNAL: block it in this thread for the call and swallow the one
// the write raised, so the caller sees EPIPE instead.
ssize_t write_without_sigpipe(int fd, const void* data, size_t size) {
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigset_t pending;
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  sigset_t old_mask;
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
  const ssize_t n = ::write(fd, data, size);
  const int err = errno;
  if (n < 0 && err == EPIPE && !was_pending) {
    const timespec zero{};
    while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  errno = err;
  return n;
}

}  // namespace

Result<std::unique_ptr<FdStream>> FdStream::create(int fd, std::string address, pid_t child,
                                                   Use use) {
  struct stat st {};
  if (fstat(fd, &st) < 0) {
    const int err = errno;
    ::close(fd);
    return fail(address + ": " + errno_text(err));
  }
  const int flags = fcntl(fd, F_GETFL);
  const int cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (flags < 0 || cancel_fd < 0) {
    const int err = errno;
    ::close(fd);
    if (cancel_fd >= 0) ::close(cancel_fd);
    return fail(address + ": " + errno_text(err));
  }
  std::unique_ptr<FdStream> stream(new FdStream(fd, cancel_fd, std::move(address), child));
  stream->is_socket_ = S_ISSOCK(st.st_mode);
  stream->is_fifo_ = S_ISFIFO(st.st_mode);
  const int mode = flags & O_ACCMODE;
  stream->readable_ = mode == O_RDONLY || mode == O_RDWR;
  stream->writable_ = mode == O_WRONLY || mode == O_RDWR;
  if (use == Use::write_only) stream->readable_ = false;
  if (use == Use::read_only) stream->writable_ = false;
  // Sockets and pipes wait in poll() beside the cancel eventfd; regular
  // files and devices never block for long.
  if ((stream->is_socket_ || stream->is_fifo_) && !(flags & O_NONBLOCK)) {
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  }
  return stream;
}

FdStream::FdStream(int fd, int cancel_fd, std::string address, pid_t child)
    : fd_(fd), cancel_fd_(cancel_fd), address_(std::move(address)), child_(child) {}

FdStream::~FdStream() {
  (void)close();
  ::close(cancel_fd_);
}

std::unexpected<Error> FdStream::failure(const std::string& what, int err) const {
  return fail(address_ + ": " + what + ": " + errno_text(err));
}

Status FdStream::wait_for(short events) {
  pollfd fds[2] = {{fd_, events, 0}, {cancel_fd_, POLLIN, 0}};
  while (true) {
    if (cancelled_.load()) return fail(address_ + ": cancelled");
    const int n = poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return failure("poll", errno);
    }
    if (fds[1].revents) return fail(address_ + ": cancelled");
    if (fds[0].revents) return {};
  }
}

Status FdStream::write_all(std::span<const uint8_t> bytes) {
  const char* what = is_socket_ ? "Unable to write to socket" : "Unable to write to file";
  if (fd_ < 0) return fail(address_ + ": channel is closed");
  if (!writable_) return fail(address_ + ": channel is not open for writing");
  size_t done = 0;
  while (done < bytes.size()) {
    if (cancelled_.load()) return fail(address_ + ": cancelled");
    const uint8_t* data = bytes.data() + done;
    const size_t size = bytes.size() - done;
    ssize_t n;
    if (is_socket_) {
      n = ::send(fd_, data, size, MSG_NOSIGNAL);
    } else if (is_fifo_) {
      n = write_without_sigpipe(fd_, data, size);
    } else {
      n = ::write(fd_, data, size);
    }
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n == 0) {
      return failure(what, ENOSPC);  // write(2) on a full device may return 0
    } else if (errno == EAGAIN) {
      if (auto waited = wait_for(POLLOUT); !waited) return waited;
    } else if (errno != EINTR) {
      return failure(what, errno);
    }
  }
  return {};
}

Status FdStream::write_all_parts(std::span<const iovec> parts) {
  if (is_fifo_ || fd_ < 0 || !writable_) return ByteSink::write_all_parts(parts);
  const char* what = is_socket_ ? "Unable to write to socket" : "Unable to write to file";
  pending_parts_.clear();
  for (const iovec& part : parts) {
    if (part.iov_len != 0) pending_parts_.push_back(part);
  }
  size_t first = 0;
  while (first < pending_parts_.size()) {
    if (cancelled_.load()) return fail(address_ + ": cancelled");
    const size_t count = std::min<size_t>(pending_parts_.size() - first, IOV_MAX);
    ssize_t n;
    if (is_socket_) {
      msghdr message{};
      message.msg_iov = &pending_parts_[first];
      message.msg_iovlen = count;
      n = ::sendmsg(fd_, &message, MSG_NOSIGNAL);
    } else {
      n = ::writev(fd_, &pending_parts_[first], static_cast<int>(count));
    }
    if (n > 0) {
      auto left = static_cast<size_t>(n);
      while (left > 0) {
        iovec& part = pending_parts_[first];
        if (left >= part.iov_len) {
          left -= part.iov_len;
          ++first;
        } else {
          part.iov_base = static_cast<uint8_t*>(part.iov_base) + left;
          part.iov_len -= left;
          left = 0;
        }
      }
    } else if (n == 0) {
      return failure(what, ENOSPC);  // as write_all: a full device may return 0
    } else if (errno == EAGAIN) {
      if (auto waited = wait_for(POLLOUT); !waited) return waited;
    } else if (errno != EINTR) {
      return failure(what, errno);
    }
  }
  return {};
}

Result<size_t> FdStream::read_some(std::span<uint8_t> buffer) {
  const char* what = is_socket_ ? "Unable to read from socket" : "Unable to read from file";
  if (fd_ < 0) return fail(address_ + ": channel is closed");
  if (!readable_) return fail(address_ + ": channel is not open for reading");
  while (true) {
    if (cancelled_.load()) return fail(address_ + ": cancelled");
    const ssize_t n = is_socket_ ? ::recv(fd_, buffer.data(), buffer.size(), 0)
                                 : ::read(fd_, buffer.data(), buffer.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EAGAIN) {
      if (auto waited = wait_for(POLLIN); !waited) return std::unexpected(waited.error());
    } else if (errno != EINTR) {
      return failure(what, errno);
    }
  }
}

void FdStream::shutdown() {
  cancelled_.store(true);
  const uint64_t one = 1;
  (void)!::write(cancel_fd_, &one, sizeof one);
  std::lock_guard lock(mutex_);
  // Tell the peer too, as QEMU's qemu_file_shutdown does on cancel.
  if (fd_ >= 0 && is_socket_) ::shutdown(fd_, SHUT_RDWR);
  if (child_ > 0) ::kill(-child_, SIGTERM);  // the command's whole process group
}

Status FdStream::close() {
  if (closed_) return *closed_;
  {
    std::lock_guard lock(mutex_);
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  closed_ = reap_child();
  return *closed_;
}

Status FdStream::reap_child() {
  pid_t child;
  {
    std::lock_guard lock(mutex_);
    child = child_;
  }
  if (child <= 0) return {};
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + kChildWait;
  int signal_step = 0;
  while (true) {
    pid_t r;
    int err;
    {
      // Reaped and forgotten under the lock, so shutdown() never signals
      // a recycled pid.
      std::lock_guard lock(mutex_);
      r = waitpid(child, &status, WNOHANG);
      err = errno;
      if (r == child || (r < 0 && err != EINTR)) child_ = -1;
    }
    if (r == child) break;
    if (r < 0 && err != EINTR) return failure("Cannot wait on pid " + std::to_string(child), err);
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(-child, signal_step == 0 ? SIGTERM : SIGKILL);
      ++signal_step;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (cancelled_.load()) return {};
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    return fail(address_ + ": command exited with status " + std::to_string(WEXITSTATUS(status)));
  }
  if (WIFSIGNALED(status)) {
    return fail(address_ + ": command killed by signal " + std::to_string(WTERMSIG(status)));
  }
  return {};
}

}  // namespace godwit
