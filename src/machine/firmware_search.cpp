#include "machine/firmware_search.hpp"

#include <unistd.h>

namespace godwit {
namespace {

bool readable(const std::string& path) { return ::access(path.c_str(), R_OK) == 0; }

std::string joined(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

}  // namespace

FirmwarePlaces system_firmware_places() {
  return {.data_dirs = {"/usr/share/qemu"},
          .packaged_default = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"};
}

Result<std::string> find_firmware(const std::string& bios, std::span<const std::string> user_dirs,
                                  const FirmwarePlaces& places) {
  const bool is_default = bios == "default";
  const std::string name = is_default ? kDefaultFirmwareName : bios;
  if (name.empty()) return fail("no firmware file given");
  if (!is_default && readable(name)) return name;
  std::vector<std::string> dirs(user_dirs.begin(), user_dirs.end());
  dirs.insert(dirs.end(), places.data_dirs.begin(), places.data_dirs.end());
  std::vector<std::string> tried;
  for (const std::string& dir : dirs) {
    const std::string candidate = dir + "/" + name;
    if (readable(candidate)) return candidate;
    tried.push_back(candidate);
  }
  if (is_default) {
    if (!places.packaged_default.empty() && readable(places.packaged_default)) return places.packaged_default;
    if (!places.packaged_default.empty()) tried.push_back(places.packaged_default);
    return fail("could not find the default firmware (OpenSBI fw_dynamic) at " + joined(tried) +
                "; install Debian's opensbi package, or boot without firmware with -bios none");
  }
  return fail("could not find firmware '" + bios + "'" + (tried.empty() ? "" : " (nor " + joined(tried) + ")"));
}

}  // namespace godwit
