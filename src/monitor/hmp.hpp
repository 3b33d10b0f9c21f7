// The human monitor's commands (QEMU's HMP), a thin layer over the QMP
// handlers: a line is split into a command and its arguments, the matching
// QMP command runs, and its result is printed as QEMU prints it.
//
// Threads: main thread (the commands read hart state and move the life
// cycle), whether the line came from an HMP session or from
// human-monitor-command.
#pragma once

#include <string>
#include <string_view>

#include "monitor/command_context.hpp"

namespace godwit {

// Runs one command line; returns what QEMU would print, lines ending "\r\n"
// (human-monitor-command returns it as is).
std::string hmp_execute(CommandContext& context, std::string_view line);

// QEMU riscv's `info registers` for one hart (riscv_cpu_dump_state), less
// the registers of extensions godwit lacks (H, F, D, V).
std::string format_registers(VirtMachine& machine, unsigned cpu);

}  // namespace godwit
