// Finds the file `-bios` names, as QEMU does (riscv_find_and_load_firmware,
// qemu_find_file): "default" is OpenSBI's fw_dynamic under QEMU's name in
// the -L directories, then in QEMU's data directory; any other name is a path
// when a file is there, else a name looked up in the same directories.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "base/error.hpp"

namespace godwit {

// QEMU's name for the RV64 default firmware (RISCV64_BIOS_BIN).
inline constexpr char kDefaultFirmwareName[] = "opensbi-riscv64-generic-fw_dynamic.bin";

struct FirmwarePlaces {
  std::vector<std::string> data_dirs;  // searched in order after -L's
  // Where Debian's opensbi package installs fw_dynamic itself: used for
  // "default" when no data directory has QEMU's name for it (QEMU's package
  // provides that name as a link to this file).
  std::string packaged_default;
};

// /usr/share/qemu, then the opensbi package's file.
FirmwarePlaces system_firmware_places();

// The path to load for `bios` (not "none"); the error says what was looked
// for and where.
Result<std::string> find_firmware(const std::string& bios, std::span<const std::string> user_dirs,
                                  const FirmwarePlaces& places = system_firmware_places());

}  // namespace godwit
