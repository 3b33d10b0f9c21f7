#include "migration/device_section.hpp"

namespace godwit {

void write_device_sections(savevm::Writer& writer, std::span<const DeviceSection> sections,
                           uint32_t& next_section_id, nlohmann::json* description) {
  for (const DeviceSection& section : sections) {
    const uint32_t id = next_section_id++;
    writer.begin_section({savevm::kSectionFull, id, section.idstr, section.instance_id, section.version_id});
    section.save(writer.stream());
    writer.end_section(id);
    if (description == nullptr) continue;
    nlohmann::json entry = section.describe();
    // vmdesc names the section as the stream does, then the description's own fields.
    entry["name"] = section.idstr;
    entry["instance_id"] = section.instance_id;
    description->push_back(std::move(entry));
  }
}

Status load_device_section(savevm::Reader& reader, const savevm::SectionHeader& header,
                           std::span<const DeviceSection> sections) {
  const std::string what = "section '" + header.idstr + "' instance " + std::to_string(header.instance_id);
  for (const DeviceSection& section : sections) {
    if (section.idstr != header.idstr || section.instance_id != header.instance_id) continue;
    if (header.version_id > section.version_id) {
      return fail(what + ": stream version " + std::to_string(header.version_id) + " is newer than this godwit's " +
                  std::to_string(section.version_id));
    }
    if (auto status = section.load(reader.stream(), header.version_id); !status) {
      return std::unexpected(std::move(status.error()).context("loading " + what));
    }
    return reader.read_footer(header);
  }
  return fail("unknown savevm " + what + " (this machine has no such device)");
}

}  // namespace godwit
