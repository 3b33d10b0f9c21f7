// Migration transports: opening the connection a migration stream runs over,
// for each MigrationAddress (tcp, unix, fd, exec, file), as QEMU's
// migration/{socket,fd,exec,file}.c do.
//
// Streams are byte pipes without buffering: put a StreamWriter or
// StreamReader on top. Every error names the address and the cause
// ("tcp:127.0.0.1:4444: Failed to connect to '127.0.0.1:4444': Connection
// refused"). A vanished peer is an error ("Broken pipe", "Connection reset
// by peer"), never SIGPIPE.
//
// Threads: a channel or listener is owned by one thread (the migration
// thread), which reads, writes and closes it. shutdown() alone may be
// called from any other thread (migrate_cancel): it wakes a blocked read,
// write or accept, which then fails with "cancelled", and every later one
// fails the same way.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/error.hpp"
#include "migration/byte_channel.hpp"
#include "migration/migration_uri.hpp"

namespace godwit {

// Resolves the name in an `fd:NAME` address to a descriptor passed with
// getfd, handing it over (the channel closes it): FdStore::take_named fits.
// May be empty where no monitor passes descriptors; numeric names never
// reach it (QEMU's monitor_fd_param).
using FdLookup = std::function<Result<int>(const std::string& name)>;

// The sending end of a migration.
class OutgoingChannel {
 public:
  virtual ~OutgoingChannel() = default;
  virtual ByteSink& sink() = 0;
  // Bytes coming back from the destination, where the transport carries
  // them (tcp, unix, a socket passed as fd:); null for exec, file, pipes.
  virtual ByteSource* return_path() = 0;
  // Closes the stream; for exec, waits for the command (bounded) and fails
  // if it did not exit with status 0. Idempotent.
  virtual Status close() = 0;
  // Any thread: see the header comment.
  virtual void shutdown() = 0;
  virtual const std::string& address() const = 0;
};

// The receiving end of a migration.
class IncomingChannel {
 public:
  virtual ~IncomingChannel() = default;
  virtual ByteSource& source() = 0;
  // Where replies to the source go, where the transport carries them.
  virtual ByteSink* return_path() = 0;
  virtual Status close() = 0;
  virtual void shutdown() = 0;
  virtual const std::string& address() const = 0;
};

// Waits for the source. For tcp and unix this is a listening socket; for
// exec, file and fd the stream is open already and accept_one hands it out
// once.
class IncomingListener {
 public:
  virtual ~IncomingListener() = default;
  // Waits at most `timeout` (forever when none) or until shutdown().
  virtual Result<std::unique_ptr<IncomingChannel>> accept_one(
      std::optional<std::chrono::milliseconds> timeout) = 0;
  // The address as bound: for tcp port 0 it carries the port the kernel
  // chose (what query-migrate reports as socket-address).
  virtual const MigrationAddress& bound_address() const = 0;
  // Any thread: wakes accept_one, which fails with "cancelled".
  virtual void shutdown() = 0;
  // Stops listening; a unix listener removes its socket file. Idempotent,
  // and done by the destructor too.
  virtual void close() = 0;
};

// A connected unix stream socket (close-on-exec); errors start with
// `address` and read as QEMU's.
Result<int> connect_unix(const UnixAddress& unix_address, const std::string& address);
// A listening unix stream socket (close-on-exec), replacing a stale one;
// errors start with `address` and read as QEMU's.
Result<int> listen_unix(const UnixAddress& unix_address, const std::string& address, int backlog,
                        bool nonblocking);

Result<std::unique_ptr<OutgoingChannel>> connect_outgoing(const MigrationAddress& address,
                                                          const FdLookup& fd_lookup);

Result<std::unique_ptr<IncomingListener>> listen_incoming(const MigrationAddress& address,
                                                          const FdLookup& fd_lookup);

}  // namespace godwit
