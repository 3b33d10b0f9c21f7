// The QMP command table and its handlers. Argument names, reply shapes and
// error texts are QEMU 10's (qapi/*.json, monitor/qmp-cmds.c).
#include <unistd.h>

#include <cctype>
#include <charconv>

#include "base/version.hpp"
#include "monitor/command_context.hpp"
#include "monitor/hmp.hpp"
#include "monitor/memory_dump.hpp"
#include "monitor/migration_commands.hpp"
#include "monitor/netdev_commands.hpp"

namespace godwit {
namespace {

Json empty_object() { return Json::object(); }

QmpResult<Json> from_status(Status status) {
  if (!status) return generic_error(status.error().message());
  return empty_object();
}

// "0.1.0" -> {"micro": 0, "minor": 1, "major": 0}, in QEMU's member order.
Json version_numbers() {
  int parts[3] = {0, 0, 0};
  std::string_view text = kGodwitVersion;
  for (int& part : parts) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), part);
    (void)ec;
    text.remove_prefix(static_cast<size_t>(end - text.data()));
    if (!text.empty() && text.front() == '.') text.remove_prefix(1);
  }
  return Json{{"micro", parts[2]}, {"minor", parts[1]}, {"major", parts[0]}};
}

QmpResult<unsigned> cpu_index(CommandContext& context, const Json& arguments) {
  if (!arguments.contains("cpu-index")) return context.current_cpu;
  const int64_t index = arguments["cpu-index"].get<int64_t>();
  if (index < 0 || index >= static_cast<int64_t>(context.machine.hart_count())) {
    return generic_error("Parameter 'cpu-index' expects a CPU number");
  }
  return static_cast<unsigned>(index);
}

int take_received_fd(CommandContext& context) {
  if (context.received_fds == nullptr || context.received_fds->empty()) return -1;
  const int fd = context.received_fds->front();
  context.received_fds->pop_front();
  return fd;
}

// --- handlers -------------------------------------------------------------

QmpResult<Json> qmp_capabilities(CommandContext&, const Json&) {
  return empty_object();  // the session does the negotiating
}

QmpResult<Json> query_version(CommandContext&, const Json&) {
  return Json{{"qemu", version_numbers()}, {"package", "godwit"}};
}

QmpResult<Json> query_commands(CommandContext&, const Json&) {
  Json list = Json::array();
  for (const CommandSpec& spec : qmp_commands()) list.push_back(Json{{"name", spec.name}});
  return list;
}

QmpResult<Json> query_status(CommandContext& context, const Json&) {
  const RunState state = context.machine.run_state();
  // QEMU 10 no longer reports "singlestep".
  return Json{{"status", run_state_name(state)}, {"running", state == RunState::kRunning}};
}

QmpResult<Json> query_name(CommandContext& context, const Json&) {
  Json reply = empty_object();
  if (!context.machine.config().name.empty()) reply["name"] = context.machine.config().name;
  return reply;
}

QmpResult<Json> query_cpus_fast(CommandContext& context, const Json&) {
  Json list = Json::array();
  for (unsigned i = 0; i < context.machine.hart_count(); ++i) {
    list.push_back(Json{{"thread-id", context.machine.hart_thread_id(i)},
                        {"props", Json{{"core-id", i}}},
                        {"qom-path", "/machine/soc0/harts[" + std::to_string(i) + "]"},
                        {"cpu-index", i},
                        {"target", "riscv64"}});
  }
  return list;
}

QmpResult<Json> query_memdev(CommandContext& context, const Json&) {
  Json list = Json::array();
  for (const auto& backend : context.machine.memory_backends()) {
    list.push_back(Json{{"id", backend->id()},
                        {"size", backend->size_bytes()},
                        {"merge", true},
                        {"dump", true},
                        {"prealloc", false},
                        {"share", backend->shared()},
                        {"reserve", true},
                        {"host-nodes", Json::array()},
                        {"policy", "default"}});
  }
  return list;
}

// Whether a front end uses the chardev: the serial port, or a monitor.
bool frontend_open(const MachineConfig& config, const std::string& id) {
  for (const std::string& serial : config.serial_chardev_ids) {
    if (serial == id) return true;
  }
  for (const MonitorConfig& monitor : config.monitors) {
    if (monitor.chardev_id == id) return true;
  }
  return false;
}

QmpResult<Json> query_chardev(CommandContext& context, const Json&) {
  Json list = Json::array();
  for (const auto& chardev : context.machine.chardevs()) {
    list.push_back(Json{{"frontend-open", frontend_open(context.machine.config(), chardev->id())},
                        {"filename", chardev->filename()},
                        {"label", chardev->id()}});
  }
  return list;
}

QmpResult<Json> stop(CommandContext& context, const Json&) {
  context.machine.stop();
  return empty_object();
}

QmpResult<Json> cont(CommandContext& context, const Json&) { return from_status(context.machine.cont()); }

// QEMU's announce-self: each NIC sends RARPs of its MAC, `rounds` times
// (the parameters default to QEMU's announce-* defaults).
QmpResult<Json> announce_self(CommandContext& context, const Json& arguments) {
  AnnounceParameters parameters;
  parameters.initial_ms = arguments.value("initial", parameters.initial_ms);
  parameters.max_ms = arguments.value("max", parameters.max_ms);
  parameters.rounds = arguments.value("rounds", parameters.rounds);
  parameters.step_ms = arguments.value("step", parameters.step_ms);
  for (auto [name, value] : {std::pair<const char*, int64_t>{"initial", parameters.initial_ms}, {"max", parameters.max_ms},
                             {"rounds", parameters.rounds}, {"step", parameters.step_ms}}) {
    if (value < 0 || value > 100000) {
      return generic_error(std::string("Parameter '") + name + "' expects a value from 0 to 100000");
    }
  }
  context.machine.announce(parameters);
  return empty_object();
}

QmpResult<Json> system_reset(CommandContext& context, const Json&) {
  context.machine.system_reset(ShutdownCause::kHostQmpSystemReset);
  return empty_object();
}

QmpResult<Json> system_powerdown(CommandContext& context, const Json&) {
  context.machine.powerdown();
  return empty_object();
}

QmpResult<Json> quit(CommandContext& context, const Json&) {
  context.machine.quit(ShutdownCause::kHostQmpQuit);
  return empty_object();
}

QmpResult<Json> pmemsave(CommandContext& context, const Json& arguments) {
  return from_status(save_physical_memory(context.machine, arguments["val"].get<uint64_t>(),
                                          arguments["size"].get<uint64_t>(), arguments["filename"].get<std::string>()));
}

QmpResult<Json> memsave(CommandContext& context, const Json& arguments) {
  auto cpu = cpu_index(context, arguments);
  if (!cpu) return std::unexpected(cpu.error());
  return from_status(save_virtual_memory(context.machine, *cpu, arguments["val"].get<uint64_t>(),
                                         arguments["size"].get<uint64_t>(), arguments["filename"].get<std::string>()));
}

QmpResult<Json> human_monitor_command(CommandContext& context, const Json& arguments) {
  auto cpu = cpu_index(context, arguments);
  if (!cpu) return std::unexpected(cpu.error());
  CommandContext hmp_context{context.machine, nullptr, *cpu};
  return Json(hmp_execute(hmp_context, arguments["command-line"].get<std::string>()));
}

QmpResult<Json> getfd(CommandContext& context, const Json& arguments) {
  const std::string name = arguments["fdname"].get<std::string>();
  if (!name.empty() && std::isdigit(static_cast<unsigned char>(name[0]))) {
    return generic_error("Parameter 'fdname' expects a name not starting with a digit");
  }
  const int fd = take_received_fd(context);
  if (fd < 0) return generic_error("No file descriptor supplied via SCM_RIGHTS");
  context.machine.fd_store().add_named(name, fd);
  return empty_object();
}

QmpResult<Json> closefd(CommandContext& context, const Json& arguments) {
  return from_status(context.machine.fd_store().close_named(arguments["fdname"].get<std::string>()));
}

QmpResult<Json> add_fd(CommandContext& context, const Json& arguments) {
  std::optional<int64_t> set_id;
  if (arguments.contains("fdset-id")) {
    set_id = arguments["fdset-id"].get<int64_t>();
    if (*set_id < 0) return generic_error("Parameter 'fdset-id' expects a non-negative value");
  }
  const int fd = take_received_fd(context);
  if (fd < 0) return generic_error("No file descriptor supplied via SCM_RIGHTS");
  std::optional<std::string> opaque;
  if (arguments.contains("opaque")) opaque = arguments["opaque"].get<std::string>();
  const int64_t id = context.machine.fd_store().add_to_set(set_id, fd, std::move(opaque));
  return Json{{"fd", fd}, {"fdset-id", id}};
}

QmpResult<Json> remove_fd(CommandContext& context, const Json& arguments) {
  std::optional<int64_t> fd;
  if (arguments.contains("fd")) fd = arguments["fd"].get<int64_t>();
  return from_status(context.machine.fd_store().remove_from_set(arguments["fdset-id"].get<int64_t>(), fd));
}

QmpResult<Json> query_fdsets(CommandContext& context, const Json&) {
  Json list = Json::array();
  for (const FdStore::FdSet& set : context.machine.fd_store().sets()) {
    Json fds = Json::array();
    for (const FdStore::FdInfo& info : set.fds) {
      Json entry{{"fd", info.fd}};
      if (info.opaque) entry["opaque"] = *info.opaque;
      fds.push_back(std::move(entry));
    }
    list.push_back(Json{{"fds", std::move(fds)}, {"fdset-id", set.id}});
  }
  return list;
}

// --- the table --------------------------------------------------------------

constexpr std::string_view kQmpCapabilityNames[] = {"oob"};
constexpr ArgSpec kCapabilitiesArgs[] = {{"enable", ArgType::kStringList, true, kQmpCapabilityNames}};
constexpr ArgSpec kPmemsaveArgs[] = {
    {"val", ArgType::kUint64}, {"size", ArgType::kUint64}, {"filename", ArgType::kString}};
constexpr ArgSpec kMemsaveArgs[] = {{"val", ArgType::kUint64},
                                    {"size", ArgType::kUint64},
                                    {"filename", ArgType::kString},
                                    {"cpu-index", ArgType::kInt, true}};
constexpr ArgSpec kHumanMonitorArgs[] = {{"command-line", ArgType::kString}, {"cpu-index", ArgType::kInt, true}};
constexpr ArgSpec kFdnameArgs[] = {{"fdname", ArgType::kString}};
constexpr ArgSpec kAddFdArgs[] = {{"fdset-id", ArgType::kInt, true}, {"opaque", ArgType::kString, true}};
constexpr ArgSpec kRemoveFdArgs[] = {{"fdset-id", ArgType::kInt}, {"fd", ArgType::kInt, true}};
constexpr ArgSpec kMigrateArgs[] = {{"uri", ArgType::kString, true},
                                    {"channels", ArgType::kAny, true},
                                    {"detach", ArgType::kBool, true},
                                    {"resume", ArgType::kBool, true}};
constexpr ArgSpec kMigrateIncomingArgs[] = {
    {"uri", ArgType::kString, true}, {"channels", ArgType::kAny, true}, {"exit-on-error", ArgType::kBool, true}};
constexpr ArgSpec kMigrateSetParametersArgs[] = {{"downtime-limit", ArgType::kInt, true},
                                                 {"max-bandwidth", ArgType::kUint64, true},
                                                 {"avail-switchover-bandwidth", ArgType::kUint64, true},
                                                 {"mode", ArgType::kString, true},
                                                 {"cpr-exec-command", ArgType::kStringList, true},
                                                 {"announce-initial", ArgType::kInt, true},
                                                 {"announce-max", ArgType::kInt, true},
                                                 {"announce-rounds", ArgType::kInt, true},
                                                 {"announce-step", ArgType::kInt, true}};
constexpr ArgSpec kMigrateSetCapabilitiesArgs[] = {{"capabilities", ArgType::kArray}};
constexpr ArgSpec kAnnounceArgs[] = {{"initial", ArgType::kInt, true},
                                     {"max", ArgType::kInt, true},
                                     {"rounds", ArgType::kInt, true},
                                     {"step", ArgType::kInt, true},
                                     {"interfaces", ArgType::kAny, true},
                                     {"id", ArgType::kString, true}};

constexpr ArgSpec kNetdevAddArgs[] = {
    {"type", ArgType::kString},           {"id", ArgType::kString},
    {"net", ArgType::kString, true},      {"host", ArgType::kString, true},
    {"dns", ArgType::kString, true},      {"dhcpstart", ArgType::kString, true},
    {"restrict", ArgType::kBool, true},   {"hostname", ArgType::kString, true},
    {"hostfwd", ArgType::kArray, true},   {"ipv4", ArgType::kBool, true},
    {"ipv6", ArgType::kBool, true},       {"ifname", ArgType::kString, true},
    {"fd", ArgType::kString, true},       {"script", ArgType::kString, true},
    {"downscript", ArgType::kString, true}, {"vnet_hdr", ArgType::kBool, true}};
constexpr ArgSpec kNetdevDelArgs[] = {{"id", ArgType::kString}};

using enum CommandThread;
constexpr CommandSpec kCommands[] = {
    {"qmp_capabilities", kCapabilitiesArgs, kIoLoop, qmp_capabilities},
    {"query-version", {}, kIoLoop, query_version},
    {"query-commands", {}, kIoLoop, query_commands},
    {"query-status", {}, kIoLoop, query_status},
    {"query-name", {}, kIoLoop, query_name},
    {"query-cpus-fast", {}, kIoLoop, query_cpus_fast},
    {"query-memdev", {}, kIoLoop, query_memdev},
    {"query-chardev", {}, kIoLoop, query_chardev},
    {"stop", {}, kMain, stop},
    {"cont", {}, kMain, cont},
    {"system_reset", {}, kMain, system_reset},
    {"announce-self", kAnnounceArgs, kMain, announce_self},
    {"netdev_add", kNetdevAddArgs, kMain, qmp_netdev_add},
    {"netdev_del", kNetdevDelArgs, kMain, qmp_netdev_del},
    {"system_powerdown", {}, kMain, system_powerdown},
    {"quit", {}, kMain, quit},
    {"pmemsave", kPmemsaveArgs, kMain, pmemsave},
    {"memsave", kMemsaveArgs, kMain, memsave},
    {"human-monitor-command", kHumanMonitorArgs, kMain, human_monitor_command},
    {"getfd", kFdnameArgs, kIoLoop, getfd},
    {"closefd", kFdnameArgs, kIoLoop, closefd},
    {"add-fd", kAddFdArgs, kIoLoop, add_fd},
    {"remove-fd", kRemoveFdArgs, kIoLoop, remove_fd},
    {"query-fdsets", {}, kIoLoop, query_fdsets},
    {"migrate", kMigrateArgs, kMain, qmp_migrate},
    {"migrate-incoming", kMigrateIncomingArgs, kMain, qmp_migrate_incoming},
    {"migrate_cancel", {}, kIoLoop, qmp_migrate_cancel},
    {"query-migrate", {}, kIoLoop, qmp_query_migrate},
    {"migrate-set-parameters", kMigrateSetParametersArgs, kIoLoop, qmp_migrate_set_parameters},
    {"query-migrate-parameters", {}, kIoLoop, qmp_query_migrate_parameters},
    {"migrate-set-capabilities", kMigrateSetCapabilitiesArgs, kIoLoop, qmp_migrate_set_capabilities},
    {"query-migrate-capabilities", {}, kIoLoop, qmp_query_migrate_capabilities},
};

}  // namespace

std::span<const CommandSpec> qmp_commands() { return kCommands; }

const CommandSpec* find_qmp_command(std::string_view name) {
  for (const CommandSpec& spec : kCommands) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

QmpResult<Json> run_qmp_command(const CommandSpec& spec, CommandContext& context, const Json& arguments) {
  if (auto valid = validate_arguments(arguments, spec.arguments); !valid) return std::unexpected(valid.error());
  return spec.handler(context, arguments);
}

}  // namespace godwit
