#include "monitor/hmp.hpp"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <expected>
#include <vector>

#include "base/version.hpp"
#include "monitor/memory_dump.hpp"
#include "monitor/migration_commands.hpp"
#include "monitor/netdev_commands.hpp"

namespace godwit {
namespace {

using Args = std::vector<std::string>;
// A usage error ("unexpected end of expression") that gets QEMU's hint to
// read the command's help; anything else a command prints is its output.
using HmpResult = std::expected<std::string, std::string>;

struct HmpCommand {
  std::string_view names;  // "cont|c": the first is the name, the rest aliases
  std::string_view params;
  std::string_view help;
  HmpResult (*run)(CommandContext& context, const Args& args);
  size_t min_args = 0;
  size_t max_args = 0;
};

std::string print_error(const QmpError& error) { return "Error: " + error.desc + "\n"; }

// Runs a QMP command; prints nothing on success, "Error: ..." on failure.
std::string run_qmp(CommandContext& context, std::string_view name, const Json& arguments = Json::object()) {
  const CommandSpec* spec = find_qmp_command(name);
  auto result = run_qmp_command(*spec, context, arguments);
  return result ? std::string() : print_error(result.error());
}

// QEMU's expression parser, for the plain numbers scripts give it (base
// prefixes 0x and 0 as strtoull).
std::expected<uint64_t, std::string> parse_number(const std::string& text) {
  if (text.empty()) return std::unexpected("unexpected end of expression");
  char* end = nullptr;
  errno = 0;
  const uint64_t value = std::strtoull(text.c_str(), &end, 0);
  if (end == text.c_str()) return std::unexpected(std::string("invalid char '") + text[0] + "' in expression");
  if (*end != '\0') return std::unexpected(std::string("invalid char '") + *end + "' in expression");
  if (errno == ERANGE) return std::unexpected("number too large");
  return value;
}

HmpResult run_netdev_add(CommandContext& c, const Args& args) {
  auto arguments = hmp_netdev_add_arguments(args[0]);
  if (!arguments) return print_error(arguments.error());
  return run_qmp(c, "netdev_add", *arguments);
}
HmpResult run_netdev_del(CommandContext& c, const Args& args) { return run_qmp(c, "netdev_del", Json{{"id", args[0]}}); }

HmpResult run_stop(CommandContext& c, const Args&) { return run_qmp(c, "stop"); }
HmpResult run_cont(CommandContext& c, const Args&) { return run_qmp(c, "cont"); }
HmpResult run_quit(CommandContext& c, const Args&) { return run_qmp(c, "quit"); }
HmpResult run_system_reset(CommandContext& c, const Args&) { return run_qmp(c, "system_reset"); }
HmpResult run_system_powerdown(CommandContext& c, const Args&) { return run_qmp(c, "system_powerdown"); }

HmpResult run_save(CommandContext& c, const Args& args, std::string_view command) {
  auto address = parse_number(args[0]);
  if (!address) return std::unexpected(address.error());
  auto size = parse_number(args[1]);
  if (!size) return std::unexpected(size.error());
  Json arguments{{"val", *address}, {"size", *size}, {"filename", args[2]}};
  if (command == "memsave") arguments["cpu-index"] = c.current_cpu;
  return run_qmp(c, command, arguments);
}
HmpResult run_pmemsave(CommandContext& c, const Args& args) { return run_save(c, args, "pmemsave"); }
HmpResult run_memsave(CommandContext& c, const Args& args) { return run_save(c, args, "memsave"); }

HmpResult run_dump(CommandContext& c, const Args& args, bool physical) {
  std::string format_text;
  size_t next = 0;
  if (!args.empty() && args[0].starts_with("/")) format_text = args[next++];
  if (next >= args.size()) return std::unexpected("unexpected end of expression");
  if (next + 1 < args.size()) {
    return std::unexpected(std::string(physical ? "xp" : "x") + ": extraneous characters at the end of line");
  }
  auto format = parse_dump_format(format_text);
  if (!format) return std::unexpected(format.error().message());
  auto address = parse_number(args[next]);
  if (!address) return std::unexpected(address.error());
  return dump_memory(c.machine, c.current_cpu, *address, *format, physical);
}
HmpResult run_x(CommandContext& c, const Args& args) { return run_dump(c, args, false); }
HmpResult run_xp(CommandContext& c, const Args& args) { return run_dump(c, args, true); }

// Runs a query and renders its reply, or prints the error.
HmpResult run_query(CommandContext& c, std::string_view name, std::string (*render)(const Json&)) {
  auto result = run_qmp_command(*find_qmp_command(name), c, Json::object());
  if (!result) return print_error(result.error());
  return render(*result);
}

HmpResult run_migrate(CommandContext& c, const Args& args) {
  // QEMU's "migrate [-d] uri": without -d it waits for the end; godwit's
  // monitor returns at once either way and `info migrate` follows it.
  std::vector<std::string> rest;
  for (const std::string& arg : args) {
    if (arg != "-d") rest.push_back(arg);
  }
  if (rest.size() != 1) return std::unexpected("migrate: expected one URI");
  return run_qmp(c, "migrate", Json{{"uri", rest[0]}});
}
HmpResult run_migrate_incoming(CommandContext& c, const Args& args) {
  return run_qmp(c, "migrate-incoming", Json{{"uri", args[0]}});
}
HmpResult run_migrate_cancel(CommandContext& c, const Args&) { return run_qmp(c, "migrate_cancel"); }

HmpResult set_parameters(CommandContext& c, const QmpResult<Json>& arguments) {
  if (!arguments) return print_error(arguments.error());
  return run_qmp(c, "migrate-set-parameters", *arguments);
}
HmpResult run_migrate_set_parameter(CommandContext& c, const Args& args) {
  // A value of several words (cpr-exec-command) may come unquoted.
  std::string value = args[1];
  for (size_t i = 2; i < args.size(); ++i) value += " " + args[i];
  return set_parameters(c, hmp_parameter_arguments(args[0], value));
}
HmpResult run_migrate_set_speed(CommandContext& c, const Args& args) {
  return set_parameters(c, hmp_parameter_arguments("max-bandwidth", args[0]));
}
HmpResult run_migrate_set_downtime(CommandContext& c, const Args& args) {
  // Seconds, fractions allowed, as the classic command took them.
  char* end = nullptr;
  const double seconds = std::strtod(args[0].c_str(), &end);
  if (end == args[0].c_str() || *end != '\0' || !(seconds >= 0)) return std::unexpected("invalid value for seconds");
  return set_parameters(c, Json{{"downtime-limit", static_cast<int64_t>(seconds * 1000.0 + 0.5)}});
}
HmpResult run_migrate_set_capability(CommandContext& c, const Args& args) {
  if (args[1] != "on" && args[1] != "off") return std::unexpected("Expected 'on' or 'off'");
  return run_qmp(c, "migrate-set-capabilities",
                 Json{{"capabilities", Json::array({Json{{"capability", args[0]}, {"state", args[1] == "on"}}})}});
}

HmpResult info_migrate(CommandContext& c, const Args&) { return run_query(c, "query-migrate", format_info_migrate); }
HmpResult info_migrate_parameters(CommandContext& c, const Args&) {
  return run_query(c, "query-migrate-parameters", format_migrate_parameters);
}
HmpResult info_migrate_capabilities(CommandContext& c, const Args&) {
  return run_query(c, "query-migrate-capabilities", format_migrate_capabilities);
}

HmpResult info_status(CommandContext& c, const Args&) {
  const RunState state = c.machine.run_state();
  std::string text = "VM status: ";
  if (state == RunState::kRunning) return text + "running\n";
  text += "paused";
  if (state != RunState::kPaused) text += " (" + std::string(run_state_name(state)) + ")";
  return text + "\n";
}

HmpResult info_registers(CommandContext& c, const Args& args) {
  if (args.empty()) return format_registers(c.machine, c.current_cpu);
  if (args[0] == "-a") {
    std::string text;
    for (unsigned i = 0; i < c.machine.hart_count(); ++i) text += format_registers(c.machine, i);
    return text;
  }
  auto index = parse_number(args[0]);
  if (!index) return std::unexpected(index.error());
  if (*index >= c.machine.hart_count()) return "CPU#" + std::to_string(*index) + " not available\n";
  return format_registers(c.machine, static_cast<unsigned>(*index));
}

HmpResult info_chardev(CommandContext& c, const Args&) {
  std::string text;
  for (const auto& chardev : c.machine.chardevs()) text += chardev->id() + ": filename=" + chardev->filename() + "\n";
  return text;
}

// QEMU's layout: each NIC, then its backend indented under it; backends
// without a NIC after.
HmpResult info_network(CommandContext& c, const Args&) {
  std::string text;
  const NetConfig& net = c.machine.config().net;
  std::vector<const NetBackend*> shown;
  for (size_t i = 0; i < net.nics.size(); ++i) {
    const NicConfig& nic = net.nics[i];
    char mac[18];
    std::snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", nic.mac[0], nic.mac[1], nic.mac[2], nic.mac[3],
                  nic.mac[4], nic.mac[5]);
    text += "virtio-net-device." + std::to_string(i) + ": index=0,type=nic,model=virtio-net-device,macaddr=" + mac + "\n";
    for (const auto& netdev : c.machine.netdevs()) {
      if (netdev->id() != nic.netdev) continue;
      text += " \\ " + netdev->info() + "\n";
      shown.push_back(netdev.get());
    }
  }
  for (const auto& netdev : c.machine.netdevs()) {
    if (std::find(shown.begin(), shown.end(), netdev.get()) == shown.end()) text += netdev->info() + "\n";
  }
  return text;
}

HmpResult info_version(CommandContext&, const Args&) { return std::string(kGodwitVersion) + " (godwit)\n"; }

HmpResult info_name(CommandContext& c, const Args&) {
  const std::string& name = c.machine.config().name;
  return name.empty() ? std::string() : name + "\n";
}

HmpResult info_cpus(CommandContext& c, const Args&) {
  std::string text;
  for (unsigned i = 0; i < c.machine.hart_count(); ++i) {
    text += (i == c.current_cpu ? "* " : "  ");
    text += "CPU #" + std::to_string(i) + ": thread_id=" + std::to_string(c.machine.hart_thread_id(i)) + "\n";
  }
  return text;
}

constexpr HmpCommand kInfoCommands[] = {
    {"chardev", "", "show the character devices", info_chardev},
    {"cpus", "", "show infos for each CPU", info_cpus},
    {"migrate", "", "show migration status", info_migrate},
    {"migrate_capabilities", "", "show current migration capabilities", info_migrate_capabilities},
    {"migrate_parameters", "", "show current migration parameters", info_migrate_parameters},
    {"name", "", "show the current VM name", info_name},
    {"network", "", "show the network state", info_network},
    {"registers", "[-a|vcpu]",
     "show the cpu registers (-a: show register info for all cpus; vcpu: specific vCPU to query; show the "
     "current CPU's registers if no argument is specified)",
     info_registers, 0, 1},
    {"status", "", "show the current VM status (running|paused)", info_status},
    {"version", "", "show the version of QEMU", info_version},
};

HmpResult run_info(CommandContext& c, const Args& args);
HmpResult run_help(CommandContext& c, const Args& args);

constexpr HmpCommand kCommands[] = {
    {"cont|c", "", "resume emulation", run_cont},
    {"help|?", "[cmd]", "show the help", run_help, 0, 2},
    {"info", "[subcommand]", "show various information about the system state", run_info, 0, 2},
    {"memsave", "addr size file", "save to disk virtual memory dump starting at 'addr' of size 'size'",
     run_memsave, 3, 3},
    {"migrate", "[-d] uri", "migrate to URI (-d: do not wait for completion)", run_migrate, 1, 2},
    {"migrate_cancel", "", "cancel the current VM migration", run_migrate_cancel},
    {"migrate_incoming", "uri", "Continue an incoming migration from an -incoming defer", run_migrate_incoming, 1, 1},
    {"migrate_set_capability", "capability state", "Enable/Disable the usage of a capability for migration",
     run_migrate_set_capability, 2, 2},
    {"migrate_set_downtime", "value", "set maximum tolerated downtime (in seconds) for migrations",
     run_migrate_set_downtime, 1, 1},
    {"migrate_set_parameter", "parameter value", "Set the parameter for migration", run_migrate_set_parameter, 2, 64},
    {"migrate_set_speed", "value", "set maximum speed (in bytes) for migrations (a plain number is MiB)",
     run_migrate_set_speed, 1, 1},
    {"netdev_add", "[user|tap],id=str[,prop=value][,...]", "add host network device", run_netdev_add, 1, 1},
    {"netdev_del", "id", "remove host network device", run_netdev_del, 1, 1},
    {"pmemsave", "addr size file", "save to disk physical memory dump starting at 'addr' of size 'size'",
     run_pmemsave, 3, 3},
    {"quit|q", "", "quit the emulator", run_quit},
    {"stop|s", "", "stop emulation", run_stop},
    {"system_powerdown", "", "send system power down event", run_system_powerdown},
    {"system_reset", "", "reset the system", run_system_reset},
    {"x", "/fmt addr", "virtual memory dump starting at 'addr'", run_x, 0, 2},
    {"xp", "/fmt addr", "physical memory dump starting at 'addr'", run_xp, 0, 2},
};

bool has_name(const HmpCommand& command, std::string_view name) {
  std::string_view names = command.names;
  while (!names.empty()) {
    const size_t bar = names.find('|');
    if (names.substr(0, bar) == name) return true;
    if (bar == std::string_view::npos) break;
    names.remove_prefix(bar + 1);
  }
  return false;
}

template <size_t N>
const HmpCommand* find_in(const HmpCommand (&table)[N], std::string_view name) {
  for (const HmpCommand& command : table) {
    if (has_name(command, name)) return &command;
  }
  return nullptr;
}

std::string help_line(std::string_view prefix, const HmpCommand& command) {
  // QEMU's layout: "names params -- help".
  return std::string(prefix) + std::string(command.names) + " " + std::string(command.params) + " -- " +
         std::string(command.help) + "\n";
}

HmpResult run_help(CommandContext&, const Args& args) {
  std::string text;
  if (args.empty()) {
    for (const HmpCommand& command : kCommands) text += help_line("", command);
    return text;
  }
  if (args[0] == "info") {
    for (const HmpCommand& command : kInfoCommands) text += help_line("info ", command);
    return text;
  }
  if (const HmpCommand* command = find_in(kCommands, args[0])) return help_line("", *command);
  return "unknown command: '" + args[0] + "'\n";
}

HmpResult run_info(CommandContext& c, const Args& args) {
  if (args.empty()) return run_help(c, {"info"});
  const HmpCommand* command = find_in(kInfoCommands, args[0]);
  if (command == nullptr) return "unknown command: 'info " + args[0] + "'\n";
  const Args rest(args.begin() + 1, args.end());
  if (rest.size() > command->max_args) return std::unexpected("info: extraneous characters at the end of line");
  return command->run(c, rest);
}

Args split_words(std::string_view line) {
  Args words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size()) break;
    std::string word;
    if (line[i] == '"' || line[i] == '\'') {
      const char quote = line[i++];
      while (i < line.size() && line[i] != quote) word += line[i++];
      ++i;
    } else {
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') word += line[i++];
    }
    words.push_back(std::move(word));
  }
  return words;
}

std::string with_crlf(const std::string& text) {
  std::string out;
  out.reserve(text.size() + text.size() / 16);
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

}  // namespace

std::string hmp_execute(CommandContext& context, std::string_view line) {
  Args words = split_words(line);
  if (words.empty()) return "";
  // "x/4xw 0x1000" is "x /4xw 0x1000" to QEMU.
  if (const size_t slash = words[0].find('/'); slash != std::string::npos && slash > 0) {
    words.insert(words.begin() + 1, words[0].substr(slash));
    words[0].resize(slash);
  }
  const HmpCommand* command = find_in(kCommands, words[0]);
  if (command == nullptr) return with_crlf("unknown command: '" + words[0] + "'\n");
  const Args args(words.begin() + 1, words.end());
  const std::string name(command->names.substr(0, command->names.find('|')));
  HmpResult result;
  if (args.size() < command->min_args) {
    result = std::unexpected("unexpected end of expression");
  } else if (args.size() > command->max_args) {
    result = std::unexpected(name + ": extraneous characters at the end of line");
  } else {
    result = command->run(context, args);
  }
  if (!result) return with_crlf(result.error() + "\nTry \"help " + name + "\" for more information\n");
  return with_crlf(*result);
}

std::string format_registers(VirtMachine& machine, unsigned cpu) {
  // A copy: a running hart may change it meanwhile, as QEMU reads its CPUs.
  const HartState state = machine.hart(cpu).state();
  static constexpr const char* kNames[32] = {
      "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
      "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6"};
  // mstatus as the CSR reads it: UXL and SXL say 64-bit.
  const uint64_t mstatus = state.mstatus | (2ull << 32) | (2ull << 34);
  const std::pair<const char*, uint64_t> csrs[] = {
      {"mhartid", cpu},         {"mstatus", mstatus},     {"mip", state.mip},
      {"mie", state.mie},       {"mideleg", state.mideleg}, {"medeleg", state.medeleg},
      {"mtvec", state.mtvec},   {"stvec", state.stvec},   {"mepc", state.mepc},
      {"sepc", state.sepc},     {"mcause", state.mcause}, {"scause", state.scause},
      {"mtval", state.mtval},   {"stval", state.stval},   {"mscratch", state.mscratch},
      {"sscratch", state.sscratch}, {"satp", state.satp},
  };
  char line[64];
  std::string text = "\nCPU#" + std::to_string(cpu) + "\n";
  std::snprintf(line, sizeof line, " %-8s %016" PRIx64 "\n", "pc", state.pc);
  text += line;
  for (const auto& [name, value] : csrs) {
    std::snprintf(line, sizeof line, " %-8s %016" PRIx64 "\n", name, value);
    text += line;
  }
  for (unsigned i = 0; i < 32; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "x%u/%s", i, kNames[i]);
    std::snprintf(line, sizeof line, " %-8s %016" PRIx64, name, state.x[i]);
    text += line;
    if ((i & 3) == 3) text += "\n";
  }
  return text;
}

}  // namespace godwit
