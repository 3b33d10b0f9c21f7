#include "migration/channel.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "base/errno_text.hpp"
#include "io/socket_setup.hpp"
#include "migration/channel_stream.hpp"

extern char** environ;

namespace godwit {
namespace {

std::unexpected<Error> errno_failure(const std::string& address, const std::string& what,
                                     int err) {
  return fail(address + ": " + what + ": " + errno_text(err));
}

// ---- channels over an FdStream ----------------------------------------------

class OutgoingFdChannel final : public OutgoingChannel {
 public:
  explicit OutgoingFdChannel(std::unique_ptr<FdStream> stream) : stream_(std::move(stream)) {}
  ByteSink& sink() override { return *stream_; }
  ByteSource* return_path() override {
    return stream_->is_socket() && stream_->readable() ? stream_.get() : nullptr;
  }
  Status close() override { return stream_->close(); }
  void shutdown() override { stream_->shutdown(); }
  const std::string& address() const override { return stream_->address(); }

 private:
  std::unique_ptr<FdStream> stream_;
};

class IncomingFdChannel final : public IncomingChannel {
 public:
  explicit IncomingFdChannel(std::unique_ptr<FdStream> stream) : stream_(std::move(stream)) {}
  ByteSource& source() override { return *stream_; }
  ByteSink* return_path() override {
    return stream_->is_socket() && stream_->writable() ? stream_.get() : nullptr;
  }
  Status close() override { return stream_->close(); }
  void shutdown() override { stream_->shutdown(); }
  const std::string& address() const override { return stream_->address(); }

 private:
  std::unique_ptr<FdStream> stream_;
};

// ---- descriptors: fd:, file:, exec: -----------------------------------------

// QEMU's monitor_fd_param: a leading digit means a descriptor number.
Result<int> resolve_fd(const FdAddress& fd, const FdLookup& lookup) {
  if (!fd.name.empty() && fd.name[0] >= '0' && fd.name[0] <= '9') {
    errno = 0;
    char* end = nullptr;
    const long number = std::strtol(fd.name.c_str(), &end, 10);
    if (errno != 0 || *end != '\0' || number < 0 || number > INT_MAX) {
      return fail("Invalid file descriptor number '" + fd.name + "'");
    }
    return static_cast<int>(number);
  }
  if (!lookup) return fail("File descriptor named '" + fd.name + "' has not been found");
  return lookup(fd.name);
}

Result<std::unique_ptr<FdStream>> open_fd(const FdAddress& fd, const FdLookup& lookup,
                                          bool for_writing) {
  const std::string address = to_string(MigrationAddress{fd});
  auto number = resolve_fd(fd, lookup);
  if (!number) return std::unexpected(std::move(number.error()).context(address));
  auto stream = FdStream::create(*number, address);
  if (!stream) return stream;
  if (for_writing ? !(*stream)->writable() : !(*stream)->readable()) {
    return fail(address + ": descriptor is not open for " +
                (for_writing ? "writing" : "reading"));
  }
  return stream;
}

Result<std::unique_ptr<FdStream>> open_file(const FileAddress& file, bool for_writing) {
  const std::string address = to_string(MigrationAddress{file});
  // As migration/file.c: the source creates the file and cuts it at the
  // offset, so that whatever lies before the offset is kept; both sides then
  // seek to the offset.
  const int flags = for_writing ? O_CREAT | O_WRONLY | O_CLOEXEC : O_RDONLY | O_CLOEXEC;
  const int fd = ::open(file.filename.c_str(), flags, 0600);
  if (fd < 0) return errno_failure(address, "Unable to open " + file.filename, errno);
  // Only a regular file is cut: a FIFO or a device (/dev/null) takes the
  // stream as it is.
  struct stat info {};
  const bool regular = ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode);
  if (for_writing && regular && ::ftruncate(fd, static_cast<off_t>(file.offset)) != 0) {
    const int err = errno;
    ::close(fd);
    return errno_failure(address, "Unable to truncate the file to offset " + std::to_string(file.offset), err);
  }
  if (file.offset != 0 && ::lseek(fd, static_cast<off_t>(file.offset), SEEK_SET) < 0) {
    const int err = errno;
    ::close(fd);
    return errno_failure(address, "Unable to seek to offset " + std::to_string(file.offset), err);
  }
  return FdStream::create(fd, address);
}

// Runs the command with one end of a socket pair as its stdin (source) or
// stdout (destination); the other standard stream is /dev/null. QEMU uses
// pipes; a socket lets the source write with MSG_NOSIGNAL.
Result<std::unique_ptr<FdStream>> spawn_exec(const ExecAddress& exec, bool child_reads) {
  const std::string address = to_string(MigrationAddress{exec});
  if (exec.args.empty()) return fail(address + ": empty command");
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
    return errno_failure(address, "socketpair", errno);
  }
  const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) {
    const int err = errno;
    ::close(pair[0]);
    ::close(pair[1]);
    return errno_failure(address, "open /dev/null", err);
  }
  // The parent end is one-way, so each side sees end-of-stream at once.
  ::shutdown(pair[0], child_reads ? SHUT_RD : SHUT_WR);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pair[1], child_reads ? STDIN_FILENO : STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, null_fd, child_reads ? STDOUT_FILENO : STDIN_FILENO);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t empty;
  sigemptyset(&empty);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attributes, &empty);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  // Its own process group, so cancelling reaches everything the shell
  // started (`sh -c "a | b"`), not just the shell.
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::vector<char*> argv;
  for (const std::string& arg : exec.args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ::close(pair[1]);
  ::close(null_fd);
  if (rc != 0) {
    ::close(pair[0]);
    return errno_failure(address, "Unable to spawn " + exec.args[0], rc);
  }
  auto stream = FdStream::create(pair[0], address, pid,
                               child_reads ? FdStream::Use::write_only : FdStream::Use::read_only);
  if (!stream) {
    ::kill(-pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  return stream;
}

// ---- sockets: io/socket_setup with QEMU's migration wording ----------------

std::string host_port(const InetAddress& inet) {
  return inet.host + ":" + std::to_string(inet.port);
}

std::string socket_path(const SocketAddress& socket) {
  if (const auto* unix_address = std::get_if<UnixAddress>(&socket)) return unix_address->path;
  return host_port(std::get<InetAddress>(socket));
}

// util/qemu-sockets.c's messages for the step that failed.
std::unexpected<Error> socket_failure(const std::string& address, const SocketAddress& socket,
                                      const SocketFailure& failure) {
  const bool is_unix = std::holds_alternative<UnixAddress>(socket);
  const std::string path = socket_path(socket);
  switch (failure.step) {
    case SocketStep::resolve:
      return fail(address + ": address resolution failed for " + path + ": " + failure.cause);
    case SocketStep::path_too_long:
      return fail(address + ": UNIX socket path '" + path + "' is too long");
    case SocketStep::not_a_socket:
    case SocketStep::unlink:
      return errno_failure(address, "Failed to unlink socket " + path, failure.err);
    case SocketStep::socket:
      return errno_failure(address, is_unix ? "Failed to create socket" : "Failed to bind socket",
                           failure.err);
    case SocketStep::bind:
      return errno_failure(address, is_unix ? "Failed to bind socket to " + path
                                            : std::string("Failed to bind socket"),
                           failure.err);
    case SocketStep::listen:
      return errno_failure(address, "Failed to listen on socket", failure.err);
    case SocketStep::connect: break;
  }
  return errno_failure(address, "Failed to connect to '" + path + "'", failure.err);
}

Result<int> connect_to(const SocketAddress& socket, const std::string& address) {
  auto fd = connect_socket(socket);
  if (!fd) return socket_failure(address, socket, fd.error());
  return *fd;
}

}  // namespace

Result<int> connect_unix(const UnixAddress& unix_address, const std::string& address) {
  return connect_to(unix_address, address);
}

Result<int> listen_unix(const UnixAddress& unix_address, const std::string& address, int backlog,
                        bool nonblocking) {
  const ListenOptions options{.backlog = backlog, .nonblocking = nonblocking};
  auto fd = listen_socket(unix_address, options);
  if (!fd) return socket_failure(address, unix_address, fd.error());
  return *fd;
}

namespace {

class SocketListener final : public IncomingListener {
 public:
  SocketListener(int fd, int cancel_fd, MigrationAddress bound, std::string unlink_path)
      : fd_(fd),
        cancel_fd_(cancel_fd),
        bound_(std::move(bound)),
        address_(to_string(bound_)),
        unlink_path_(std::move(unlink_path)) {}
  ~SocketListener() override {
    close();
    ::close(cancel_fd_);
  }

  Result<std::unique_ptr<IncomingChannel>> accept_one(
      std::optional<std::chrono::milliseconds> timeout) override {
    if (fd_ < 0) return fail(address_ + ": listener is closed");
    const auto deadline = timeout ? std::chrono::steady_clock::now() + *timeout
                                  : std::chrono::steady_clock::time_point::max();
    while (true) {
      if (cancelled_.load()) return fail(address_ + ": cancelled");
      const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (client >= 0) {
        auto stream = FdStream::create(client, address_);
        if (!stream) return std::unexpected(stream.error());
        return std::make_unique<IncomingFdChannel>(std::move(*stream));
      }
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
        return errno_failure(address_, "Failed to accept connection", errno);
      }
      int wait_ms = -1;
      if (timeout) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return fail(address_ + ": timed out waiting for a connection");
        wait_ms = static_cast<int>(std::min<int64_t>(left.count() + 1, INT_MAX));
      }
      pollfd fds[2] = {{fd_, POLLIN, 0}, {cancel_fd_, POLLIN, 0}};
      if (::poll(fds, 2, wait_ms) < 0 && errno != EINTR) {
        return errno_failure(address_, "poll", errno);
      }
      if (fds[1].revents) return fail(address_ + ": cancelled");
    }
  }

  const MigrationAddress& bound_address() const override { return bound_; }

  void shutdown() override {
    cancelled_.store(true);
    const uint64_t one = 1;
    (void)!::write(cancel_fd_, &one, sizeof one);
  }

  void close() override {
    if (fd_ < 0) return;
    ::close(fd_);
    fd_ = -1;
    // socket_listen_cleanup: the path goes with the listener.
    if (!unlink_path_.empty()) ::unlink(unlink_path_.c_str());
  }

 private:
  int fd_;
  const int cancel_fd_;
  const MigrationAddress bound_;
  const std::string address_;
  const std::string unlink_path_;
  std::atomic<bool> cancelled_{false};
};

Result<std::unique_ptr<IncomingListener>> make_socket_listener(int fd, MigrationAddress bound,
                                                               std::string unlink_path) {
  const int cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (cancel_fd < 0) {
    const int err = errno;
    ::close(fd);
    if (!unlink_path.empty()) ::unlink(unlink_path.c_str());
    return errno_failure(to_string(bound), "eventfd", err);
  }
  return std::make_unique<SocketListener>(fd, cancel_fd, std::move(bound), std::move(unlink_path));
}

// QEMU's migration listens with a backlog for its multifd channels.
constexpr int kMigrationBacklog = 16;

Result<std::unique_ptr<IncomingListener>> listen_inet(const InetAddress& inet) {
  const std::string address = to_string(MigrationAddress{inet});
  auto fd = listen_socket(inet, ListenOptions{.backlog = kMigrationBacklog});
  if (!fd) return socket_failure(address, inet, fd.error());
  return make_socket_listener(*fd, InetAddress{inet.host, socket_bound_port(*fd)}, "");
}

Result<std::unique_ptr<IncomingListener>> listen_unix(const UnixAddress& unix_address) {
  const std::string address = to_string(MigrationAddress{unix_address});
  auto fd = listen_unix(unix_address, address, kMigrationBacklog, /*nonblocking=*/true);
  if (!fd) return std::unexpected(std::move(fd.error()));
  return make_socket_listener(*fd, unix_address, unix_address.path);
}

// exec:, file: and fd: have their stream at once; accept_one hands it out.
class ReadyListener final : public IncomingListener {
 public:
  ReadyListener(MigrationAddress address, std::unique_ptr<IncomingChannel> channel)
      : address_(std::move(address)), channel_(std::move(channel)) {}

  Result<std::unique_ptr<IncomingChannel>> accept_one(
      std::optional<std::chrono::milliseconds>) override {
    std::lock_guard lock(mutex_);
    if (cancelled_) return fail(to_string(address_) + ": cancelled");
    if (!channel_) return fail(to_string(address_) + ": already accepted");
    return std::move(channel_);
  }
  const MigrationAddress& bound_address() const override { return address_; }
  void shutdown() override {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
    if (channel_) channel_->shutdown();
  }
  void close() override {
    std::lock_guard lock(mutex_);
    if (channel_) (void)channel_->close();
    channel_.reset();
  }

 private:
  const MigrationAddress address_;
  std::mutex mutex_;
  bool cancelled_ = false;
  std::unique_ptr<IncomingChannel> channel_;
};

}  // namespace

Result<std::unique_ptr<OutgoingChannel>> connect_outgoing(const MigrationAddress& address,
                                                          const FdLookup& fd_lookup) {
  const std::string name = to_string(address);
  Result<std::unique_ptr<FdStream>> stream = fail(name + ": unsupported");
  if (const auto* inet = std::get_if<InetAddress>(&address)) {
    auto fd = connect_to(*inet, name);
    if (!fd) return std::unexpected(fd.error());
    stream = FdStream::create(*fd, name);
  } else if (const auto* unix_address = std::get_if<UnixAddress>(&address)) {
    auto fd = connect_unix(*unix_address, name);
    if (!fd) return std::unexpected(fd.error());
    stream = FdStream::create(*fd, name);
  } else if (const auto* fd = std::get_if<FdAddress>(&address)) {
    stream = open_fd(*fd, fd_lookup, true);
  } else if (const auto* exec = std::get_if<ExecAddress>(&address)) {
    stream = spawn_exec(*exec, true);
  } else if (const auto* file = std::get_if<FileAddress>(&address)) {
    stream = open_file(*file, true);
  }
  if (!stream) return std::unexpected(stream.error());
  return std::make_unique<OutgoingFdChannel>(std::move(*stream));
}

Result<std::unique_ptr<IncomingListener>> listen_incoming(const MigrationAddress& address,
                                                          const FdLookup& fd_lookup) {
  if (const auto* inet = std::get_if<InetAddress>(&address)) return listen_inet(*inet);
  if (const auto* unix_address = std::get_if<UnixAddress>(&address)) {
    return listen_unix(*unix_address);
  }
  Result<std::unique_ptr<FdStream>> stream = fail(to_string(address) + ": unsupported");
  if (const auto* fd = std::get_if<FdAddress>(&address)) {
    stream = open_fd(*fd, fd_lookup, false);
  } else if (const auto* exec = std::get_if<ExecAddress>(&address)) {
    stream = spawn_exec(*exec, false);
  } else if (const auto* file = std::get_if<FileAddress>(&address)) {
    stream = open_file(*file, false);
  }
  if (!stream) return std::unexpected(stream.error());
  return std::make_unique<ReadyListener>(
      address, std::make_unique<IncomingFdChannel>(std::move(*stream)));
}

}  // namespace godwit
