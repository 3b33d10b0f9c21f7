#include "monitor/netdev_commands.hpp"

#include <algorithm>
#include <cctype>

#include "base/key_value_list.hpp"
#include "machine/virt_machine.hpp"
#include "net/netdev_options.hpp"

namespace godwit {
namespace {

constexpr std::string_view kBoolKeys[] = {"restrict", "ipv4", "ipv6", "vnet_hdr"};

bool is_number(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

}  // namespace

QmpResult<Json> qmp_netdev_add(CommandContext& context, const Json& arguments) {
  std::vector<KeyValueList::Entry> entries;
  for (auto it = arguments.begin(); it != arguments.end(); ++it) {
    const std::string& key = it.key();
    const Json& value = it.value();
    if (key == "hostfwd") {
      for (const Json& rule : value) {
        if (rule.is_string()) {
          entries.push_back({key, rule.get<std::string>()});
        } else if (rule.is_object() && rule.contains("str") && rule["str"].is_string()) {
          entries.push_back({key, rule["str"].get<std::string>()});
        } else {
          return generic_error("Invalid parameter type for 'hostfwd', expected: array of {'str': string}");
        }
      }
    } else if (key == "fd") {
      // A descriptor passed with getfd, taken by its name, or a number.
      std::string fd = value.get<std::string>();
      if (!is_number(fd)) {
        const int taken = context.machine.fd_store().take_named(fd);
        if (taken < 0) return generic_error("File descriptor named '" + fd + "' has not been found");
        fd = std::to_string(taken);
      }
      entries.push_back({key, fd});
    } else if (value.is_boolean()) {
      entries.push_back({key, value.get<bool>() ? "on" : "off"});
    } else {
      entries.push_back({key, value.get<std::string>()});
    }
  }
  KeyValueList list = KeyValueList::from_entries(std::move(entries));
  auto config = read_netdev(list, "netdev_add");
  if (!config) return generic_error(config.error().message());
  if (auto status = context.machine.add_netdev(*config); !status) return generic_error(status.error().message());
  return Json::object();
}

QmpResult<Json> qmp_netdev_del(CommandContext& context, const Json& arguments) {
  const std::string id = arguments["id"].get<std::string>();
  auto status = context.machine.del_netdev(id);
  if (!status) {
    const std::string& message = status.error().message();
    if (message.starts_with("Device '")) return std::unexpected(QmpError{"DeviceNotFound", message});
    return generic_error(message);
  }
  return Json::object();
}

QmpResult<Json> hmp_netdev_add_arguments(const std::string& options) {
  auto list = KeyValueList::parse(options, "type");
  if (!list) return generic_error(list.error().message());
  Json arguments = Json::object();
  for (const KeyValueList::Entry& entry : list->entries()) {
    if (entry.key == "hostfwd") {
      if (!arguments.contains("hostfwd")) arguments["hostfwd"] = Json::array();
      arguments["hostfwd"].push_back(Json{{"str", entry.value}});
    } else if (std::find(std::begin(kBoolKeys), std::end(kBoolKeys), entry.key) != std::end(kBoolKeys)) {
      auto value = list->get_bool(entry.key);
      if (!value) return generic_error(value.error().message());
      arguments[entry.key] = value->value_or(false);
    } else {
      arguments[entry.key] = entry.value;
    }
  }
  return arguments;
}

}  // namespace godwit
