#include "migration/savevm_format.hpp"

#include <algorithm>
#include <cstdio>

#include "base/hex.hpp"

namespace godwit::savevm {
namespace {

// QEMU bounds the description it will read; a lying length cannot make us
// allocate more than this.
constexpr uint32_t kMaxDescriptionBytes = 64u << 20;
constexpr uint32_t kMaxMachineTypeBytes = 256;

}  // namespace

std::string_view section_type_name(uint8_t type) {
  switch (type) {
    case kEof: return "EOF";
    case kSectionStart: return "START";
    case kSectionPart: return "PART";
    case kSectionEnd: return "END";
    case kSectionFull: return "FULL";
    case kSubsection: return "SUBSECTION";
    case kVmDescription: return "VMDESCRIPTION";
    case kConfiguration: return "CONFIGURATION";
    case kCommand: return "COMMAND";
    case kSectionFooter: return "FOOTER";
    default: return "unknown";
  }
}

void Writer::write_header(std::string_view machine_type, const std::vector<std::string>& capabilities) {
  out_.put_be32(kMagic);
  out_.put_be32(kVersion);
  out_.put_u8(kConfiguration);
  // The "configuration" VMState: be32 length then the machine type name.
  out_.put_be32(static_cast<uint32_t>(machine_type.size()));
  out_.put_buffer({reinterpret_cast<const uint8_t*>(machine_type.data()), machine_type.size()});
  if (capabilities.empty()) return;
  out_.put_u8(kSubsection);
  out_.put_short_string(kCapabilitiesSubsection);
  out_.put_be32(1);  // its version
  out_.put_be32(static_cast<uint32_t>(capabilities.size()));
  for (const std::string& name : capabilities) out_.put_short_string(name);
}

void Writer::begin_section(const SectionHeader& header) {
  out_.put_u8(header.type);
  out_.put_be32(header.section_id);
  if (header.type == kSectionStart || header.type == kSectionFull) {
    out_.put_short_string(header.idstr);
    out_.put_be32(header.instance_id);
    out_.put_be32(header.version_id);
  }
}

void Writer::end_section(uint32_t section_id) {
  out_.put_u8(kSectionFooter);
  out_.put_be32(section_id);
}

void Writer::write_eof() { out_.put_u8(kEof); }

void Writer::write_eof(const nlohmann::json& description) {
  out_.put_u8(kEof);
  const std::string text = description.dump();
  out_.put_u8(kVmDescription);
  out_.put_be32(static_cast<uint32_t>(text.size()));
  out_.put_buffer({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

Result<Reader::Configuration> Reader::read_configuration() {
  Configuration configuration;
  const uint32_t magic = in_.get_be32();
  if (auto s = in_.status(); !s) return std::unexpected(std::move(s.error()).context("stream header"));
  if (magic != kMagic) return fail("not a migration stream (bad magic " + hex(magic) + ")");
  const uint32_t version = in_.get_be32();
  if (auto s = in_.status(); !s) return std::unexpected(std::move(s.error()).context("stream header"));
  if (version != kVersion) return fail("unsupported migration stream version " + std::to_string(version));
  configuration.version = version;
  const uint8_t type = in_.get_u8();
  if (auto s = in_.status(); !s) return std::unexpected(std::move(s.error()).context("stream header"));
  if (type != kConfiguration) {
    return fail("expected the configuration section, found section type " + hex(type) + " (" +
                std::string(section_type_name(type)) + ")");
  }
  const uint32_t length = in_.get_be32();
  if (length > kMaxMachineTypeBytes) return fail("configuration: machine type length " + std::to_string(length) + " is too long");
  std::string name(length, '\0');
  in_.get_buffer({reinterpret_cast<uint8_t*>(name.data()), name.size()});
  if (auto s = in_.status(); !s) return std::unexpected(std::move(s.error()).context("configuration"));
  configuration.machine_type = std::move(name);
  const auto next = in_.peek(2 + kCapabilitiesSubsection.size());
  if (next.size() == 2 + kCapabilitiesSubsection.size() && next[0] == kSubsection &&
      next[1] == kCapabilitiesSubsection.size() &&
      std::equal(kCapabilitiesSubsection.begin(), kCapabilitiesSubsection.end(), next.begin() + 2)) {
    in_.get_u8();
    in_.get_short_string();
    const uint32_t subsection_version = in_.get_be32();
    const uint32_t count = in_.get_be32();
    if (auto s = in_.status(); !s) return std::unexpected(std::move(s.error()).context("configuration/capabilities"));
    if (subsection_version != 1) {
      return fail("configuration/capabilities: unsupported version " + std::to_string(subsection_version));
    }
    if (count > 64) return fail("configuration/capabilities: " + std::to_string(count) + " capabilities is too many");
    for (uint32_t i = 0; i < count; ++i) configuration.capabilities.push_back(in_.get_short_string());
    if (auto s = in_.status(); !s) return std::unexpected(std::move(s.error()).context("configuration/capabilities"));
  }
  return configuration;
}

Status Reader::read_header(std::string_view machine_type, const std::vector<std::string>& capabilities) {
  auto configuration = read_configuration();
  if (!configuration) return std::unexpected(std::move(configuration.error()));
  if (configuration->machine_type != machine_type) {
    return fail("configuration: machine type mismatch: the stream is from '" + configuration->machine_type +
                "', this machine is '" + std::string(machine_type) + "'");
  }
  // QEMU's configuration checks, in its words.
  const auto has = [](const std::vector<std::string>& list, const std::string& name) {
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  for (const std::string& name : configuration->capabilities) {
    if (name != "x-ignore-shared") return fail("configuration: Received unknown capability " + name);
    if (!has(capabilities, name)) {
      return fail("configuration: Capability " + name + " is off, but received capability is on");
    }
  }
  for (const std::string& name : capabilities) {
    if (!has(configuration->capabilities, name)) {
      return fail("configuration: Capability " + name + " is on, but received capability is off");
    }
  }
  return {};
}

Result<SectionHeader> Reader::read_section_header() {
  SectionHeader header;
  const uint8_t type = in_.get_u8();
  if (auto s = in_.status(); !s) return std::unexpected(std::move(s.error()).context("reading a section header"));
  header.type = static_cast<SectionType>(type);
  switch (type) {
    case kEof:
      return header;
    case kSectionStart:
    case kSectionFull:
      header.section_id = in_.get_be32();
      header.idstr = in_.get_short_string();
      header.instance_id = in_.get_be32();
      header.version_id = in_.get_be32();
      break;
    case kSectionPart:
    case kSectionEnd:
      header.section_id = in_.get_be32();
      break;
    default:
      return fail("unexpected section type " + hex(type) + " (" + std::string(section_type_name(type)) +
                  ") at stream byte " + std::to_string(in_.offset() - 1));
  }
  if (auto s = in_.status(); !s) return std::unexpected(std::move(s.error()).context("reading a section header"));
  return header;
}

Status Reader::read_footer(const SectionHeader& header) {
  const uint8_t marker = in_.get_u8();
  const uint32_t id = in_.get_be32();
  const std::string what = header.idstr.empty() ? "section " + std::to_string(header.section_id) : header.idstr;
  if (auto s = in_.status(); !s) return std::unexpected(std::move(s.error()).context("footer of " + what));
  if (marker != kSectionFooter) return fail("missing section footer for " + what);
  if (id != header.section_id) {
    return fail("mismatched section id in footer for " + what + ": read " + std::to_string(id) + ", expected " +
                std::to_string(header.section_id));
  }
  return {};
}

Result<std::optional<std::string>> Reader::read_description_text() {
  if (in_.at_end()) return std::optional<std::string>();
  const uint8_t type = in_.get_u8();
  if (type != kVmDescription) return fail("after EOF: expected the description, found section type " + hex(type));
  const uint32_t length = in_.get_be32();
  if (length > kMaxDescriptionBytes) return fail("description length " + std::to_string(length) + " is too long");
  std::string text(length, '\0');
  in_.get_buffer({reinterpret_cast<uint8_t*>(text.data()), text.size()});
  if (auto s = in_.status(); !s) return std::unexpected(std::move(s.error()).context("description"));
  return std::optional<std::string>(std::move(text));
}

Status Reader::check_description() {
  auto text = read_description_text();
  if (!text) return std::unexpected(std::move(text.error()));
  if (*text && !nlohmann::json::accept(**text)) return fail("description is not valid JSON");
  return {};
}

Result<nlohmann::json> Reader::read_description() {
  auto text = read_description_text();
  if (!text) return std::unexpected(std::move(text.error()));
  if (!*text) return nlohmann::json();
  auto json = nlohmann::json::parse(**text, nullptr, false);
  if (json.is_discarded()) return fail("description is not valid JSON");
  return json;
}

}  // namespace godwit::savevm
