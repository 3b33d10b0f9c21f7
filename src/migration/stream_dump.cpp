#include "migration/stream_dump.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

#include "base/hex.hpp"
#include "migration/byte_channel.hpp"
#include "migration/ram_section.hpp"
#include "migration/savevm_format.hpp"
#include "migration/stream_reader.hpp"

namespace godwit {
namespace {

// vmdesc sits after EOF; its length prefix must reach exactly the end.
nlohmann::json find_description(std::span<const uint8_t> bytes) {
  for (size_t pos = bytes.size() >= 5 ? bytes.size() - 5 : 0; pos-- > 0;) {
    if (bytes[pos] != savevm::kVmDescription) continue;
    const uint32_t length = uint32_t{bytes[pos + 1]} << 24 | uint32_t{bytes[pos + 2]} << 16 |
                            uint32_t{bytes[pos + 3]} << 8 | bytes[pos + 4];
    if (pos + 5 + uint64_t{length} != bytes.size()) continue;
    auto json = nlohmann::json::parse(bytes.begin() + static_cast<long>(pos) + 5, bytes.end(), nullptr, false);
    if (!json.is_discarded() && json.is_object()) return json;
  }
  return nullptr;
}

// Reads one described field (or array of them) from the body.
nlohmann::json decode_value(StreamReader& in, const nlohmann::json& field);

nlohmann::json decode_fields(StreamReader& in, const nlohmann::json& desc) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& field : desc.value("fields", nlohmann::json::array())) {
    out[field.value("name", "?")] = decode_value(in, field);
  }
  for (const auto& sub : desc.value("subsections", nlohmann::json::array())) {
    const std::string name = sub.value("vmsd_name", "");
    const auto head = in.peek(2 + name.size());
    if (head.size() < 2 + name.size() || head[0] != savevm::kSubsection || head[1] != name.size()) continue;
    in.get_u8();
    in.get_short_string();
    in.get_be32();
    out[name] = decode_fields(in, sub);
  }
  return out;
}

nlohmann::json decode_scalar(StreamReader& in, const std::string& type, uint64_t size) {
  if (type == "buffer" || type == "unused_buffer") {
    std::vector<uint8_t> bytes(size);
    in.get_buffer(bytes);
    std::string text;
    for (uint8_t b : bytes) {
      char pair[3];
      std::snprintf(pair, sizeof pair, "%02x", b);
      text += pair;
    }
    return text;
  }
  uint64_t raw = 0;
  for (uint64_t i = 0; i < size && i < 8; ++i) raw = raw << 8 | in.get_u8();
  if (type == "bool") return raw != 0;
  if (type.rfind("int", 0) == 0 && size > 0 && size < 8) {
    const uint64_t sign = uint64_t{1} << (size * 8 - 1);
    return static_cast<int64_t>((raw ^ sign) - sign);
  }
  if (type.rfind("int", 0) == 0) return static_cast<int64_t>(raw);
  return raw;
}

nlohmann::json decode_value(StreamReader& in, const nlohmann::json& field) {
  const std::string type = field.value("type", "");
  const uint64_t size = field.value("size", uint64_t{0});
  const bool is_array = field.contains("array_len");
  const uint64_t count = is_array ? field["array_len"].get<uint64_t>() : 1;
  nlohmann::json values = nlohmann::json::array();
  for (uint64_t i = 0; i < count && !in.failed(); ++i) {
    if (type == "struct") {
      values.push_back(decode_fields(in, field.value("struct", nlohmann::json::object())));
    } else {
      values.push_back(decode_scalar(in, type, size));
    }
  }
  return is_array ? values : (values.empty() ? nlohmann::json() : values[0]);
}

// Walks one RAM chunk up to its EOS, counting into `ram` (ignore_shared:
// the stream was written with x-ignore-shared).
Status walk_ram_chunk(StreamReader& in, nlohmann::json& ram, bool ignore_shared) {
  std::string block;
  for (;;) {
    const uint64_t record = in.get_be64();
    if (in.failed()) return in.status();
    const uint64_t flags = record & kRamFlagsMask;
    const uint64_t value = record & ~kRamFlagsMask;
    if (flags & ram_flag::kEos) return {};
    if (flags & ram_flag::kMemSize) {
      uint64_t remaining = value;
      while (remaining > 0 && !in.failed()) {
        const std::string id = in.get_short_string();
        const uint64_t length = in.get_be64();
        if (ignore_shared) in.get_be64();  // the block's guest address
        ram["blocks"][id] = {{"length", length}, {"pages", 0}, {"zero_pages", 0}};
        if (length > remaining) return fail("ram: block '" + id + "' is longer than the total size announced");
        remaining -= length;
      }
      continue;
    }
    if (!(flags & ram_flag::kContinue)) block = in.get_short_string();
    if (block.empty()) return fail("ram: page record without a block at stream byte " + std::to_string(in.offset()));
    auto& counts = ram["blocks"][block];
    if (flags & ram_flag::kZero) {
      in.get_u8();
      counts["zero_pages"] = counts.value("zero_pages", 0) + 1;
    } else if (flags & ram_flag::kPage) {
      std::vector<uint8_t> page(kRamPageSize);
      in.get_buffer(page);
      counts["pages"] = counts.value("pages", 0) + 1;
    } else {
      return fail("ram: unknown record flags " + hex(flags) + " at stream byte " + std::to_string(in.offset() - 8));
    }
  }
}

}  // namespace

Result<nlohmann::json> dump_stream(std::span<const uint8_t> bytes) {
  const nlohmann::json description = find_description(bytes);
  std::map<std::pair<std::string, uint32_t>, nlohmann::json> described;
  if (description.is_object()) {
    for (const auto& device : description.value("devices", nlohmann::json::array())) {
      described[{device.value("name", ""), device.value("instance_id", 0u)}] = device;
    }
  }

  MemorySource source(bytes);
  StreamReader in(source);
  nlohmann::json dump = {{"size", bytes.size()}, {"has_description", description.is_object()}};
  savevm::Reader reader(in);
  auto configuration = reader.read_configuration();
  if (!configuration) return std::unexpected(std::move(configuration.error()));
  dump["version"] = configuration->version;
  dump["machine"] = configuration->machine_type;
  dump["capabilities"] = configuration->capabilities;
  // x-ignore-shared puts each RAM block's address after its length.
  const bool ignore_shared = std::ranges::find(configuration->capabilities, "x-ignore-shared") !=
                             configuration->capabilities.end();

  nlohmann::json sections = nlohmann::json::array();
  std::map<uint32_t, std::string> names;  // section id -> idstr, for PART/END
  nlohmann::json ram = {{"blocks", nlohmann::json::object()}};
  for (;;) {
    const uint64_t start = in.offset();
    auto header = reader.read_section_header();
    if (!header) return std::unexpected(std::move(header.error()).context("at stream byte " + std::to_string(start)));
    if (header->type == savevm::kEof) break;
    if (!header->idstr.empty()) names[header->section_id] = header->idstr;
    const std::string name = names.count(header->section_id) ? names[header->section_id] : "?";
    nlohmann::json entry = {{"type", savevm::section_type_name(header->type)},
                            {"id", header->section_id},
                            {"name", name},
                            {"offset", start}};
    if (!header->idstr.empty()) {
      entry["instance"] = header->instance_id;
      entry["version"] = header->version_id;
    }
    if (name == kRamSectionName) {
      if (auto s = walk_ram_chunk(in, ram, ignore_shared); !s) return std::unexpected(std::move(s.error()));
    } else if (header->type == savevm::kSectionFull) {
      auto it = described.find({name, header->instance_id});
      if (it == described.end()) {
        return fail("section '" + name + "' instance " + std::to_string(header->instance_id) +
                    " at stream byte " + std::to_string(start) + " cannot be walked without the stream's description");
      }
      entry["vmsd_name"] = it->second.value("vmsd_name", "");
      entry["fields"] = decode_fields(in, it->second);
    } else {
      return fail("section '" + name + "' is iterative but not RAM: cannot walk it");
    }
    if (auto s = reader.read_footer(*header); !s) return std::unexpected(std::move(s.error()));
    entry["size"] = in.offset() - start;
    sections.push_back(std::move(entry));
  }
  dump["sections"] = std::move(sections);
  dump["ram"] = std::move(ram);
  return dump;
}

std::string format_stream_dump(const nlohmann::json& dump, bool with_fields) {
  std::string out = "migration stream: " + std::to_string(dump.value("size", 0)) + " bytes, version " +
                    std::to_string(dump.value("version", 0)) + ", machine " + dump.value("machine", "?") +
                    (dump.value("has_description", false) ? ", with description" : ", no description") + "\n";
  for (const auto& section : dump["sections"]) {
    char line[256];
    std::snprintf(line, sizeof line, "  %-5s id %-3u %-20s", section.value("type", "").c_str(),
                  section.value("id", 0u), section.value("name", "").c_str());
    out += line;
    if (section.contains("instance")) {
      out += " instance " + std::to_string(section["instance"].get<uint32_t>()) + " version " +
             std::to_string(section["version"].get<uint32_t>());
    }
    out += "  at " + std::to_string(section.value("offset", 0)) + ", " + std::to_string(section.value("size", 0)) +
           " bytes\n";
    if (with_fields && section.contains("fields")) {
      for (const auto& [key, value] : section["fields"].items()) out += "      " + key + " = " + value.dump() + "\n";
    }
  }
  for (const auto& [block, counts] : dump["ram"]["blocks"].items()) {
    out += "  ram block " + block + ": " + std::to_string(counts.value("length", 0)) + " bytes, " +
           std::to_string(counts.value("pages", 0)) + " pages sent, " + std::to_string(counts.value("zero_pages", 0)) +
           " zero pages\n";
  }
  return out;
}

}  // namespace godwit
