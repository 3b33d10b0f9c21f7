// The outer layout of a migration stream, as QEMU's savevm.c writes it:
//
//   be32 "QEVM"  be32 3                          header
//   0x07 be32 len, machine type                   configuration section body
//   0x01/0x04 be32 id, u8 len, idstr, be32 instance, be32 version, body, 0x7e be32 id
//   0x02/0x03 be32 id, body, 0x7e be32 id         later parts of iterative sections
//   0x00                                          EOF
//   0x06 be32 len, JSON                           vmdesc: how to decode the device bodies
//
// The writer emits exactly this; the reader checks every byte it relies on
// (magic, version, section type, id, footer) and names what was wrong.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "migration/stream_reader.hpp"
#include "migration/stream_writer.hpp"

namespace godwit::savevm {

inline constexpr uint32_t kMagic = 0x5145564d;  // "QEVM"
inline constexpr uint32_t kVersion = 3;
inline constexpr uint32_t kPageSize = 4096;

enum SectionType : uint8_t {
  kEof = 0x00,
  kSectionStart = 0x01,
  kSectionPart = 0x02,
  kSectionEnd = 0x03,
  kSectionFull = 0x04,
  kSubsection = 0x05,
  kVmDescription = 0x06,
  kConfiguration = 0x07,
  kCommand = 0x08,
  kSectionFooter = 0x7e,
};

// What identifies a device's state in the stream.
struct SectionHeader {
  SectionType type = kSectionFull;
  uint32_t section_id = 0;
  std::string idstr;         // START/FULL only
  uint32_t instance_id = 0;  // START/FULL only
  uint32_t version_id = 0;   // START/FULL only
};

inline constexpr std::string_view kCapabilitiesSubsection = "configuration/capabilities";

class Writer {
 public:
  explicit Writer(StreamWriter& out) : out_(out) {}

  // Magic, version and the configuration section naming the machine type
  // and, in its "configuration/capabilities" subsection, the capabilities
  // that change the stream's layout (none: no subsection).
  void write_header(std::string_view machine_type, const std::vector<std::string>& capabilities = {});
  // START or FULL: the full header; PART or END: type and id only.
  void begin_section(const SectionHeader& header);
  void end_section(uint32_t section_id);  // the footer
  // EOF, then the JSON description of the device sections.
  void write_eof(const nlohmann::json& description);
  // EOF alone: a stream without the description (for tools only) loads the same.
  void write_eof();

  StreamWriter& stream() { return out_; }

 private:
  StreamWriter& out_;
};

class Reader {
 public:
  explicit Reader(StreamReader& in) : in_(in) {}

  // Checks magic, version, that the configuration names `machine_type` and
  // that it lists exactly `capabilities` (of those godwit knows change the
  // layout), with QEMU's messages.
  Status read_header(std::string_view machine_type, const std::vector<std::string>& capabilities = {});
  // Magic, version and configuration as they are, unchecked (for tools).
  struct Configuration {
    uint32_t version = 0;
    std::string machine_type;
    std::vector<std::string> capabilities;
  };
  Result<Configuration> read_configuration();
  // Reads the next section header. At EOF returns a header of type kEof.
  // Commands (0x08) are not part of a precopy stream godwit writes: refused.
  Result<SectionHeader> read_section_header();
  // Checks the footer that must follow a section body.
  Status read_footer(const SectionHeader& header);
  // After EOF: the optional vmdesc JSON (null when the stream ends there).
  Result<nlohmann::json> read_description();
  // The same checks without building the JSON: what a loader needs, in a
  // fraction of the time (it runs while the guest is paused).
  Status check_description();

  StreamReader& stream() { return in_; }

 private:
  // The description's JSON text, unparsed; nullopt when the stream ends at EOF.
  Result<std::optional<std::string>> read_description_text();

  StreamReader& in_;
};

std::string_view section_type_name(uint8_t type);

}  // namespace godwit::savevm
