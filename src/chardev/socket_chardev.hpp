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
// Threads: write() from hart threads (and the loop thread for monitors);
// accepting, reading and flushing on the IoLoop thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/error.hpp"
#include "chardev/char_backend.hpp"
#include "io/io_loop.hpp"
#include "machine/machine_config.hpp"

namespace godwit {

class SocketChardev final : public CharBackend {
 public:
  static constexpr size_t kOutputBufferBytes = 64 * 1024;

  static Result<std::unique_ptr<SocketChardev>> create(const ChardevConfig& config, IoLoop& loop);
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
