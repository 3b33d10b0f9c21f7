// CPR state: the file descriptors an old godwit hands a new one under
// cpr-transfer (guest RAM's memfds and shared files), sent over a UNIX
// socket with SCM_RIGHTS before the main migration channel opens.
//
// On the wire, as QEMU's CPR state stream: be32 "QCPR" (0x51435052), be32
// version 1, then godwit's CprState v1: be32 mode, be32 count, and per fd
// be32 name length (counting the NUL), the name and its NUL, be32 id. The
// descriptors follow, one per one-byte message carrying SCM_RIGHTS, in
// record order. The receiver reads exact lengths, so it never swallows a
// message that carries a descriptor as plain data.
//
// The old side then waits for the new one to close the socket: that is the
// sign that the new godwit has built its machine on those fds and listens
// on its main channel (QEMU's HUP on the CPR channel). Before closing, the
// new godwit may say which connections (chardevs) it took over: be32 count,
// then per chardev be32 length and its id. The old side hands exactly those
// over at the switchover; a peer that says nothing takes none.
//
// Threads: blocking calls for the migration thread (old side) and the
// main thread before the machine exists (new side).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "migration/cancel_token.hpp"
#include "migration/migration_config.hpp"
#include "migration/migration_uri.hpp"

namespace godwit {

inline constexpr uint32_t kCprMagic = 0x51435052;  // "QCPR"
inline constexpr uint32_t kCprVersion = 1;
inline constexpr uint32_t kCprMaxFds = 64;
inline constexpr uint32_t kCprMaxNameBytes = 256;

// The name a memory backend's descriptor travels under.
inline std::string cpr_fd_name(const std::string& backend_id) { return "memory-backend:" + backend_id; }
// The name a disk image's descriptor travels under: its file node's name.
inline std::string cpr_block_fd_name(const std::string& node_name) { return "block:" + node_name; }
// The name a network backend's descriptor (a tap's) travels under.
inline std::string cpr_netdev_fd_name(const std::string& netdev_id) { return "netdev:" + netdev_id; }

// A descriptor to hand over: `name` says what it is ("ram0" for a memory
// backend's id), `fd` is borrowed.
struct CprFdRef {
  std::string name;
  uint32_t id = 0;
  int fd = -1;
};

// A received descriptor; owns `fd` (closed when dropped unless taken).
class CprFd {
 public:
  CprFd(std::string name, uint32_t id, int fd) : name_(std::move(name)), id_(id), fd_(fd) {}
  ~CprFd();
  CprFd(CprFd&& other) noexcept : name_(std::move(other.name_)), id_(other.id_), fd_(other.fd_) { other.fd_ = -1; }
  CprFd& operator=(CprFd&&) = delete;
  CprFd(const CprFd&) = delete;

  const std::string& name() const { return name_; }
  uint32_t id() const { return id_; }
  int fd() const { return fd_; }
  // The descriptor, now the caller's to close.
  int take() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  std::string name_;
  uint32_t id_;
  int fd_;
};

struct CprState {
  MigrationMode mode = MigrationMode::kCprTransfer;
  std::vector<CprFd> fds;
  // The descriptor for `name`, if the old side sent one.
  CprFd* find(const std::string& name);
};

// The CPR channel must be a UNIX socket: only those carry descriptors.
Result<UnixAddress> cpr_channel_address(const MigrationAddress& address);

// Old side: connects, sends, and keeps the connection for wait_for_close.
class CprSender {
 public:
  static Result<std::unique_ptr<CprSender>> connect(const UnixAddress& address);
  ~CprSender();
  CprSender(const CprSender&) = delete;
  CprSender& operator=(const CprSender&) = delete;

  Status send(MigrationMode mode, const std::vector<CprFdRef>& fds);
  // Blocks until the new side closes its end, or the migration is
  // cancelled. Returns the ids of the chardevs the new side adopted.
  Result<std::vector<std::string>> wait_for_close(const CancelToken& cancel);

 private:
  CprSender(int fd, std::string address) : fd_(fd), address_(std::move(address)) {}
  int fd_;
  std::string address_;
};

// New side: listens, accepts one connection, reads the state. The
// connection stays open (held here) until close_channel(), which tells the
// old side to go on.
class CprReceiver {
 public:
  static Result<std::unique_ptr<CprReceiver>> listen(const UnixAddress& address);
  ~CprReceiver();
  CprReceiver(const CprReceiver&) = delete;
  CprReceiver& operator=(const CprReceiver&) = delete;

  Result<CprState> receive();
  // Tells the old side which chardevs this side adopted, and closes.
  void close_channel(const std::vector<std::string>& adopted_chardevs = {});

 private:
  CprReceiver(int listen_fd, std::string path) : listen_fd_(listen_fd), path_(std::move(path)) {}
  int listen_fd_;
  int connection_fd_ = -1;
  std::string path_;
};

}  // namespace godwit

namespace godwit {

// cpr-exec: the state travels across execve() in a memfd whose number is in
// this environment variable (QEMU's QEMU_CPR_EXEC_STATE); the descriptors
// stay open across the exec under the same numbers, which the state lists.
inline constexpr const char* kCprExecStateEnv = "GODWIT_CPR_EXEC_STATE";

// Writes the state (same layout as on the cpr channel, each record's id
// being the descriptor's number) into a new memfd, which the exec keeps.
Result<int> write_cpr_exec_state(MigrationMode mode, const std::vector<CprFdRef>& fds);

// The new program's side: reads the state from the memfd named by
// kCprExecStateEnv, if set, closes it and clears the variable. The
// descriptors it lists come back close-on-exec. nullopt: not a cpr-exec.
Result<std::optional<CprState>> take_cpr_exec_state();

// Execs `argv` keeping exactly `fds` and the state open. Returns only on
// failure, with close-on-exec restored on those descriptors.
Status cpr_exec(const std::vector<std::string>& argv, const std::vector<CprFdRef>& fds);

}  // namespace godwit
