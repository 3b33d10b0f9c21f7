// -drive, -blockdev and -device virtio-blk-device, into BlockConfig. The
// graph they describe is checked once all are read (plan_disks), since a
// -device may name a drive given after it.
#include <nlohmann/json.hpp>

#include "block/block_setup.hpp"
#include "base/key_value_list.hpp"
#include "cli/option_handlers.hpp"

namespace godwit {
namespace {

std::string single_quoted(std::string_view text) {
  std::string out(1, '\'');  // built by appending: GCC 12 warns falsely on "'" + string
  out += text;
  out += '\'';
  return out;
}

Status assign_bool(const KeyValueList& list, std::string_view key, bool& out) {
  auto value = list.get_bool(key);
  if (!value) return std::unexpected(std::move(value.error()));
  if (*value) out = **value;
  return {};
}

// cache= as QEMU's bdrv_parse_cache_mode, into the three flags.
Result<CacheOptions> parse_cache_mode(std::string_view mode) {
  if (mode == "writeback") return CacheOptions{};
  if (mode == "none" || mode == "off") return CacheOptions{.direct = true};
  if (mode == "writethrough") return CacheOptions{.write_cache = false};
  if (mode == "directsync") return CacheOptions{.direct = true, .write_cache = false};
  if (mode == "unsafe") return CacheOptions{.no_flush = true};
  return fail("invalid cache option");
}

Result<DiscardMode> parse_discard(std::string_view mode) {
  if (mode == "ignore" || mode == "off") return DiscardMode::kIgnore;
  if (mode == "unmap" || mode == "on") return DiscardMode::kUnmap;
  return fail("Invalid discard option");
}

Result<LockingMode> parse_locking(std::string_view mode) {
  if (mode == "auto") return LockingMode::kAuto;
  if (mode == "on") return LockingMode::kOn;
  if (mode == "off") return LockingMode::kOff;
  return fail("Parameter 'locking' does not accept value " + single_quoted(mode));
}

// Formats QEMU knows that godwit does not read: a clear refusal rather than
// "unknown driver" for an image the user reasonably has.
bool is_unsupported_format(std::string_view format) {
  for (std::string_view known :
       {"qcow2", "qcow", "qed", "vmdk", "vdi", "vhdx", "vpc", "luks", "parallels", "dmg", "bochs", "cloop"}) {
    if (format == known) return true;
  }
  return false;
}

Status check_format(std::string_view format) {
  if (format == "raw") return {};
  if (is_unsupported_format(format)) {
    return fail("format " + single_quoted(format) + " is not supported: godwit reads raw images only");
  }
  return fail("Unknown driver " + single_quoted(format));
}

// A JSON object as dotted keys: {"file": {"filename": "x"}} gives
// file.filename=x; booleans become on/off, as the keyval form spells them.
Status flatten(const nlohmann::json& object, const std::string& prefix, std::vector<KeyValueList::Entry>& out) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    const std::string key = prefix + it.key();
    const nlohmann::json& value = it.value();
    if (value.is_object()) {
      if (auto status = flatten(value, key + ".", out); !status) return status;
    } else if (value.is_string()) {
      out.push_back({key, value.get<std::string>()});
    } else if (value.is_boolean()) {
      out.push_back({key, value.get<bool>() ? "on" : "off"});
    } else if (value.is_number()) {
      out.push_back({key, value.dump()});
    } else {
      return fail("Invalid parameter type for " + single_quoted(key));
    }
  }
  return {};
}

std::string origin_of(std::string_view option, std::string_view argument) {
  std::string text(option);
  text += ' ';
  text += argument;
  return text;
}

// The keys of a driver=file node, under `prefix` ("" for -blockdev
// driver=file, "file." for one nested in a raw node).
Result<BlockNodeConfig> file_node(const KeyValueList& list, const std::string& prefix) {
  BlockNodeConfig node;
  node.driver = BlockNodeConfig::Driver::kFile;
  node.node_name = list.get(prefix + "node-name").value_or("");
  node.filename = list.get(prefix + "filename").value_or("");
  if (node.filename.empty()) return fail("Parameter '" + prefix + "filename' is missing");
  const std::pair<std::string_view, bool*> flags[] = {{"read-only", &node.read_only},
                                                      {"auto-read-only", &node.auto_read_only},
                                                      {"cache.direct", &node.direct},
                                                      {"cache.no-flush", &node.no_flush}};
  for (auto [key, out] : flags) {
    if (auto status = assign_bool(list, prefix + std::string(key), *out); !status) {
      return std::unexpected(std::move(status.error()));
    }
  }
  if (auto discard = list.get(prefix + "discard")) {
    auto mode = parse_discard(*discard);
    if (!mode) return std::unexpected(std::move(mode.error()));
    node.discard = *mode;
  }
  if (auto locking = list.get(prefix + "locking")) {
    auto mode = parse_locking(*locking);
    if (!mode) return std::unexpected(std::move(mode.error()));
    node.locking = *mode;
  }
  if (auto aio = list.get(prefix + "aio"); aio && *aio != "threads") {
    return fail("aio=" + *aio + " is not supported: godwit runs image I/O on threads (aio=threads)");
  }
  return node;
}

constexpr std::string_view kFileKeys[] = {"driver",         "node-name",    "filename",       "read-only",
                                          "auto-read-only", "cache.direct", "cache.no-flush", "discard",
                                          "locking",        "aio",          "detect-zeroes"};

Status check_keys_with_prefix(KeyValueList& list, const std::vector<std::string>& allowed) {
  std::vector<std::string_view> views(allowed.begin(), allowed.end());
  auto status = list.check_keys(views);
  if (!status) {
    // QEMU's -blockdev words: "Parameter 'bogus' is unexpected".
    const std::string& message = status.error().message();
    const std::string prefix = "invalid parameter ";
    if (message.starts_with(prefix)) return fail("Parameter " + message.substr(prefix.size()) + " is unexpected");
  }
  return status;
}

std::vector<std::string> prefixed(std::string_view prefix, std::span<const std::string_view> keys) {
  std::vector<std::string> out;
  for (std::string_view key : keys) out.push_back(std::string(prefix) + std::string(key));
  return out;
}

Status check_detect_zeroes(const KeyValueList& list, const std::string& prefix) {
  if (auto detect = list.get(prefix + "detect-zeroes"); detect && *detect != "off") {
    return fail("detect-zeroes=" + *detect + " is not supported");
  }
  return {};
}

}  // namespace

Result<KeyValueList> parse_options(std::string_view argument, std::string_view implied_key) {
  if (argument.empty() || argument.front() != '{') return KeyValueList::parse(argument, implied_key);
  const nlohmann::json object = nlohmann::json::parse(argument, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded() || !object.is_object()) return fail("invalid JSON object");
  std::vector<KeyValueList::Entry> entries;
  if (auto status = flatten(object, "", entries); !status) return std::unexpected(std::move(status.error()));
  return KeyValueList::from_entries(std::move(entries));
}

// -drive file=FILE[,format=raw][,if=none|virtio][,id=ID][,readonly=on|off]
//        [,cache=MODE][,discard=ignore|unmap][,file.locking=auto|on|off][,aio=threads]
// Adds a file node and a raw node over it, named after the drive, and for
// if=virtio (the default on virt, as QEMU's) a virtio-blk device on it.
Status handle_drive(ParseState& state, std::string_view argument) {
  auto list = KeyValueList::parse(argument, "file");
  if (!list) return std::unexpected(std::move(list.error()));
  if (auto status = list->check_keys(
          {"file", "format", "if", "id", "readonly", "cache", "discard", "file.locking", "aio", "media"});
      !status) {
    return status;
  }
  const std::string interface = list->get("if").value_or("virtio");
  if (interface != "virtio" && interface != "none") {
    return fail("machine type does not support if=" + interface + " (godwit has if=virtio and if=none)");
  }
  if (auto media = list->get("media"); media && *media != "disk") return fail("media=" + *media + " is not supported");
  DriveConfig drive;
  drive.origin = origin_of("-drive", argument);
  const unsigned index = interface == "virtio" ? state.virtio_drive_index++ : state.none_drive_index++;
  drive.id = list->get("id").value_or(interface + std::to_string(index));
  if (drive.id.empty()) return fail("Parameter 'id' expects an identifier");
  if (auto format = list->get("format")) {
    if (auto status = check_format(*format); !status) return status;
  } else {
    drive.format_probed = true;
  }

  BlockNodeConfig file;
  file.driver = BlockNodeConfig::Driver::kFile;
  file.node_name = "#" + drive.id + "-file";
  file.filename = list->get("file").value_or("");
  if (file.filename.empty()) return fail("godwit has no empty drives: give file=");
  file.origin = drive.origin;
  if (auto status = assign_bool(*list, "readonly", file.read_only); !status) return status;
  if (auto cache = list->get("cache")) {
    auto mode = parse_cache_mode(*cache);
    if (!mode) return std::unexpected(std::move(mode.error()));
    file.direct = mode->direct;
    file.no_flush = mode->no_flush;
    drive.write_cache = mode->write_cache;
  }
  if (auto discard = list->get("discard")) {
    auto mode = parse_discard(*discard);
    if (!mode) return std::unexpected(std::move(mode.error()));
    file.discard = *mode;
  }
  if (auto locking = list->get("file.locking")) {
    auto mode = parse_locking(*locking);
    if (!mode) return std::unexpected(std::move(mode.error()));
    file.locking = *mode;
  }
  if (auto aio = list->get("aio"); aio && *aio != "threads") {
    return fail("aio=" + *aio + " is not supported: godwit runs image I/O on threads (aio=threads)");
  }

  BlockNodeConfig raw;
  raw.driver = BlockNodeConfig::Driver::kRaw;
  raw.node_name = "#" + drive.id + "-raw";
  raw.file_node = file.node_name;
  raw.read_only = file.read_only;
  raw.origin = drive.origin;
  drive.node_name = raw.node_name;

  BlockConfig& block = state.config().block;
  if (interface == "virtio") block.devices.push_back({.drive = drive.id, .origin = drive.origin});
  block.nodes.push_back(std::move(file));
  block.nodes.push_back(std::move(raw));
  block.drives.push_back(std::move(drive));
  return {};
}

// -blockdev driver=file,node-name=N,filename=FILE[,read-only=on][,auto-read-only=on]
//           [,cache.direct=on][,cache.no-flush=on][,discard=unmap][,locking=off]
// -blockdev driver=raw,node-name=N,file=NODE[,read-only=on]
//   (or file.driver=file,file.filename=... nested, or QEMU's JSON form)
Status handle_blockdev(ParseState& state, std::string_view argument) {
  auto list = parse_options(argument, "driver");
  if (!list) return std::unexpected(std::move(list.error()));
  const std::string origin = origin_of("-blockdev", argument);
  const std::string driver = list->get("driver").value_or("");
  const std::string node_name = list->get("node-name").value_or("");
  if (driver.empty()) return fail("Parameter 'driver' is missing");
  BlockConfig& block = state.config().block;

  if (driver == "file") {
    if (auto status = check_keys_with_prefix(*list, prefixed("", kFileKeys)); !status) return status;
    if (auto status = check_detect_zeroes(*list, ""); !status) return status;
    auto node = file_node(*list, "");
    if (!node) return std::unexpected(std::move(node.error()));
    if (node->node_name.empty()) return fail("'node-name' must be specified for the root node");
    node->origin = origin;
    block.nodes.push_back(std::move(*node));
    return {};
  }
  if (driver == "raw") {
    std::vector<std::string> allowed = {"driver",       "node-name",      "file",          "read-only",     "discard",
                                        "cache.direct", "cache.no-flush", "detect-zeroes", "auto-read-only"};
    for (const std::string& key : prefixed("file.", kFileKeys)) allowed.push_back(key);
    if (auto status = check_keys_with_prefix(*list, allowed); !status) return status;
    if (auto status = check_detect_zeroes(*list, ""); !status) return status;
    if (node_name.empty()) return fail("'node-name' must be specified for the root node");
    BlockNodeConfig raw;
    raw.driver = BlockNodeConfig::Driver::kRaw;
    raw.node_name = node_name;
    raw.origin = origin;
    if (auto status = assign_bool(*list, "read-only", raw.read_only); !status) return status;
    if (list->has("file.driver")) {
      // A file node given inline: it gets a name of its own.
      if (list->get("file.driver") != "file") {
        return fail("Parameter 'file.driver' does not accept value " + single_quoted(*list->get("file.driver")) +
                    " (file)");
      }
      if (auto status = check_detect_zeroes(*list, "file."); !status) return status;
      auto file = file_node(*list, "file.");
      if (!file) return std::unexpected(std::move(file.error()));
      if (file->node_name.empty()) file->node_name = "#" + node_name + "-file";
      // QEMU passes the format node's read-only down to an inline child.
      file->read_only = file->read_only || raw.read_only;
      file->origin = origin;
      raw.file_node = file->node_name;
      block.nodes.push_back(std::move(*file));
    } else {
      raw.file_node = list->get("file").value_or("");
      if (raw.file_node.empty()) return fail("Parameter 'file' is missing");
    }
    block.nodes.push_back(std::move(raw));
    return {};
  }
  if (is_unsupported_format(driver)) return check_format(driver);
  return fail("Parameter 'driver' does not accept value " + single_quoted(driver));
}

// -device virtio-blk-device,drive=NAME[,serial=S][,share-rw=on|off][,id=ID]
// (the keys were checked by the caller).
Result<BlockDeviceConfig> virtio_blk_device(const KeyValueList& list, std::string_view argument) {
  BlockDeviceConfig device;
  device.origin = origin_of("-device", argument);
  device.drive = list.get("drive").value_or("");
  if (device.drive.empty()) return fail("drive property not set");
  device.serial = list.get("serial").value_or("");
  if (auto status = assign_bool(list, "share-rw", device.share_rw); !status) return std::unexpected(status.error());
  return device;
}

Status check_block_devices(ParseState& state) {
  MachineConfig& config = state.config();
  auto plan = plan_disks(config.block);
  if (!plan) return std::unexpected(std::move(plan.error()));
  // The devices of -drive if=virtio: QEMU creates them once the command
  // line is read, so they follow every -device in transport order.
  std::vector<bool> placed(config.block.devices.size(), false);
  for (const DeviceConfig& device : config.devices) {
    if (device.block_device >= 0) placed[static_cast<size_t>(device.block_device)] = true;
  }
  for (size_t i = 0; i < placed.size(); ++i) {
    if (placed[i]) continue;
    config.devices.push_back({.driver = "virtio-blk-device",
                              .argument = "virtio-blk-device,drive=" + config.block.devices[i].drive,
                              .block_device = static_cast<int>(i)});
  }
  return {};
}

}  // namespace godwit
