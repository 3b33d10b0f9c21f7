// Character devices (QEMU's -chardev): where a serial port's bytes go and come
// from. A backend (stdio, null, file, socket) moves bytes; a front end (the
// UART) consumes them at its own pace.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace godwit {

// A descriptor a backend keeps its connection in, named for the CPR state
// ("chardev:ID:listen"). Borrowed from the backend.
struct ChardevFd {
  std::string name;
  int fd = -1;
};

// The descriptor an old program handed over under `name`, now the caller's;
// -1 when there is none.
using TakeHandedOverFd = std::function<int(const std::string& name)>;

// CPR (cpr-exec, cpr-transfer): what a connection holds in memory, carried in
// the migration stream to the program that takes its descriptors over.
struct ConnectionState {
  uint64_t client_inode = 0;             // which client (0: none): a stale one is not resumed
  std::vector<uint8_t> unsent_output;    // written here, not yet taken by the peer
  std::vector<uint8_t> frontend_state;   // the front end's (a monitor session's), opaque here
};

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

  // CPR, old side, loop thread. quiesce(): start nothing new (a monitor
  // finishes what it runs but takes no further command); unquiesce() undoes
  // it when the handover fails. save_connection(): what the front end holds
  // for its client, for the next program.
  virtual void quiesce() {}
  virtual void unquiesce() {}
  virtual std::vector<uint8_t> save_connection() { return {}; }
  // New side, loop thread: carry on with the old program's client, without
  // a greeting. Empty `state`: nothing was carried, so greet as for a new
  // client if one is connected.
  virtual void restore_connection(std::span<const uint8_t> state) {
    if (state.empty()) opened();
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

  // CPR: connections that outlive the program. The descriptors to keep
  // (none: nothing to carry; the next program opens its own). A backend
  // built on descriptors the old program handed over (adopted) is dormant:
  // it neither reads nor writes them until resume_connection().
  virtual std::vector<ChardevFd> connection_fds() const { return {}; }
  virtual bool adopted() const { return false; }
  // Old side, loop thread: stop reading (quiesce), then stop touching the
  // descriptors at all and say what is in flight (freeze). After a failed
  // handover thaw() serves the connection again; after a successful one
  // release() lets go of it for good (closing its copies, leaving a socket
  // path in place for the new owner).
  virtual void quiesce_connection() {}
  virtual ConnectionState freeze_connection() { return {}; }
  virtual void thaw_connection() {}
  virtual void release_connection() {}
  // New side, loop thread: take up an adopted connection where the old
  // program left it (nullptr: nothing was carried for it).
  virtual void resume_connection(const ConnectionState* state) { (void)state; }
};

}  // namespace godwit
