// The machine's monitors (-qmp, -monitor, -mon): one session per monitor
// chardev, and the machine's events passed to every QMP client.
//
// Threads: created and destroyed on the main thread, after the machine is
// created and before it goes; the sessions live on the I/O loop.
#pragma once

#include <memory>
#include <vector>

#include "base/error.hpp"
#include "machine/virt_machine.hpp"
#include "monitor/hmp_session.hpp"
#include "monitor/qmp_session.hpp"

namespace godwit {

class Monitors {
 public:
  // Monitor chardevs may queue this much output for a slow client before it
  // is disconnected (a reply is never cut short).
  static constexpr size_t kOutputLimitBytes = 16u << 20;

  // Attaches a session to each chardev of machine.config().monitors and
  // listens to the machine's events. Call before machine.start().
  static Result<std::unique_ptr<Monitors>> create(VirtMachine& machine);
  // Detaches every session and waits until the I/O loop holds none.
  ~Monitors();

  Monitors(const Monitors&) = delete;
  Monitors& operator=(const Monitors&) = delete;

 private:
  explicit Monitors(VirtMachine& machine) : machine_(machine) {}

  VirtMachine& machine_;
  std::vector<CharBackend*> backends_;
  std::vector<std::shared_ptr<QmpSession>> qmp_sessions_;
  std::vector<std::shared_ptr<HmpSession>> hmp_sessions_;
};

}  // namespace godwit
