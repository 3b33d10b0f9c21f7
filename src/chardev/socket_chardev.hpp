// -chardev socket: a unix or tcp stream socket, listening (server=on) or
// connecting (server=off).
//
// As QEMU: a server talks to one client at a time and, when it leaves, waits
// for the next; with wait=on (the default) create() blocks until the first
// client connects. Guest output while no client is connected is dropped.
//
// Output is never allowed to block a hart: what the socket does not take at
// once is queued, up to kOutputBufferBytes, and sent by the loop thread when
// the socket drains; past that bound new output is dropped. A slow client
// loses bytes rather than stalling the guest.
//
// The front end hears of each client coming and going (opened(), closed())
// and receives descriptors the client passes with SCM_RIGHTS.
//
// CPR: the listening socket and the connected client outlive the program.
// Their descriptors travel as "chardev:ID:listen" and "chardev:ID:client";
// a new program whose chardev has the same id and address adopts them
// instead of listening afresh, and stays dormant (queueing output, reading
// nothing) until the old program's unsent output and its front end's state
// arrive with the stream (resume_connection). The client never sees a
// reconnect, a greeting, or a byte twice.
//
// Threads: write() from hart threads (and the loop thread for monitors);
// accepting, reading and flushing on the IoLoop thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/error.hpp"
#include "chardev/char_backend.hpp"
#include "io/io_loop.hpp"
#include "chardev/chardev_config.hpp"

namespace godwit {

class SocketChardev final : public CharBackend {
 public:
  static constexpr size_t kOutputBufferBytes = 64 * 1024;

  // `take_fd`, if set, gives the descriptors an old program handed over by
  // name (-1: none); matching ones are adopted.
  static Result<std::unique_ptr<SocketChardev>> create(const ChardevConfig& config, IoLoop& loop,
                                                       const TakeHandedOverFd& take_fd = nullptr);
  ~SocketChardev() override;  // closes, and removes a listening unix socket's path

  const std::string& id() const override { return id_; }
  std::string_view kind() const override { return "socket"; }
  // "unix:/p,server=on", prefixed with "disconnected:" while no peer is
  // connected, as QEMU's `info chardev`.
  std::string filename() const override;

  void write(std::span<const uint8_t> bytes) override;
  void attach(CharFrontend* frontend) override;
  void frontend_ready() override;
  void set_output_limit(size_t bytes) override;

  std::vector<ChardevFd> connection_fds() const override;
  bool adopted() const override;
  void quiesce_connection() override;
  ConnectionState freeze_connection() override;
  void thaw_connection() override;
  void release_connection() override;
  void resume_connection(const ConnectionState* state) override;

  // The tcp port listened on, useful with port=0 (the kernel picks); 0 for
  // unix sockets and clients.
  uint16_t bound_port() const;
  bool connected() const;

 private:
  struct Core;
  SocketChardev(std::string id, std::shared_ptr<Core> core);

  std::string id_;
  std::shared_ptr<Core> core_;  // shared with the loop's callbacks
};

}  // namespace godwit
