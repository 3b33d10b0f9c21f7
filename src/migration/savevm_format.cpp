#include "migration/savevm_format.hpp"

#include <cstdio>

namespace godwit::savevm {
namespace {

std::string hex(uint64_t v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "0x%llx", static_cast<unsigned long long>(v));
  return buffer;
}

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

void Writer::write_header(std::string_view machine_type) {
  out_.put_be32(kMagic);
  out_.put_be32(kVersion);
  out_.put_u8(kConfiguration);
  // The "configuration" VMState: be32 length then the machine type name.
  out_.put_be32(static_cast<uint32_t>(machine_type.size()));
  out_.put_buffer({reinterpret_cast<const uint8_t*>(machine_type.data()), machine_type.size()});
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

Status Reader::read_header(std::string_view machine_type) {
  const uint32_t magic = in_.get_be32();
  if (auto s = in_.status(); !s) return std::unexpected(std::move(s.error()).context("stream header"));
  if (magic != kMagic) return fail("not a migration stream (bad magic " + hex(magic) + ")");
  const uint32_t version = in_.get_be32();
  if (auto s = in_.status(); !s) return std::unexpected(std::move(s.error()).context("stream header"));
  if (version != kVersion) return fail("unsupported migration stream version " + std::to_string(version));
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
  if (name != machine_type) {
    return fail("configuration: machine type mismatch: the stream is from '" + name + "', this machine is '" +
                std::string(machine_type) + "'");
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

Status Reader::check_description() {
  if (in_.at_end()) return {};
  const uint8_t type = in_.get_u8();
  if (type != kVmDescription) return fail("after EOF: expected the description, found section type " + hex(type));
  const uint32_t length = in_.get_be32();
  if (length > kMaxDescriptionBytes) return fail("description length " + std::to_string(length) + " is too long");
  std::string text(length, '\0');
  in_.get_buffer({reinterpret_cast<uint8_t*>(text.data()), text.size()});
  if (auto s = in_.status(); !s) return std::unexpected(std::move(s.error()).context("description"));
  if (!nlohmann::json::accept(text)) return fail("description is not valid JSON");
  return {};
}

Result<nlohmann::json> Reader::read_description() {
  if (in_.at_end()) return nlohmann::json();
  const uint8_t type = in_.get_u8();
  if (type != kVmDescription) return fail("after EOF: expected the description, found section type " + hex(type));
  const uint32_t length = in_.get_be32();
  if (length > kMaxDescriptionBytes) return fail("description length " + std::to_string(length) + " is too long");
  std::string text(length, '\0');
  in_.get_buffer({reinterpret_cast<uint8_t*>(text.data()), text.size()});
  if (auto s = in_.status(); !s) return std::unexpected(std::move(s.error()).context("description"));
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded()) return fail("description is not valid JSON");
  return json;
}

}  // namespace godwit::savevm
