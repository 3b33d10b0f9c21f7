#include "machine/boot_loader.hpp"

#include <algorithm>

#include "base/file_io.hpp"
#include "base/hex.hpp"
#include "machine/boot_layout.hpp"
#include "machine/chosen_fixup.hpp"
#include "machine/firmware_search.hpp"
#include "machine/linux_image.hpp"

namespace godwit {
namespace {

std::string quoted(const std::string& text) { return "'" + text + "'"; }

Result<BootFile> read_boot_file(const char* option, const std::string& path, uint64_t max_bytes,
                                BootFileAccess access) {
  if (path.empty()) return BootFile{};
  if (access == BootFileAccess::kMap) {
    auto mapped = MappedFile::open(path, max_bytes);
    if (mapped) return BootFile{path, {}, std::move(*mapped)};
    // Not a regular file (a pipe, a device): read it as a normal start would.
  }
  auto bytes = read_file(path, max_bytes);
  if (!bytes) return std::unexpected(std::move(bytes.error()).context(option));
  if (bytes->empty()) return fail(std::string(option) + ": " + quoted(path) + " is empty");
  return BootFile{path, std::move(*bytes), nullptr};
}

bool overlaps(uint64_t a_start, uint64_t a_end, uint64_t b_start, uint64_t b_end) {
  return a_start < b_end && b_start < a_end;
}

// Where the firmware starts and ends: the ROM jumps to its entry, the
// kernel goes after its end.
struct LoadedFirmware {
  uint64_t entry = 0;
  uint64_t start = 0;
  uint64_t end = 0;
};

Result<LoadedFirmware> load_firmware(const BootFile& file, uint64_t ram_base, GuestMemory memory,
                                     KernelPlacement placement) {
  auto loaded = load_kernel(file.contents(), memory, placement, ram_base);
  if (!loaded) return std::unexpected(std::move(loaded.error()).context("-bios " + quoted(file.path)));
  return LoadedFirmware{loaded->entry, loaded->lowest_address, loaded->highest_address};
}

}  // namespace

Status BootFiles::read_in() {
  for (auto [option, file] : {std::pair<const char*, BootFile*>{"-bios", &firmware}, {"-kernel", &kernel},
                              {"-initrd", &initrd}, {"-dtb", &dtb}}) {
    if (!file->mapped) continue;
    if (auto status = file->mapped->check_size(); !status) return std::unexpected(std::move(status.error()).context(option));
    const std::span<const uint8_t> contents = file->mapped->bytes();
    file->bytes.assign(contents.begin(), contents.end());
    file->mapped.reset();
  }
  return {};
}

Result<BootFiles> read_boot_files(const MachineConfig& config, uint64_t ram_size_bytes, BootFileAccess access) {
  BootFiles files;
  if (config.bios != "none") {
    auto path = find_firmware(config.bios, config.data_dirs);
    if (!path) return std::unexpected(std::move(path.error()).context("-bios"));
    auto firmware = read_boot_file("-bios", *path, ram_size_bytes, access);
    if (!firmware) return std::unexpected(std::move(firmware.error()));
    files.firmware = std::move(*firmware);
  }
  struct Named {
    const char* option;
    const std::string& path;
    BootFile& file;
  };
  for (const Named& named : {Named{"-kernel", config.kernel_path, files.kernel},
                             Named{"-initrd", config.initrd_path, files.initrd},
                             Named{"-dtb", config.dtb_path, files.dtb}}) {
    auto file = read_boot_file(named.option, named.path, ram_size_bytes, access);
    if (!file) return std::unexpected(std::move(file.error()));
    named.file = std::move(*file);
  }
  return files;
}

Result<BootSetup> load_boot_images(const BootRequest& request, GuestMemory memory, KernelPlacement placement) {
  const BootFiles& files = *request.files;
  const uint64_t ram_end = request.ram_base + request.ram_size_bytes;
  BootSetup setup;

  // -bios none: the kernel (or, without one, RAM) is entered directly.
  LoadedFirmware firmware{request.ram_base, request.ram_base, request.ram_base};
  if (!files.firmware.path.empty()) {
    auto loaded = load_firmware(files.firmware, request.ram_base, memory, placement);
    if (!loaded) return std::unexpected(std::move(loaded.error()));
    firmware = *loaded;
  }
  setup.rom.start_address = firmware.entry;

  // The end of what the kernel and initrd occupy: the device tree must lie above.
  uint64_t occupied_end = 0;
  if (!files.kernel.path.empty()) {
    const std::string what = "-kernel " + quoted(files.kernel.path);
    const uint64_t start = kernel_start_address(firmware.end);
    auto kernel = load_kernel(files.kernel.contents(), memory, placement, start);
    if (!kernel) return std::unexpected(std::move(kernel.error()).context(what));
    if (overlaps(kernel->lowest_address, kernel->highest_address, firmware.start, firmware.end)) {
      return fail(what + ": it overlaps the firmware at " + hex(firmware.start) + ".." + hex(firmware.end));
    }
    setup.kernel = *kernel;
    occupied_end = kernel->highest_address;
    // A Linux Image claims image_size bytes (its .bss too) once it runs.
    if (auto header = parse_linux_image_header(files.kernel.contents())) {
      occupied_end = std::max(occupied_end, kernel->lowest_address + header->image_size);
    }
    setup.rom.next_address = kernel->lowest_address;
    if (files.firmware.path.empty()) setup.rom.start_address = kernel->entry;
  }

  ChosenFixup fixup{.bootargs = request.append, .initrd = std::nullopt};
  if (!files.initrd.path.empty()) {
    const std::string what = "-initrd " + quoted(files.initrd.path);
    const uint64_t start = initrd_address(setup.kernel.lowest_address, request.ram_size_bytes);
    const uint64_t size = files.initrd.contents().size();
    if (start >= ram_end || size > ram_end - start) {
      return fail(what + ": its " + std::to_string(size) + " bytes do not fit in RAM at " + hex(start) +
                  " (RAM ends at " + hex(ram_end) + "); use a larger -m");
    }
    if (start < occupied_end) {
      return fail(what + ": at " + hex(start) + " it would overlap the kernel, which needs memory up to " +
                  hex(occupied_end) + "; use a larger -m");
    }
    if (placement == KernelPlacement::kWrite) {
      if (auto s = memory.write(start, files.initrd.contents()); !s) return std::unexpected(std::move(s.error()).context(what));
    }
    setup.initrd_start = start;
    setup.initrd_end = start + size;
    occupied_end = setup.initrd_end;
    fixup.initrd = ChosenFixup::Range{start, start + size};
  }

  const bool user_tree = !files.dtb.path.empty();
  auto tree = fix_up_chosen(user_tree ? std::span<const uint8_t>(files.dtb.contents()) : request.board_tree, fixup);
  if (!tree) {
    return std::unexpected(std::move(tree.error()).context(user_tree ? "-dtb " + quoted(files.dtb.path) : "device tree"));
  }
  setup.device_tree = std::move(*tree);
  const uint64_t tree_size = setup.device_tree.size();
  if (tree_size > request.ram_size_bytes) return fail("the device tree does not fit in RAM");
  setup.device_tree_address = device_tree_address(request.ram_base, request.ram_size_bytes, tree_size);
  if (setup.device_tree_address < occupied_end || setup.device_tree_address < request.ram_base) {
    return fail("no room for the device tree (" + std::to_string(tree_size) + " bytes) in RAM above the kernel and initrd, which end at " +
                hex(occupied_end) + "; use a larger -m");
  }
  if (placement == KernelPlacement::kWrite) {
    if (auto s = memory.write(setup.device_tree_address, setup.device_tree); !s) {
      return std::unexpected(std::move(s.error()).context("placing the device tree"));
    }
  }
  setup.rom.fdt_address = setup.device_tree_address;
  return setup;
}

}  // namespace godwit
