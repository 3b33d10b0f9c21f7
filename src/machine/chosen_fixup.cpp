#include "machine/chosen_fixup.hpp"

#include <libfdt.h>

namespace godwit {
namespace {

// Room for the new properties, their names and alignment.
constexpr size_t kSlackBytes = 256;

Status check(int rc, const std::string& what) {
  if (rc < 0) return fail(what + ": " + fdt_strerror(rc));
  return {};
}

}  // namespace

Result<std::vector<uint8_t>> fix_up_chosen(std::span<const uint8_t> tree, const ChosenFixup& fixup) {
  if (tree.size() < sizeof(fdt_header)) return fail("not a device tree: only " + std::to_string(tree.size()) + " bytes");
  if (auto s = check(fdt_check_header(tree.data()), "not a valid device tree"); !s) return std::unexpected(s.error());
  if (fdt_totalsize(tree.data()) > tree.size()) return fail("device tree header claims more bytes than the file holds");
  std::vector<uint8_t> out(fdt_totalsize(tree.data()) + fixup.bootargs.size() + kSlackBytes);
  if (auto s = check(fdt_open_into(tree.data(), out.data(), static_cast<int>(out.size())), "device tree"); !s) {
    return std::unexpected(s.error());
  }
  if (fixup.initrd || !fixup.bootargs.empty()) {
    const int chosen = fdt_path_offset(out.data(), "/chosen");
    if (chosen < 0) return fail("the device tree has no /chosen node");
    if (fixup.initrd) {
      if (auto s = check(fdt_setprop_u64(out.data(), chosen, "linux,initrd-start", fixup.initrd->start), "/chosen/linux,initrd-start"); !s) {
        return std::unexpected(s.error());
      }
      if (auto s = check(fdt_setprop_u64(out.data(), chosen, "linux,initrd-end", fixup.initrd->end), "/chosen/linux,initrd-end"); !s) {
        return std::unexpected(s.error());
      }
    }
    if (!fixup.bootargs.empty()) {
      if (auto s = check(fdt_setprop_string(out.data(), chosen, "bootargs", fixup.bootargs.c_str()), "/chosen/bootargs"); !s) {
        return std::unexpected(s.error());
      }
    }
  }
  if (auto s = check(fdt_pack(out.data()), "packing the device tree"); !s) return std::unexpected(s.error());
  out.resize(fdt_totalsize(out.data()));
  return out;
}

}  // namespace godwit
