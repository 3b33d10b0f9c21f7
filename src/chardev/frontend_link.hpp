// The input half shared by backends that read from an fd: moves bytes to the
// attached CharFrontend no faster than it can take them.
//
// Threads: loop thread only. Backends reach it from other threads by posting
// to the IoLoop (attach, frontend_ready).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "chardev/char_backend.hpp"

namespace godwit {

class FrontendLink {
 public:
  enum class ReadOutcome {
    kDelivered,  // read something (or nothing was ready): keep polling
    kBlocked,    // no front end, or it has no room: stop polling until resumed
    kClosed,     // end of file or a read error: the fd is finished
  };
  // Rewrites input before delivery (the stdio mux's escapes); may drop bytes
  // but never adds any, so the front end's room is respected.
  using Filter = std::function<std::vector<uint8_t>(std::span<const uint8_t>)>;

  void set_frontend(CharFrontend* frontend) { frontend_ = frontend; }
  CharFrontend* frontend() const { return frontend_; }

  // Reads at most what the front end can take now from `fd` and delivers it.
  ReadOutcome pump(int fd, const Filter& filter = nullptr);
  // The same for a socket, with recvmsg(): descriptors passed with
  // SCM_RIGHTS go to the front end's receive_fds() before the bytes.
  ReadOutcome pump_socket(int fd);

 private:
  CharFrontend* frontend_ = nullptr;
};

}  // namespace godwit
