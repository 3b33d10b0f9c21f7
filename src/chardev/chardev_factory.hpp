// Builds the CharBackend a ChardevConfig describes (QEMU's -chardev).
#pragma once

#include <functional>
#include <memory>

#include "base/error.hpp"
#include "chardev/char_backend.hpp"
#include "io/io_loop.hpp"
#include "chardev/chardev_config.hpp"

namespace godwit {

// What backends need from their surroundings. The loop must outlive every
// backend created with it.
struct ChardevContext {
  IoLoop& loop;
  std::function<void()> request_quit;  // the stdio mux's C-a x
  // CPR: descriptors an old program handed over, by name (see
  // CharBackend::connection_fds); unset when there are none.
  TakeHandedOverFd take_handed_over_fd = nullptr;
};

// Errors name the chardev: "chardev 'ser0': unix socket /x/y: bind:
// Permission denied". A socket server with wait=on blocks here until its
// first client connects, as QEMU's start-up does.
Result<std::unique_ptr<CharBackend>> create_chardev(const ChardevConfig& config,
                                                    ChardevContext& context);

}  // namespace godwit
