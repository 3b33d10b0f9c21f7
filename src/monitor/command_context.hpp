// What a monitor command runs against, and the table that lists them all.
#pragma once

#include <deque>
#include <span>
#include <string_view>

#include "machine/virt_machine.hpp"
#include "monitor/arg_schema.hpp"
#include "monitor/qmp_error.hpp"

namespace godwit {

struct CommandContext {
  VirtMachine& machine;
  // Descriptors the client passed with SCM_RIGHTS and no command took yet
  // (getfd, add-fd take the oldest). Null where there are none to have:
  // commands that run on the main thread, human-monitor-command.
  std::deque<int>* received_fds = nullptr;
  unsigned current_cpu = 0;  // QEMU's monitor CPU: info registers, memsave, x
};

// Where a command runs. Those that touch the life cycle or read hart state
// run on the main thread (queued with VirtMachine::run_on_main, the reply
// sent when done), the others on the I/O loop, answering at once.
enum class CommandThread { kIoLoop, kMain };

struct CommandSpec {
  std::string_view name;
  std::span<const ArgSpec> arguments;
  CommandThread thread;
  // Called with arguments already checked against `arguments`.
  QmpResult<Json> (*handler)(CommandContext& context, const Json& arguments);
};

// Every QMP command, in query-commands order.
std::span<const CommandSpec> qmp_commands();
const CommandSpec* find_qmp_command(std::string_view name);

// Validates and runs one command on the calling thread (the caller picks the
// thread by CommandSpec::thread). `arguments` is an object.
QmpResult<Json> run_qmp_command(const CommandSpec& spec, CommandContext& context, const Json& arguments);

}  // namespace godwit
