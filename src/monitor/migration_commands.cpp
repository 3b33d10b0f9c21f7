#include "monitor/migration_commands.hpp"

#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "base/size_parse.hpp"

namespace godwit {
namespace {

Json empty_object() { return Json::object(); }

QmpResult<Json> from_status(const Status& status) {
  if (!status) return generic_error(status.error().message());
  return empty_object();
}

QmpResult<MigrationTarget> target_from(const Json& arguments, MigrationDirection direction) {
  auto target = parse_migrate_arguments(arguments, direction);
  if (!target) return generic_error(target.error().message());
  return *target;
}

Json ram_info(const MigrationProgress& p) {
  const RamSaveStats& ram = p.ram;
  // QEMU's member order (MigrationStats).
  return Json{{"transferred", ram.transferred_bytes},
              {"remaining", p.remaining_bytes},
              {"total", ram.total_bytes},
              {"duplicate", ram.duplicate_pages},
              {"skipped", 0},
              {"normal", ram.normal_pages},
              {"normal-bytes", ram.normal_bytes},
              {"dirty-pages-rate", p.dirty_pages_rate},
              {"mbps", p.mbps},
              {"dirty-sync-count", p.dirty_sync_count},
              {"postcopy-requests", 0},
              {"page-size", ram.page_size},
              {"multifd-bytes", 0},
              {"pages-per-second", p.pages_per_second},
              {"precopy-bytes", ram.precopy_bytes},
              {"downtime-bytes", ram.downtime_bytes},
              {"postcopy-bytes", 0},
              {"dirty-sync-missed-zero-copy", 0}};
}

std::string format_bytes(uint64_t bytes) {
  // QEMU's size_to_str: the largest binary unit that keeps the number >= 1.
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(kUnits)) {
    value /= 1024.0;
    ++unit;
  }
  char text[48];
  if (unit == 0) {
    std::snprintf(text, sizeof text, "%" PRIu64 " B", bytes);
  } else {
    std::snprintf(text, sizeof text, "%.3g %s", value, kUnits[unit]);
  }
  return text;
}

std::optional<uint64_t> parse_unsigned(const std::string& text) {
  if (text.empty() || text[0] == '-') return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const uint64_t value = std::strtoull(text.c_str(), &end, 0);
  if (*end != '\0' || errno != 0) return std::nullopt;
  return value;
}

}  // namespace

QmpResult<Json> qmp_migrate(CommandContext& context, const Json& arguments) {
  if (arguments.value("resume", false)) return generic_error("Postcopy is not supported by godwit: nothing to resume");
  auto target = target_from(arguments, MigrationDirection::outgoing);
  if (!target) return std::unexpected(target.error());
  if (context.machine.run_state() == RunState::kInmigrate) {
    return generic_error("Guest is waiting for an incoming migration");
  }
  return from_status(context.machine.migration().start_outgoing(*target));
}

QmpResult<Json> qmp_migrate_incoming(CommandContext& context, const Json& arguments) {
  auto target = target_from(arguments, MigrationDirection::incoming);
  if (!target) return std::unexpected(target.error());
  Migration& migration = context.machine.migration();
  if (migration.progress().incoming) return generic_error("The incoming migration has already been started");
  if (context.machine.run_state() != RunState::kInmigrate) {
    return generic_error("'-incoming' was not specified on the command line");
  }
  if (arguments.contains("exit-on-error") && !arguments["exit-on-error"].get<bool>()) {
    return generic_error("godwit always exits when an incoming migration fails: exit-on-error must be true");
  }
  return from_status(migration.start_incoming(*target));
}

QmpResult<Json> qmp_migrate_cancel(CommandContext& context, const Json&) {
  context.machine.migration().cancel();
  return empty_object();
}

QmpResult<Json> qmp_query_migrate(CommandContext& context, const Json&) {
  const MigrationProgress p = context.machine.migration().progress();
  Json info = empty_object();
  if (p.status == MigrationStatus::kNone) return info;
  info["status"] = std::string(migration_status_name(p.status));
  if (p.incoming) {
    if (p.socket_address) info["socket-address"] = Json::array({*p.socket_address});
    // godwit's own: the guest pause from the last instruction on the source
    // to the first here, when both ran on this host (microseconds).
    if (p.pause_ns) info["x-pause-us"] = *p.pause_ns / 1000;
    // godwit's own: reading and loading the stream took this long.
    if (p.load_us && p.status == MigrationStatus::kCompleted) info["x-load-us"] = *p.load_us;
    if (p.status == MigrationStatus::kFailed && !p.error_desc.empty()) info["error-desc"] = p.error_desc;
    return info;
  }
  if (p.status == MigrationStatus::kSetup) return info;
  if (p.setup_time_ms) info["setup-time"] = *p.setup_time_ms;
  if (p.status == MigrationStatus::kCompleted) {
    info["downtime"] = p.downtime_ms.value_or(0);
    if (p.downtime_us) info["x-downtime-us"] = *p.downtime_us;  // godwit's own, for sub-ms pauses
  } else if (p.status == MigrationStatus::kActive || p.status == MigrationStatus::kCancelling) {
    info["expected-downtime"] = p.expected_downtime_ms;
  }
  info["total-time"] = p.total_time_ms;
  info["ram"] = ram_info(p);
  if (p.status == MigrationStatus::kFailed && !p.error_desc.empty()) info["error-desc"] = p.error_desc;
  return info;
}

QmpResult<Json> qmp_migrate_set_parameters(CommandContext& context, const Json& arguments) {
  Migration& migration = context.machine.migration();
  MigrationParameters parameters = migration.parameters();
  if (arguments.contains("downtime-limit")) {
    const int64_t value = arguments["downtime-limit"].get<int64_t>();
    if (value < 0 || static_cast<uint64_t>(value) > MigrationParameters::kMaxDowntimeLimitMs) {
      return generic_error("Parameter 'downtime_limit' expects an integer in the range of 0 to 2000000 milliseconds");
    }
    parameters.downtime_limit_ms = static_cast<uint64_t>(value);
  }
  if (arguments.contains("max-bandwidth")) parameters.max_bandwidth = arguments["max-bandwidth"].get<uint64_t>();
  if (arguments.contains("avail-switchover-bandwidth")) {
    parameters.avail_switchover_bandwidth = arguments["avail-switchover-bandwidth"].get<uint64_t>();
  }
  // QEMU's ranges and words (migrate_params_check).
  struct AnnounceLimit {
    const char* name;
    const char* qemu_name;
    int64_t low, high;
    uint64_t* target;
  };
  const AnnounceLimit announce[] = {
      {"announce-initial", "announce_initial", 0, 100000, &parameters.announce_initial_ms},
      {"announce-max", "announce_max", 0, 100000, &parameters.announce_max_ms},
      {"announce-rounds", "announce_rounds", 0, 1000, &parameters.announce_rounds},
      {"announce-step", "announce_step", 1, 10000, &parameters.announce_step_ms},
  };
  for (const AnnounceLimit& limit : announce) {
    if (!arguments.contains(limit.name)) continue;
    const int64_t value = arguments[limit.name].get<int64_t>();
    if (value < limit.low || value > limit.high) {
      // QEMU says "between 0 and" even for the step, whose 0 it refuses.
      return generic_error(std::string("Parameter '") + limit.qemu_name + "' expects a value between 0 and " +
                           std::to_string(limit.high));
    }
    *limit.target = static_cast<uint64_t>(value);
  }
  if (arguments.contains("mode")) {
    const std::string name = arguments["mode"].get<std::string>();
    const auto mode = find_migration_mode(name);
    if (!mode) return generic_error("Parameter 'mode' does not accept value '" + name + "'");
    parameters.mode = *mode;
  }
  if (arguments.contains("cpr-exec-command")) {
    parameters.cpr_exec_command = arguments["cpr-exec-command"].get<std::vector<std::string>>();
  }
  migration.set_parameters(parameters);
  return empty_object();
}

QmpResult<Json> qmp_query_migrate_parameters(CommandContext& context, const Json&) {
  const MigrationParameters p = context.machine.migration().parameters();
  return Json{{"downtime-limit", p.downtime_limit_ms},
              {"max-bandwidth", p.max_bandwidth},
              {"avail-switchover-bandwidth", p.avail_switchover_bandwidth},
              {"mode", std::string(migration_mode_name(p.mode))},
              {"cpr-exec-command", p.cpr_exec_command},
              {"announce-initial", p.announce_initial_ms},
              {"announce-max", p.announce_max_ms},
              {"announce-rounds", p.announce_rounds},
              {"announce-step", p.announce_step_ms}};
}

QmpResult<Json> qmp_migrate_set_capabilities(CommandContext& context, const Json& arguments) {
  Migration& migration = context.machine.migration();
  MigrationCapabilities capabilities = migration.capabilities();
  const Json& list = arguments["capabilities"];
  for (size_t i = 0; i < list.size(); ++i) {
    const Json& entry = list[i];
    const std::string where = "capabilities[" + std::to_string(i) + "]";
    if (!entry.is_object()) return generic_error("Invalid parameter type for '" + where + "', expected: object");
    if (!entry.contains("capability")) return generic_error("Parameter '" + where + ".capability' is missing");
    if (!entry["capability"].is_string()) {
      return generic_error("Invalid parameter type for '" + where + ".capability', expected: string");
    }
    if (!entry.contains("state")) return generic_error("Parameter '" + where + ".state' is missing");
    if (!entry["state"].is_boolean()) {
      return generic_error("Invalid parameter type for '" + where + ".state', expected: boolean");
    }
    for (auto it = entry.begin(); it != entry.end(); ++it) {
      if (it.key() != "capability" && it.key() != "state") {
        return generic_error("Parameter '" + where + "." + it.key() + "' is unexpected");
      }
    }
    const std::string name = entry["capability"].get<std::string>();
    const auto capability = find_migration_capability(name);
    if (!capability) return generic_error("Parameter '" + where + ".capability' does not accept value '" + name + "'");
    const bool state = entry["state"].get<bool>();
    if (state && !migration_capability_supported(*capability)) {
      return generic_error("Capability '" + name + "' is not supported by godwit");
    }
    capabilities.set(*capability, state);
  }
  return from_status(migration.set_capabilities(capabilities));
}

QmpResult<Json> qmp_query_migrate_capabilities(CommandContext& context, const Json&) {
  const MigrationCapabilities capabilities = context.machine.migration().capabilities();
  Json list = Json::array();
  for (size_t i = 0; i < kMigrationCapabilityCount; ++i) {
    const auto capability = static_cast<MigrationCapability>(i);
    list.push_back(Json{{"state", capabilities[capability]},
                        {"capability", std::string(migration_capability_name(capability))}});
  }
  return list;
}

std::string format_info_migrate(const Json& info) {
  if (!info.contains("status")) return "";
  std::string text = "Status: \t\t" + info["status"].get<std::string>();
  if (info.contains("error-desc")) text += " (" + info["error-desc"].get<std::string>() + ")";
  text += "\n";
  if (info.contains("socket-address")) {
    text += "Sockets: [\n";
    for (const Json& address : info["socket-address"]) text += "\t" + address.get<std::string>() + "\n";
    text += "]\n";
  }
  if (info.contains("total-time")) {
    text += "Time (ms): \t\ttotal=" + std::to_string(info["total-time"].get<uint64_t>());
    if (info.contains("setup-time")) text += ", setup=" + std::to_string(info["setup-time"].get<uint64_t>());
    if (info.contains("expected-downtime")) {
      text += ", exp_down=" + std::to_string(info["expected-downtime"].get<uint64_t>());
    }
    if (info.contains("downtime")) text += ", down=" + std::to_string(info["downtime"].get<uint64_t>());
    text += "\n";
  }
  if (info.contains("ram")) {
    const Json& ram = info["ram"];
    const uint64_t total = ram["total"].get<uint64_t>();
    const uint64_t transferred = ram["transferred"].get<uint64_t>();
    const uint64_t remaining = ram["remaining"].get<uint64_t>();
    char rate[32];
    std::snprintf(rate, sizeof rate, "%.2f", ram["mbps"].get<double>());
    // The progress line: how much of RAM has gone at least once, and what
    // is left to send in this pass.
    const uint64_t sent_pages = ram["normal"].get<uint64_t>() + ram["duplicate"].get<uint64_t>();
    const uint64_t page_size = ram["page-size"].get<uint64_t>();
    const double ratio = total == 0 ? 1.0 : std::min(1.0, static_cast<double>(sent_pages * page_size) / static_cast<double>(total));
    char progress[160];
    std::snprintf(progress, sizeof progress, "Progress: \t\t%.0f%% of RAM sent once, pass %" PRIu64 ", %s left, %s Mbps\n",
                  std::floor(ratio * 100.0), ram["dirty-sync-count"].get<uint64_t>(), format_bytes(remaining).c_str(),
                  rate);
    text += progress;
    text += "RAM info:\n";
    text += "  Throughput (Mbps): \t" + std::string(rate) + "\n";
    text += "  Sizes: \t\tpagesize=" + format_bytes(page_size) + ", total=" + format_bytes(total) + "\n";
    text += "  Transfers: \t\ttransferred=" + format_bytes(transferred) + ", remain=" + format_bytes(remaining) + "\n";
    text += "    Channels: \t\tprecopy=" + format_bytes(ram["precopy-bytes"].get<uint64_t>()) +
            ", multifd=0 B, postcopy=0 B\n";
    text += "    Page Types: \tnormal=" + std::to_string(ram["normal"].get<uint64_t>()) +
            ", zero=" + std::to_string(ram["duplicate"].get<uint64_t>()) + "\n";
    text += "  Page Rates (pps): \ttransfer=" + std::to_string(ram["pages-per-second"].get<uint64_t>()) +
            ", dirty=" + std::to_string(ram["dirty-pages-rate"].get<uint64_t>()) + "\n";
    text += "  Others: \t\tdirty_syncs=" + std::to_string(ram["dirty-sync-count"].get<uint64_t>()) + "\n";
  }
  return text;
}

std::string format_migrate_parameters(const Json& parameters) {
  std::string text;
  text += "downtime-limit: " + std::to_string(parameters["downtime-limit"].get<uint64_t>()) + " ms\n";
  text += "max-bandwidth: " + std::to_string(parameters["max-bandwidth"].get<uint64_t>()) + " bytes/second\n";
  text += "avail-switchover-bandwidth: " + std::to_string(parameters["avail-switchover-bandwidth"].get<uint64_t>()) +
          " bytes/second\n";
  text += "announce-initial: " + std::to_string(parameters["announce-initial"].get<uint64_t>()) + " ms\n";
  text += "announce-max: " + std::to_string(parameters["announce-max"].get<uint64_t>()) + " ms\n";
  text += "announce-rounds: " + std::to_string(parameters["announce-rounds"].get<uint64_t>()) + "\n";
  text += "announce-step: " + std::to_string(parameters["announce-step"].get<uint64_t>()) + " ms\n";
  text += "mode: " + parameters["mode"].get<std::string>() + "\n";
  std::string command;
  for (const Json& word : parameters["cpr-exec-command"]) command += (command.empty() ? "" : " ") + word.get<std::string>();
  text += "cpr-exec-command: " + command + "\n";
  return text;
}

std::string format_migrate_capabilities(const Json& capabilities) {
  std::string text;
  for (const Json& entry : capabilities) {
    text += entry["capability"].get<std::string>() + ": " + (entry["state"].get<bool>() ? "on" : "off") + "\n";
  }
  return text;
}

QmpResult<Json> hmp_parameter_arguments(const std::string& name, const std::string& value) {
  if (name == "downtime-limit") {
    auto number = parse_unsigned(value);
    if (!number) return generic_error("Parameter 'downtime-limit' expects an integer (milliseconds)");
    return Json{{name, *number}};
  }
  if (name == "max-bandwidth" || name == "avail-switchover-bandwidth") {
    // qemu_strtosz_MiB: a plain number is MiB.
    auto bytes = parse_size(value, kHmpSize);
    if (!bytes) return generic_error("Parameter '" + name + "' expects a size (a plain number is MiB)");
    return Json{{name, *bytes}};
  }
  if (name == "announce-initial" || name == "announce-max" || name == "announce-rounds" || name == "announce-step") {
    auto number = parse_unsigned(value);
    if (!number) return generic_error("Parameter '" + name + "' expects an integer");
    return Json{{name, *number}};
  }
  if (name == "mode") return Json{{name, value}};
  if (name == "cpr-exec-command") {
    // As QEMU's HMP: the words of the value, split at spaces.
    Json words = Json::array();
    size_t start = 0;
    while (start < value.size()) {
      const size_t end = std::min(value.find(' ', start), value.size());
      if (end > start) words.push_back(value.substr(start, end - start));
      start = end + 1;
    }
    return Json{{name, words}};
  }
  return generic_error("Parameter 'parameter' does not accept value '" + name + "'");
}

}  // namespace godwit
