// One device's state as a section of the migration stream: how it is named
// (QEMU's idstr and instance id), its description's version, and how to
// save, load and describe it. The machine lists these; the stream code needs
// nothing else from a device.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "migration/savevm_format.hpp"
#include "migration/stream_reader.hpp"
#include "migration/stream_writer.hpp"

namespace godwit {

struct DeviceSection {
  std::string idstr;
  uint32_t instance_id = 0;
  uint32_t version_id = 1;
  std::function<void(StreamWriter&)> save;
  std::function<Status(StreamReader&, uint32_t version_id)> load;
  std::function<nlohmann::json()> describe;
};

// Writes each section as FULL with its footer, numbering them from
// `next_section_id`, and appends each one's vmdesc entry to `description`
// (the "devices" array) unless it is null.
void write_device_sections(savevm::Writer& writer, std::span<const DeviceSection> sections,
                           uint32_t& next_section_id, nlohmann::json* description);

// Loads the body of a FULL section whose header was just read, then checks
// its footer. Fails naming the section for an unknown idstr/instance or a
// version newer than ours.
Status load_device_section(savevm::Reader& reader, const savevm::SectionHeader& header,
                           std::span<const DeviceSection> sections);

}  // namespace godwit
