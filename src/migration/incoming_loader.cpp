#include "migration/incoming_loader.hpp"

#include <optional>
#include <set>
#include <utility>

#include "migration/ram_section_loader.hpp"
#include "migration/savevm_format.hpp"

namespace godwit {

Status load_migration_stream(StreamReader& in, MigratableVm& vm, const MigrationCapabilities& capabilities) {
  savevm::Reader reader(in);
  if (auto status = reader.read_header(vm.machine_type(), stream_capabilities(capabilities)); !status) return status;

  RamLoader ram(in, vm.ram_blocks(), RamSectionOptions{capabilities[MigrationCapability::kXIgnoreShared]});
  const std::vector<DeviceSection> sections = vm.device_sections();
  std::optional<uint32_t> ram_section_id;
  bool ram_ended = false;
  std::set<std::pair<std::string, uint32_t>> loaded;

  for (;;) {
    auto header = reader.read_section_header();
    if (!header) return std::unexpected(std::move(header.error()));
    switch (header->type) {
      case savevm::kEof: {
        if (!ram_section_id) return fail("stream ended without a RAM section");
        if (!ram_ended) return fail("stream ended before the RAM section's end");
        for (const DeviceSection& section : sections) {
          if (!loaded.contains({section.idstr, section.instance_id})) {
            return fail("stream ended without section '" + section.idstr + "' instance " +
                        std::to_string(section.instance_id));
          }
        }
        // The description is for tools; its absence is fine, a broken one not.
        if (auto status = reader.check_description(); !status) return status;
        return {};
      }
      case savevm::kSectionStart: {
        if (header->idstr != kRamSectionName) {
          return fail("section '" + header->idstr + "': godwit has no iterative section of that name");
        }
        if (header->instance_id != 0) {
          return fail("unknown savevm section 'ram' instance " + std::to_string(header->instance_id) +
                      " (godwit has one RAM section, instance 0)");
        }
        if (ram_section_id) return fail("section 'ram': started twice");
        if (header->version_id != kRamSectionVersion) {
          return fail("section 'ram': unsupported version " + std::to_string(header->version_id) + " (godwit reads " +
                      std::to_string(kRamSectionVersion) + ")");
        }
        ram_section_id = header->section_id;
        break;
      }
      case savevm::kSectionPart:
      case savevm::kSectionEnd: {
        if (!ram_section_id || header->section_id != *ram_section_id) {
          return fail(std::string(savevm::section_type_name(header->type)) + " for section id " +
                      std::to_string(header->section_id) + ", which never started");
        }
        if (ram_ended) return fail("section 'ram': data after its end");
        header->idstr = kRamSectionName;
        if (header->type == savevm::kSectionEnd) ram_ended = true;
        break;
      }
      case savevm::kSectionFull: {
        if (!loaded.insert({header->idstr, header->instance_id}).second) {
          return fail("section '" + header->idstr + "' instance " + std::to_string(header->instance_id) +
                      " sent twice");
        }
        if (auto status = load_device_section(reader, *header, sections); !status) return status;
        continue;
      }
      default:
        return fail("unexpected section type " + std::to_string(header->type));
    }
    // A RAM chunk: records up to EOS, then the footer.
    if (auto status = ram.load_chunk(); !status) return status;
    if (auto status = reader.read_footer(*header); !status) return status;
  }
}

}  // namespace godwit
