#include "migration/cpr_state.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/errno_text.hpp"
#include "migration/address_space_keeper.hpp"
#include "migration/channel.hpp"

namespace godwit {
namespace {

void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

std::unexpected<Error> errno_error(const std::string& what, int err) { return fail(what + ": " + errno_text(err)); }

// Reads exactly `size` bytes; a short stream is an error naming `what`.
Status read_exact(int fd, uint8_t* data, size_t size, const std::string& what) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::recv(fd, data + done, size - done, 0);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n == 0) {
      return fail(what + ": the CPR channel closed early (" + std::to_string(size - done) + " more bytes expected)");
    } else if (errno != EINTR) {
      return errno_error(what + ": reading the CPR channel", errno);
    }
  }
  return {};
}

Status send_all(int fd, const uint8_t* data, size_t size, const std::string& what) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::send(fd, data + done, size - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && errno != EINTR) {
      return errno_error(what + ": writing the CPR channel", errno);
    }
  }
  return {};
}

// One descriptor on the cpr channel: a one-byte message with room for one
// SCM_RIGHTS descriptor. Not movable: the header points into it.
struct FdMessage {
  FdMessage() {
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
  }
  FdMessage(const FdMessage&) = delete;
  FdMessage& operator=(const FdMessage&) = delete;

  uint8_t byte = 'F';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
};

std::vector<uint8_t> encode_state(MigrationMode mode, const std::vector<CprFdRef>& fds) {
  std::vector<uint8_t> head;
  put_be32(head, kCprMagic);
  put_be32(head, kCprVersion);
  put_be32(head, static_cast<uint32_t>(mode));
  put_be32(head, static_cast<uint32_t>(fds.size()));
  for (const CprFdRef& ref : fds) {
    put_be32(head, static_cast<uint32_t>(ref.name.size() + 1));
    head.insert(head.end(), ref.name.begin(), ref.name.end());
    head.push_back(0);
    put_be32(head, ref.id);
  }
  return head;
}

// Reads the state's header and records through `read` (exact lengths).
template <class Read>
Result<std::pair<MigrationMode, std::vector<std::pair<std::string, uint32_t>>>> decode_state(Read&& read,
                                                                                              const std::string& what) {
  auto be32 = [&]() -> Result<uint32_t> {
    uint8_t b[4];
    if (auto status = read(b, 4); !status) return std::unexpected(status.error());
    return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
  };
  auto magic = be32();
  if (!magic) return std::unexpected(magic.error());
  if (*magic != kCprMagic) return fail(what + ": Not a migration stream (bad magic " + std::to_string(*magic) + ")");
  auto version = be32();
  if (!version) return std::unexpected(version.error());
  if (*version != kCprVersion) return fail(what + ": Unsupported migration stream version " + std::to_string(*version));
  auto mode = be32();
  if (!mode) return std::unexpected(mode.error());
  if (*mode != static_cast<uint32_t>(MigrationMode::kCprTransfer) &&
      *mode != static_cast<uint32_t>(MigrationMode::kCprExec)) {
    return fail(what + ": CPR state for mode " + std::to_string(*mode) + ", which hands over no descriptors");
  }
  auto count = be32();
  if (!count) return std::unexpected(count.error());
  if (*count > kCprMaxFds) return fail(what + ": " + std::to_string(*count) + " descriptors is too many");
  std::vector<std::pair<std::string, uint32_t>> records;
  for (uint32_t i = 0; i < *count; ++i) {
    auto length = be32();
    if (!length) return std::unexpected(length.error());
    if (*length == 0 || *length > kCprMaxNameBytes) {
      return fail(what + ": descriptor " + std::to_string(i) + " has a name of " + std::to_string(*length) + " bytes");
    }
    std::string name(*length, '\0');
    if (auto status = read(reinterpret_cast<uint8_t*>(name.data()), name.size()); !status) {
      return std::unexpected(status.error());
    }
    if (name.back() != '\0' || name.find('\0') != name.size() - 1) {
      return fail(what + ": descriptor " + std::to_string(i) + "'s name is not one NUL-terminated string");
    }
    name.pop_back();
    auto id = be32();
    if (!id) return std::unexpected(id.error());
    records.emplace_back(std::move(name), *id);
  }
  return std::make_pair(static_cast<MigrationMode>(*mode), std::move(records));
}

}  // namespace

CprFd::~CprFd() {
  if (fd_ >= 0) ::close(fd_);
}

CprFd* CprState::find(const std::string& name) {
  for (CprFd& fd : fds) {
    if (fd.name() == name) return &fd;
  }
  return nullptr;
}

Result<UnixAddress> cpr_channel_address(const MigrationAddress& address) {
  if (const auto* unix_address = std::get_if<UnixAddress>(&address)) return *unix_address;
  return fail("The cpr channel must be a UNIX socket (" + to_string(address) +
              " cannot carry file descriptors)");
}

// -- old side -------------------------------------------------------------------

Result<std::unique_ptr<CprSender>> CprSender::connect(const UnixAddress& address) {
  const std::string what = "cpr channel unix:" + address.path;
  auto fd = connect_unix(address, what);
  if (!fd) return std::unexpected(fd.error());
  return std::unique_ptr<CprSender>(new CprSender(*fd, what));
}

CprSender::~CprSender() { ::close(fd_); }

Status CprSender::send(MigrationMode mode, const std::vector<CprFdRef>& fds) {
  if (fds.size() > kCprMaxFds) return fail(address_ + ": too many descriptors to hand over");
  const std::vector<uint8_t> head = encode_state(mode, fds);
  if (auto status = send_all(fd_, head.data(), head.size(), address_); !status) return status;
  for (const CprFdRef& ref : fds) {
    FdMessage out;
    msghdr& message = out.message;
    cmsghdr* cmsg = CMSG_FIRSTHDR(&message);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &ref.fd, sizeof(int));
    ssize_t n;
    do {
      n = ::sendmsg(fd_, &message, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n != 1) return errno_error(address_ + ": sending descriptor '" + ref.name + "'", n < 0 ? errno : EIO);
  }
  return {};
}

namespace {

// The new side's list of adopted chardevs (see the header); empty bytes: none.
Result<std::vector<std::string>> decode_adopted(const std::vector<uint8_t>& bytes, const std::string& what) {
  std::vector<std::string> ids;
  size_t at = 0;
  auto be32 = [&](uint32_t& value) {
    if (bytes.size() - at < 4) return false;
    value = uint32_t{bytes[at]} << 24 | uint32_t{bytes[at + 1]} << 16 | uint32_t{bytes[at + 2]} << 8 | bytes[at + 3];
    at += 4;
    return true;
  };
  if (bytes.empty()) return ids;
  uint32_t count = 0;
  if (!be32(count) || count > kCprMaxFds) return fail(what + ": the new godwit's list of adopted chardevs is malformed");
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t length = 0;
    if (!be32(length) || length == 0 || length > kCprMaxNameBytes || bytes.size() - at < length) {
      return fail(what + ": the new godwit's list of adopted chardevs is malformed");
    }
    ids.emplace_back(reinterpret_cast<const char*>(bytes.data() + at), length);
    at += length;
  }
  if (at != bytes.size()) return fail(what + ": the new godwit's list of adopted chardevs is malformed");
  return ids;
}

}  // namespace

Result<std::vector<std::string>> CprSender::wait_for_close(const CancelToken& cancel) {
  std::vector<uint8_t> said;
  constexpr size_t kMaxSaid = 4 + kCprMaxFds * (4 + kCprMaxNameBytes);
  for (;;) {
    if (cancel.cancelled()) return fail(address_ + ": cancelled");
    pollfd pfd{fd_, POLLIN, 0};
    const int n = ::poll(&pfd, 1, 50);  // a cancel is seen within 50 ms
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(address_ + ": poll", errno);
    }
    if (n == 0) continue;
    uint8_t chunk[512];
    const ssize_t got = ::recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
    if (got > 0) {
      said.insert(said.end(), chunk, chunk + got);
      if (said.size() > kMaxSaid) return fail(address_ + ": unexpected data from the new godwit");
      continue;
    }
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    // Closed (or reset: the main channel will tell).
    return decode_adopted(said, address_);
  }
}

// -- new side -------------------------------------------------------------------

Result<std::unique_ptr<CprReceiver>> CprReceiver::listen(const UnixAddress& address) {
  const std::string what = "cpr channel unix:" + address.path;
  // One old godwit connects; the receiver blocks in accept for it.
  auto fd = listen_unix(address, what, /*backlog=*/1, /*nonblocking=*/false);
  if (!fd) return std::unexpected(std::move(fd.error()));
  return std::unique_ptr<CprReceiver>(new CprReceiver(*fd, address.path));
}

CprReceiver::~CprReceiver() {
  close_channel();
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    ::unlink(path_.c_str());
  }
}

void CprReceiver::close_channel(const std::vector<std::string>& adopted_chardevs) {
  if (connection_fd_ < 0) return;
  if (!adopted_chardevs.empty()) {
    std::vector<uint8_t> list;
    put_be32(list, static_cast<uint32_t>(adopted_chardevs.size()));
    for (const std::string& id : adopted_chardevs) {
      put_be32(list, static_cast<uint32_t>(id.size()));
      list.insert(list.end(), id.begin(), id.end());
    }
    // A failure here only means the old side hands nothing over.
    (void)send_all(connection_fd_, list.data(), list.size(), "cpr channel");
  }
  ::close(connection_fd_);
  connection_fd_ = -1;
}

Result<CprState> CprReceiver::receive() {
  const std::string what = "cpr channel unix:" + path_;
  int fd;
  do {
    fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno_error(what + ": accept", errno);
  connection_fd_ = fd;
  // One connection only: the socket file goes once it is made.
  ::close(listen_fd_);
  listen_fd_ = -1;
  ::unlink(path_.c_str());

  auto decoded = decode_state([&](uint8_t* data, size_t size) { return read_exact(fd, data, size, what); }, what);
  if (!decoded) return std::unexpected(decoded.error());
  CprState state;
  state.mode = decoded->first;
  auto& records = decoded->second;
  for (auto& [name, id] : records) {
    FdMessage in;
    msghdr& message = in.message;
    ssize_t n;
    do {
      n = ::recvmsg(fd, &message, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return errno_error(what + ": receiving descriptor '" + name + "'", errno);
    if (n == 0) return fail(what + ": the CPR channel closed before descriptor '" + name + "'");
    int received = -1;
    for (cmsghdr* cmsg = CMSG_FIRSTHDR(&message); cmsg != nullptr; cmsg = CMSG_NXTHDR(&message, cmsg)) {
      if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS && cmsg->cmsg_len == CMSG_LEN(sizeof(int))) {
        std::memcpy(&received, CMSG_DATA(cmsg), sizeof(int));
      }
    }
    if (received < 0 || (message.msg_flags & MSG_CTRUNC)) {
      if (received >= 0) ::close(received);
      return fail(what + ": descriptor '" + name + "' did not arrive");
    }
    state.fds.emplace_back(std::move(name), id, received);
  }
  return state;
}

// -- cpr-exec ---------------------------------------------------------------------

Result<int> write_cpr_exec_state(MigrationMode mode, const std::vector<CprFdRef>& fds) {
  const int memfd = memfd_create("godwit-cpr-state", MFD_CLOEXEC);
  if (memfd < 0) return errno_error("cpr-exec: memfd_create", errno);
  std::vector<CprFdRef> numbered = fds;
  for (CprFdRef& ref : numbered) ref.id = static_cast<uint32_t>(ref.fd);
  const std::vector<uint8_t> bytes = encode_state(mode, numbered);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(memfd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      ::close(memfd);
      return errno_error("cpr-exec: writing the CPR state", err);
    }
    done += static_cast<size_t>(n);
  }
  return memfd;
}

Result<std::optional<CprState>> take_cpr_exec_state() {
  const char* value = std::getenv(kCprExecStateEnv);
  if (value == nullptr) return std::optional<CprState>();
  const std::string what = std::string(kCprExecStateEnv) + "=" + value;
  char* end = nullptr;
  const long number = std::strtol(value, &end, 10);
  const bool valid = end != value && *end == '\0' && number >= 0 && number <= 1 << 20;
  ::unsetenv(kCprExecStateEnv);  // a child of ours must not take it for its own
  if (!valid) return fail(what + ": not a descriptor number");
  const int fd = static_cast<int>(number);
  off_t offset = 0;
  auto read = [&](uint8_t* data, size_t size) -> Status {
    size_t done = 0;
    while (done < size) {
      const ssize_t n = ::pread(fd, data + done, size - done, offset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error(what + ": reading the CPR state", errno);
      if (n == 0) return fail(what + ": the CPR state ends early");
      done += static_cast<size_t>(n);
      offset += n;
    }
    return {};
  };
  auto decoded = decode_state(read, what);
  ::close(fd);
  if (!decoded) return std::unexpected(decoded.error());
  CprState state;
  state.mode = decoded->first;
  for (auto& [name, id] : decoded->second) {
    const int kept = static_cast<int>(id);
    const int flags = ::fcntl(kept, F_GETFD);
    if (flags < 0) return fail(what + ": descriptor " + std::to_string(kept) + " ('" + name + "') is not open");
    (void)::fcntl(kept, F_SETFD, flags | FD_CLOEXEC);
    state.fds.emplace_back(std::move(name), id, kept);
  }
  return std::optional<CprState>(std::move(state));
}

Status cpr_exec(const std::vector<std::string>& argv, const std::vector<CprFdRef>& fds) {
  if (argv.empty()) return fail("Parameter 'cpr-exec-command' required for cpr-exec");
  auto state = write_cpr_exec_state(MigrationMode::kCprExec, fds);
  if (!state) return std::unexpected(state.error());
  // Exactly these stay open across the exec; everything else is
  // close-on-exec already (every descriptor godwit opens is).
  std::vector<int> kept;
  for (const CprFdRef& ref : fds) kept.push_back(ref.fd);
  kept.push_back(*state);
  for (int fd : kept) (void)::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) & ~FD_CLOEXEC);
  const std::string number = std::to_string(*state);
  ::setenv(kCprExecStateEnv, number.c_str(), 1);
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  AddressSpaceKeeper keeper = AddressSpaceKeeper::start();
  ::execvp(args[0], args.data());
  // Still here: the exec failed. Put everything back as it was.
  const int err = errno;
  keeper.release();
  ::unsetenv(kCprExecStateEnv);
  for (const CprFdRef& ref : fds) (void)::fcntl(ref.fd, F_SETFD, ::fcntl(ref.fd, F_GETFD) | FD_CLOEXEC);
  ::close(*state);
  return errno_error("cpr-exec: cannot execute '" + argv[0] + "'", err);
}

}  // namespace godwit
