#include "migration/migration_uri.hpp"

#include <set>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/size_parse.hpp"

namespace godwit {
namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string in_quotes(const std::string& text) { return "'" + text + "'"; }

// godwit accepts numeric ports only (QEMU also takes service names).
Result<uint16_t> parse_migration_port(const std::string& port, const std::string& where,
                            MigrationDirection direction) {
  const auto value = parse_port(port);
  if (!value) {
    return fail("invalid port " + in_quotes(port) + " in address " + in_quotes(where) +
                ": expected a number from " +
                (direction == MigrationDirection::incoming ? "0" : "1") + " to 65535");
  }
  if (*value == 0 && direction == MigrationDirection::outgoing) {
    return fail("port 0 in address " + in_quotes(where) +
                " is only valid for an incoming migration");
  }
  return *value;
}

// util/qemu-sockets.c inet_parse: ":PORT", "[V6]:PORT" or "HOST:PORT",
// then ",option" flags, which godwit does not take.
Result<InetAddress> parse_inet(const std::string& text, MigrationDirection direction) {
  auto parts = split_host_port(text);
  if (!parts) {
    switch (parts.error()) {
      case HostPortError::port: return fail("error parsing port in address " + in_quotes(text));
      case HostPortError::ipv6_address:
        return fail("error parsing IPv6 address " + in_quotes(text));
      case HostPortError::address: break;
    }
    return fail("error parsing address " + in_quotes(text));
  }
  if (!parts->options.empty()) {
    return fail("socket address options are not supported: " + in_quotes(parts->options));
  }
  auto number = parse_migration_port(parts->port, text, direction);
  if (!number) return std::unexpected(number.error());
  return InetAddress{parts->host, *number};
}

// ---- channels: QAPI input visitor wording ----------------------------------

template <class Json>
class ChannelVisitor {
 public:
  explicit ChannelVisitor(MigrationDirection direction) : direction_(direction) {}

  // QERR_MISSING_PARAMETER and QERR_INVALID_PARAMETER_TYPE.
  static std::unexpected<Error> missing(const std::string& name) {
    return fail("Parameter " + in_quotes(name) + " is missing");
  }
  static std::unexpected<Error> wrong_type(const std::string& name, const char* expected) {
    return fail("Invalid parameter type for " + in_quotes(name) + ", expected: " + expected);
  }

  // A struct being visited: its path and the members read so far, so that
  // what is left over can be reported as QEMU's check_struct does.
  struct Struct {
    const Json& object;
    std::string path;
    std::set<std::string> visited;

    std::string name(const std::string& member) const { return path + "." + member; }
    const Json* find(const std::string& member) {
      auto it = object.find(member);
      if (it == object.end()) return nullptr;
      visited.insert(member);
      return &*it;
    }
    Result<std::string> string(const std::string& member) {
      const Json* value = find(member);
      if (!value) return missing(name(member));
      if (!value->is_string()) return wrong_type(name(member), "string");
      return value->template get<std::string>();
    }
    // input_type_enum names the bare member, not its full path.
    Result<std::string> enumeration(const std::string& member,
                                    std::initializer_list<const char*> values) {
      auto text = string(member);
      if (!text) return text;
      for (const char* v : values) {
        if (*text == v) return text;
      }
      return fail("Parameter " + in_quotes(member) + " does not accept value " + in_quotes(*text));
    }
    Status finish() const {
      for (auto it = object.begin(); it != object.end(); ++it) {
        if (!visited.contains(it.key())) {
          return fail("Parameter " + in_quotes(name(it.key())) + " is unexpected");
        }
      }
      return {};
    }
    // Members QEMU knows that godwit does not implement.
    Status refuse(std::initializer_list<const char*> members) {
      for (const char* member : members) {
        if (object.contains(member)) {
          return fail("Parameter " + in_quotes(name(member)) + " is not supported by godwit");
        }
      }
      return {};
    }
  };

  Result<std::pair<std::string, MigrationAddress>> channel(const Json& value,
                                                           const std::string& path) {
    if (!value.is_object()) return wrong_type(path, "object");
    Struct s{value, path, {}};
    auto type = s.enumeration("channel-type", {"main", "cpr"});
    if (!type) return std::unexpected(type.error());
    const Json* addr = s.find("addr");
    if (!addr) return missing(s.name("addr"));
    auto address = address_of(*addr, s.name("addr"));
    if (!address) return std::unexpected(address.error());
    if (auto done = s.finish(); !done) return std::unexpected(done.error());
    return std::pair{*type, *address};
  }

  Result<MigrationAddress> address_of(const Json& value, const std::string& path) {
    if (!value.is_object()) return wrong_type(path, "object");
    Struct s{value, path, {}};
    auto transport = s.enumeration("transport", {"socket", "exec", "rdma", "file"});
    if (!transport) return std::unexpected(transport.error());
    Result<MigrationAddress> result = fail("");
    if (*transport == "socket") {
      result = socket(s);
    } else if (*transport == "exec") {
      result = exec(s);
    } else if (*transport == "file") {
      result = file(s);
    } else {
      return fail("migration transport 'rdma' is not supported by godwit");
    }
    if (!result) return result;
    if (auto done = s.finish(); !done) return std::unexpected(done.error());
    return result;
  }

  Result<MigrationAddress> socket(Struct& s) {
    auto type = s.enumeration("type", {"inet", "unix", "vsock", "fd"});
    if (!type) return std::unexpected(type.error());
    if (*type == "inet") {
      auto host = s.string("host");
      if (!host) return std::unexpected(host.error());
      auto port = s.string("port");
      if (!port) return std::unexpected(port.error());
      if (auto r = s.refuse({"numeric", "to", "ipv4", "ipv6", "keep-alive", "keep-alive-count",
                             "keep-alive-idle", "keep-alive-interval", "mptcp"});
          !r) {
        return std::unexpected(r.error());
      }
      auto number = parse_migration_port(*port, *host + ":" + *port, direction_);
      if (!number) return std::unexpected(number.error());
      return InetAddress{*host, *number};
    }
    if (*type == "unix") {
      auto path = s.string("path");
      if (!path) return std::unexpected(path.error());
      if (auto r = s.refuse({"abstract", "tight"}); !r) return std::unexpected(r.error());
      return UnixAddress{*path};
    }
    if (*type == "fd") {
      auto name = s.string("str");
      if (!name) return std::unexpected(name.error());
      return FdAddress{*name};
    }
    return fail("socket address type 'vsock' is not supported by godwit");
  }

  Result<MigrationAddress> exec(Struct& s) {
    const Json* args = s.find("args");
    if (!args) return missing(s.name("args"));
    if (!args->is_array()) return wrong_type(s.name("args"), "array");
    ExecAddress exec;
    for (size_t i = 0; i < args->size(); ++i) {
      const Json& arg = (*args)[i];
      if (!arg.is_string()) {
        return wrong_type(s.name("args") + "[" + std::to_string(i) + "]", "string");
      }
      exec.args.push_back(arg.template get<std::string>());
    }
    if (exec.args.empty()) return fail("Parameter " + in_quotes(s.name("args")) + " is empty");
    return exec;
  }

  Result<MigrationAddress> file(Struct& s) {
    auto filename = s.string("filename");
    if (!filename) return std::unexpected(filename.error());
    const Json* offset = s.find("offset");
    if (!offset) return missing(s.name("offset"));
    // QERR_INVALID_PARAMETER_VALUE; negative numbers wrap, as QEMU keeps
    // accepting them for compatibility.
    if (offset->is_number_unsigned()) {
      return FileAddress{*filename, offset->template get<uint64_t>()};
    }
    if (offset->is_number_integer()) {
      return FileAddress{*filename, static_cast<uint64_t>(offset->template get<int64_t>())};
    }
    return fail("Parameter " + in_quotes(s.name("offset")) + " expects uint64");
  }

 private:
  MigrationDirection direction_;
};

using ChannelEntries = std::vector<std::pair<std::string, MigrationAddress>>;

// The QAPI visitor's part: reads the whole list, checking each member.
template <class Json>
Result<ChannelEntries> visit_channels(const Json& channels, MigrationDirection direction) {
  ChannelVisitor<Json> visitor(direction);
  ChannelEntries entries;
  for (size_t i = 0; i < channels.size(); ++i) {
    auto entry = visitor.channel(channels[i], "channels[" + std::to_string(i) + "]");
    if (!entry) return std::unexpected(entry.error());
    entries.push_back(std::move(*entry));
  }
  return entries;
}

// qmp_migrate's and qemu_start_incoming_migration's part.
Result<MigrationTarget> pick_channels(ChannelEntries entries, MigrationDirection direction) {
  if (direction == MigrationDirection::incoming && entries.size() > 1) {
    return fail("Channel list must have only one entry, for type 'main'");
  }
  std::optional<MigrationAddress> main;
  std::optional<MigrationAddress> cpr;
  for (auto& [type, address] : entries) {
    auto& slot = type == "main" ? main : cpr;
    if (slot) return fail("Channel list has more than one " + type + " entry");
    slot = std::move(address);
  }
  if (!main) return fail("Channel list has no main entry");
  return MigrationTarget{std::move(*main), std::move(cpr)};
}

template <class Json>
Result<MigrationTarget> channels_impl(const Json& channels, MigrationDirection direction) {
  if (!channels.is_array()) return ChannelVisitor<Json>::wrong_type("channels", "array");
  auto entries = visit_channels(channels, direction);
  if (!entries) return std::unexpected(entries.error());
  return pick_channels(std::move(*entries), direction);
}

template <class Json>
Result<MigrationTarget> arguments_impl(const Json& arguments, MigrationDirection direction) {
  if (!arguments.is_object()) return ChannelVisitor<Json>::wrong_type("<anonymous>", "object");
  std::optional<std::string> uri;
  std::optional<ChannelEntries> entries;
  if (auto it = arguments.find("uri"); it != arguments.end()) {
    if (!it->is_string()) return ChannelVisitor<Json>::wrong_type("uri", "string");
    uri = it->template get<std::string>();
  }
  if (auto it = arguments.find("channels"); it != arguments.end()) {
    if (!it->is_array()) return ChannelVisitor<Json>::wrong_type("channels", "array");
    auto visited = visit_channels(*it, direction);
    if (!visited) return std::unexpected(visited.error());
    // An empty list reaches qmp_migrate as NULL, the same as none.
    if (!visited->empty()) entries = std::move(*visited);
  }
  if (uri.has_value() == entries.has_value()) {
    return fail("need either 'uri' or 'channels' argument");
  }
  if (entries) return pick_channels(std::move(*entries), direction);
  auto address = parse_migration_uri(*uri, direction);
  if (!address) return std::unexpected(address.error());
  return MigrationTarget{std::move(*address), std::nullopt};
}

}  // namespace

std::string to_string(const MigrationAddress& address) {
  struct Printer {
    std::string operator()(const InetAddress& a) const {
      const bool v6 = a.host.find(':') != std::string::npos;
      return "tcp:" + (v6 ? "[" + a.host + "]" : a.host) + ":" + std::to_string(a.port);
    }
    std::string operator()(const UnixAddress& a) const { return "unix:" + a.path; }
    std::string operator()(const FdAddress& a) const { return "fd:" + a.name; }
    std::string operator()(const ExecAddress& a) const {
      if (a.args.size() == 3 && a.args[0] == "/bin/sh" && a.args[1] == "-c") {
        return "exec:" + a.args[2];
      }
      std::string text = "exec:";
      for (size_t i = 0; i < a.args.size(); ++i) text += (i ? " " : "") + a.args[i];
      return text;
    }
    std::string operator()(const FileAddress& a) const {
      return "file:" + a.filename + (a.offset ? ",offset=" + std::to_string(a.offset) : "");
    }
  };
  return std::visit(Printer{}, address);
}

Result<uint64_t> parse_file_offset(const std::string& text) {
  auto offset = parse_size(text, kFileOffsetSize);
  if (!offset) return fail("file URI has bad offset " + text + ": " + offset.error().message());
  return *offset;
}

Result<MigrationAddress> parse_migration_uri(const std::string& uri,
                                             MigrationDirection direction) {
  if (starts_with(uri, "exec:")) {
    return ExecAddress{{"/bin/sh", "-c", uri.substr(5)}};
  }
  if (starts_with(uri, "tcp:")) {
    auto inet = parse_inet(uri.substr(4), direction);
    if (!inet) return std::unexpected(inet.error());
    return *inet;
  }
  if (starts_with(uri, "unix:")) {
    if (uri.size() == 5) return fail("invalid Unix socket address");
    return UnixAddress{uri.substr(5)};
  }
  if (starts_with(uri, "fd:")) {
    if (uri.size() == 3) return fail("invalid file descriptor address");
    return FdAddress{uri.substr(3)};
  }
  if (starts_with(uri, "file:")) {
    // file_parse_offset cuts at the first ",offset=".
    std::string filename = uri.substr(5);
    uint64_t offset = 0;
    if (const size_t at = filename.find(",offset="); at != std::string::npos) {
      auto parsed = parse_file_offset(filename.substr(at + 8));
      if (!parsed) return std::unexpected(parsed.error());
      offset = *parsed;
      filename.resize(at);
    }
    return FileAddress{filename, offset};
  }
  if (starts_with(uri, "rdma:") || starts_with(uri, "vsock:")) {
    return fail("migration transport '" + uri.substr(0, uri.find(':')) +
                "' is not supported by godwit");
  }
  return fail("unknown migration protocol: " + uri);
}

Result<MigrationTarget> parse_migration_channels(const nlohmann::json& channels,
                                                 MigrationDirection direction) {
  return channels_impl(channels, direction);
}
Result<MigrationTarget> parse_migration_channels(const nlohmann::ordered_json& channels,
                                                 MigrationDirection direction) {
  return channels_impl(channels, direction);
}
Result<MigrationTarget> parse_migrate_arguments(const nlohmann::json& arguments,
                                                MigrationDirection direction) {
  return arguments_impl(arguments, direction);
}
Result<MigrationTarget> parse_migrate_arguments(const nlohmann::ordered_json& arguments,
                                                MigrationDirection direction) {
  return arguments_impl(arguments, direction);
}

Result<IncomingChannelSpec> parse_incoming_channel_json(std::string_view text) {
  nlohmann::ordered_json channel = nlohmann::ordered_json::parse(text, nullptr, false);
  if (channel.is_discarded() || !channel.is_object()) return fail("-incoming: not a JSON object: " + std::string(text));
  const bool cpr = channel.contains("channel-type") && channel["channel-type"] == "cpr";
  // The address is checked as a main channel's (an incoming list has one).
  if (cpr) channel["channel-type"] = "main";
  auto target = parse_migration_channels(nlohmann::ordered_json::array({channel}), MigrationDirection::incoming);
  if (!target) return std::unexpected(std::move(target.error()).context("-incoming"));
  return IncomingChannelSpec{cpr, std::move(target->main)};
}

Result<MigrationAddress> parse_incoming_main(std::string_view text) {
  if (!text.empty() && text.front() == '{') {
    auto channel = parse_incoming_channel_json(text);
    if (!channel) return std::unexpected(channel.error());
    return std::move(channel->address);
  }
  return parse_migration_uri(std::string(text), MigrationDirection::incoming);
}

}  // namespace godwit
