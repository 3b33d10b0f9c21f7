// Character devices (QEMU's -chardev): where a serial port's bytes go and come
// from. A backend (stdio, null, file, socket) moves bytes; a front end (the
// UART) consumes them at its own pace.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace godwit {

// Implemented by a device that receives characters (the UART, a monitor).
// Threads: every call comes from the I/O thread.
class CharFrontend {
 public:
  virtual ~CharFrontend() = default;
  // How many bytes the device can take now (its free FIFO space).
  virtual size_t can_receive() = 0;
  // Delivers at most can_receive() bytes.
  virtual void receive(std::span<const uint8_t> bytes) = 0;

  // QEMU's CHR_EVENT_OPENED and CHR_EVENT_CLOSED: a socket peer connected or
  // left (a monitor greets the one and forgets the other). Backends that are
  // always open report opened() once, when the front end is attached.
  virtual void opened() {}
  virtual void closed() {}
  // Descriptors passed with SCM_RIGHTS on a unix socket, handed over just
  // before the bytes they came with. The front end owns them from here.
  virtual void receive_fds(std::vector<int> fds) {
    for (int fd : fds) ::close(fd);
  }
};

class CharBackend {
 public:
  virtual ~CharBackend() = default;

  virtual const std::string& id() const = 0;
  // QEMU's chardev backend name: "stdio", "null", "file", "socket".
  virtual std::string_view kind() const = 0;
  // A one-line description for `info chardev`, e.g. "unix:/tmp/s.sock,server=on".
  virtual std::string filename() const = 0;

  // Output from the guest. Called on hart threads. Never blocks indefinitely:
  // a socket without a client drops the bytes, as QEMU does.
  virtual void write(std::span<const uint8_t> bytes) = 0;

  // Connects the receiving device; input is held back until one is attached.
  virtual void attach(CharFrontend* frontend) = 0;
  // The front end has room again after can_receive() returned 0: resume input.
  // Called from any thread.
  virtual void frontend_ready() = 0;

  // For front ends whose output must arrive whole (a monitor's JSON): queue
  // up to `bytes` for a slow reader and drop the connection past that,
  // instead of dropping output. Backends without a queue ignore it.
  virtual void set_output_limit(size_t bytes) { (void)bytes; }

  // cpr-exec: before the process becomes another program, a backend that
  // changed the terminal gives it back as it found it (as at exit); if the
  // exec fails it takes it again.
  virtual void hand_terminal_back() {}
  virtual void take_terminal_again() {}
};

}  // namespace godwit
