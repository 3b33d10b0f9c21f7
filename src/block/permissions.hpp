// What an opener of an image does with it and what it lets others do: QEMU's
// block permissions (BLK_PERM_*, include/block/block-common.h). Their bit
// numbers are part of the on-disk protocol between processes, because the
// image lock (image_lock.hpp) locks one byte per bit: they must stay QEMU's.
#pragma once

#include <cstdint>
#include <string_view>

namespace godwit {

enum BlockPermission : uint32_t {
  kPermConsistentRead = 1u << 0,  // reads see what was written
  kPermWrite = 1u << 1,           // writes that change the contents
  kPermWriteUnchanged = 1u << 2,  // writes of what is already there
  kPermResize = 1u << 3,
  kPermAll = (1u << 4) - 1,
};
inline constexpr unsigned kPermissionCount = 4;

// QEMU's names (bdrv_perm_names), which its lock errors quote.
constexpr std::string_view permission_name(unsigned bit_index) {
  constexpr std::string_view kNames[kPermissionCount] = {"consistent read", "write", "write unchanged", "resize"};
  return bit_index < kPermissionCount ? kNames[bit_index] : "unknown";
}

struct BlockPermissions {
  uint32_t used = 0;           // what this opener does
  uint32_t shared = kPermAll;  // what it lets other openers do

  bool operator==(const BlockPermissions&) const = default;
};

// What QEMU's disk devices ask of their image (blkconf_apply_backend_options
// with resizable=true, as virtio-blk): consistent reads, writes unless
// read-only; others may read, rewrite unchanged data and resize, and write
// only with share-rw=on. Two writers therefore exclude each other, and a
// reader excludes a writer, which is what a guest's file system needs.
constexpr BlockPermissions disk_device_permissions(bool read_only, bool share_rw) {
  BlockPermissions permissions;
  permissions.used = kPermConsistentRead | (read_only ? 0u : uint32_t{kPermWrite});
  permissions.shared = kPermConsistentRead | kPermWriteUnchanged | kPermResize | (share_rw ? uint32_t{kPermWrite} : 0u);
  return permissions;
}

// An image open but not in use: no device on it, or inactive while another
// process owns it during a migration. QEMU holds no lock bytes then.
inline constexpr BlockPermissions kNoPermissions{0, kPermAll};

}  // namespace godwit
