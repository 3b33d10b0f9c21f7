// -qmp, -monitor and -mon.
#include "base/key_value_list.hpp"
#include "cli/option_handlers.hpp"

namespace godwit {
namespace {

// -qmp and -monitor: a chardev "compat_monitor<N>" (QEMU's name, shown by
// query-chardev) carrying a monitor.
Status add_compat_monitor(ParseState& state, std::string_view argument, bool control) {
  if (argument == "none") return {};
  auto chardev = legacy_chardev(argument, "compat_monitor" + std::to_string(state.monitor_index++));
  if (!chardev) return std::unexpected(std::move(chardev.error()));
  state.config().monitors.push_back({chardev->id, control, false});
  state.config().chardevs.push_back(std::move(*chardev));
  return {};
}

}  // namespace

Status handle_qmp(ParseState& state, std::string_view argument) {
  return add_compat_monitor(state, argument, /*control=*/true);
}

Status handle_monitor(ParseState& state, std::string_view argument) {
  return add_compat_monitor(state, argument, /*control=*/false);
}

// -mon [chardev=]ID[,mode=readline|control][,pretty=on|off]
Status handle_mon(ParseState& state, std::string_view argument) {
  auto list = KeyValueList::parse(argument, "chardev", /*short_booleans=*/true);
  if (!list) return std::unexpected(std::move(list.error()));
  if (auto status = list->check_keys({"chardev", "mode", "pretty", "id"}); !status) return status;
  MonitorConfig monitor;
  monitor.chardev_id = list->get("chardev").value_or("");
  if (monitor.chardev_id.empty()) return fail("chardev is required");
  const std::string mode = list->get("mode").value_or("readline");
  if (mode == "control") {
    monitor.control = true;
  } else if (mode != "readline") {
    return fail("Parameter 'mode' does not accept value '" + mode + "'");
  }
  auto pretty = list->get_bool("pretty");
  if (!pretty) return std::unexpected(std::move(pretty.error()));
  if (*pretty) monitor.pretty = **pretty;
  state.config().monitors.push_back(std::move(monitor));
  return {};
}

}  // namespace godwit
