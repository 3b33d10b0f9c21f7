// -chardev and -serial.
#include "base/key_value_list.hpp"
#include "cli/option_handlers.hpp"
#include "io/socket_address.hpp"

namespace godwit {
namespace {

std::string quoted(std::string_view text) {
  std::string out(1, '\'');  // built by appending: GCC 12 warns falsely on "'" + string
  out += text;
  out += '\'';
  return out;
}

Result<uint16_t> parse_chardev_port(std::string_view text) {
  const auto port = parse_port(text);
  if (!port) return fail("invalid port " + quoted(text));
  return *port;
}

Status assign_bool(const KeyValueList& list, std::string_view key, bool& out) {
  auto value = list.get_bool(key);
  if (!value) return std::unexpected(std::move(value.error()));
  if (*value) out = **value;
  return {};
}

// The keys of each backend, checked once the backend is known. The id is
// set by the caller (-chardev requires one, -serial makes one up).
Status chardev_from_list(KeyValueList& list, ChardevConfig& config) {
  const std::string backend = list.get("backend").value_or("");
  if (backend == "stdio") {
    config.kind = ChardevKind::kStdio;
    if (auto status = list.check_keys({"backend", "id", "signal", "mux"}); !status) return status;
    if (auto status = assign_bool(list, "signal", config.signal); !status) return status;
    return assign_bool(list, "mux", config.mux);
  }
  if (backend == "null") {
    config.kind = ChardevKind::kNull;
    return list.check_keys({"backend", "id"});
  }
  if (backend == "file") {
    config.kind = ChardevKind::kFile;
    if (auto status = list.check_keys({"backend", "id", "path", "append"}); !status) return status;
    config.path = list.get("path").value_or("");
    if (config.path.empty()) return fail("file: no filename given");
    return assign_bool(list, "append", config.append);
  }
  if (backend == "socket") {
    config.kind = ChardevKind::kSocket;
    auto status = list.check_keys({"backend", "id", "path", "host", "port", "server", "wait"});
    if (!status) return status;
    config.path = list.get("path").value_or("");
    config.host = list.get("host").value_or("");
    const auto port = list.get("port");
    if (!config.path.empty() && (list.has("host") || port)) {
      return fail("socket: give either path= or host=/port=, not both");
    }
    if (config.path.empty()) {
      if (!port) {
        return fail(list.has("host") ? "socket: no port given" : "socket: no path or port given");
      }
      auto number = parse_chardev_port(*port);
      if (!number) return std::unexpected(std::move(number.error()).context("socket"));
      config.port = *number;
    }
    if (auto status = assign_bool(list, "server", config.server); !status) return status;
    if (list.has("wait") && !config.server) {
      // As QEMU: waiting is for a server's first client.
      return fail("socket: 'wait' option is incompatible with client connect mode");
    }
    return assign_bool(list, "wait", config.wait);
  }
  if (backend.empty()) return fail("no backend given");
  return fail(quoted(backend) + " is not a valid char driver name (stdio, null, file, socket)");
}

// "[::1]:4444", "localhost:4444", ":4444", split as QEMU's inet_parse.
Status split_host_port(std::string_view text, ChardevConfig& config) {
  auto parts = godwit::split_host_port(text);
  if (!parts) {
    return fail("invalid address " + quoted(text) + ", expected " +
                (parts.error() == HostPortError::ipv6_address ? "[HOST]:PORT" : "HOST:PORT"));
  }
  auto number = parse_chardev_port(parts->port + parts->options);
  if (!number) return std::unexpected(std::move(number.error()));
  config.host = parts->host;
  config.port = *number;
  return {};
}

}  // namespace

// -chardev BACKEND,id=ID[,...]
Status handle_chardev(ParseState& state, std::string_view argument) {
  auto list = KeyValueList::parse(argument, "backend", /*short_booleans=*/true);
  if (!list) return std::unexpected(std::move(list.error()));
  const std::string id = list->get("id").value_or("");
  if (id.empty()) return fail("no id specified");
  ChardevConfig config;
  config.id = id;
  if (auto status = chardev_from_list(*list, config); !status) return status;
  state.config().chardevs.push_back(std::move(config));
  return {};
}

// -serial stdio | null | none | file:PATH | unix:PATH[,server=on,wait=off]
//         | tcp:HOST:PORT[,server=on,wait=off] | chardev:ID
// Each creates an anonymous chardev "serial<N>", as QEMU names them, except
// chardev:ID (an existing one, checked after parsing) and none (no port).
Status handle_serial(ParseState& state, std::string_view argument) {
  state.serial_given = true;
  if (argument == "none") return {};
  MachineConfig& machine = state.config();
  const unsigned index = state.serial_index++;
  if (argument.starts_with("chardev:")) {
    const std::string_view id = argument.substr(8);
    if (id.empty()) return fail("chardev: needs an id");
    machine.serial_chardev_ids.emplace_back(id);
    return {};
  }

  auto config = legacy_chardev(argument, "serial" + std::to_string(index));
  if (!config) return std::unexpected(std::move(config.error()));
  machine.serial_chardev_ids.push_back(config->id);
  machine.chardevs.push_back(std::move(*config));
  return {};
}

Result<ChardevConfig> legacy_chardev(std::string_view argument, std::string id) {
  ChardevConfig config;
  config.id = std::move(id);
  if (argument == "stdio") {
    config.kind = ChardevKind::kStdio;
  } else if (argument == "null") {
    config.kind = ChardevKind::kNull;
  } else if (argument.starts_with("file:")) {
    // As QEMU's legacy syntax: everything after "file:" is the path.
    config.kind = ChardevKind::kFile;
    config.path = argument.substr(5);
    if (config.path.empty()) return fail("file: no filename given");
  } else if (argument.starts_with("unix:") || argument.starts_with("tcp:")) {
    const bool is_unix = argument.starts_with("unix:");
    const std::string_view rest = argument.substr(is_unix ? 5 : 4);
    auto list = KeyValueList::parse(rest, "address", /*short_booleans=*/true);
    if (!list) return std::unexpected(std::move(list.error()));
    if (auto status = list->check_keys({"address", "server", "wait"}); !status) {
      return std::unexpected(std::move(status.error()));
    }
    const std::string address = list->get("address").value_or("");
    config.kind = ChardevKind::kSocket;
    if (is_unix) {
      if (address.empty()) return fail("unix: no path given");
      config.path = address;
    } else if (auto status = split_host_port(address, config); !status) {
      return std::unexpected(std::move(status.error()));
    }
    if (auto status = assign_bool(*list, "server", config.server); !status) {
      return std::unexpected(std::move(status.error()));
    }
    if (list->has("wait") && !config.server) {
      return fail("'wait' option is incompatible with client connect mode");
    }
    if (auto status = assign_bool(*list, "wait", config.wait); !status) {
      return std::unexpected(std::move(status.error()));
    }
  } else {
    return fail(quoted(argument) + " is not a valid char driver");
  }
  return config;
}

}  // namespace godwit
