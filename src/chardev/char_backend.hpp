// Character devices (QEMU's -chardev): where a serial port's bytes go and come
// from. A backend (stdio, null, file, socket) moves bytes; a front end (the
// UART) consumes them at its own pace.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace godwit {

// Implemented by a device that receives characters (the UART).
// Threads: both calls come from the I/O thread.
class CharFrontend {
 public:
  virtual ~CharFrontend() = default;
  // How many bytes the device can take now (its free FIFO space).
  virtual size_t can_receive() = 0;
  // Delivers at most can_receive() bytes.
  virtual void receive(std::span<const uint8_t> bytes) = 0;
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
};

}  // namespace godwit
