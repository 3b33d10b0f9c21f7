// The command line, read into a MachineConfig. Spellings and meanings follow
// qemu-system-riscv64: options take one or two leading dashes, may come in
// any order, and key=value arguments follow QEMU's rules (see
// KeyValueList). Parsing has no side effects: it opens nothing but the
// kernel, to check that it is readable.
#pragma once

#include <span>
#include <string>

#include "base/error.hpp"
#include "machine/machine_config.hpp"

namespace godwit {

struct CommandLine {
  enum class Action {
    kRun,
    kVersion,       // -version: print version_text(), exit 0
    kHelp,          // -h, -help: print help_text(), exit 0
    kListMachines,  // -machine help (or ?): print machine_list_text(), exit 0
  };
  Action action = Action::kRun;
  MachineConfig config;
};

// `args` excludes argv[0]. -version and -help end parsing where they stand,
// as in QEMU, so options after them are not checked. Errors are one line,
// naming the option: "-m: invalid size '12Q'".
Result<CommandLine> parse_command_line(std::span<const std::string> args);

std::string help_text();
std::string version_text();       // "godwit version 0.1.0\n"
std::string machine_list_text();  // the machine types -machine accepts

}  // namespace godwit
