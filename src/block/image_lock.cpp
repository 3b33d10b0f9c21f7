#include "block/image_lock.hpp"

#include <errno.h>
#include <fcntl.h>

#include "base/errno_text.hpp"

namespace godwit {
namespace {

int set_byte_lock(int fd, int byte, short type) {
  struct flock lock = {};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = byte;
  lock.l_len = 1;
  // l_pid must be 0 for OFD locks.
  return fcntl(fd, F_OFD_SETLK, &lock) == 0 ? 0 : errno;
}

// Locks the bytes of `bits` in the area at `base` (already held ones again:
// a description's own locks merge, so this is harmless).
Status lock_area(int fd, int base, uint32_t bits) {
  for (unsigned i = 0; i < kPermissionCount; ++i) {
    if ((bits & (1u << i)) == 0) continue;
    if (int err = set_byte_lock(fd, base + static_cast<int>(i), F_RDLCK); err != 0) {
      return fail("Failed to lock byte " + std::to_string(base + i) + ": " + errno_text(err));
    }
  }
  return {};
}

Status unlock_area(int fd, int base, uint32_t keep) {
  for (unsigned i = 0; i < kPermissionCount; ++i) {
    if ((keep & (1u << i)) != 0) continue;
    if (int err = set_byte_lock(fd, base + static_cast<int>(i), F_UNLCK); err != 0) {
      return fail("Failed to unlock byte " + std::to_string(base + i) + ": " + errno_text(err));
    }
  }
  return {};
}

Status lock_for(int fd, BlockPermissions permissions) {
  if (auto status = lock_area(fd, kLockBytePermissionBase, permissions.used); !status) return status;
  return lock_area(fd, kLockByteSharedBase, ~permissions.shared & kPermAll);
}

Status unlock_all_but(int fd, BlockPermissions permissions) {
  if (auto status = unlock_area(fd, kLockBytePermissionBase, permissions.used); !status) return status;
  return unlock_area(fd, kLockByteSharedBase, ~permissions.shared & kPermAll);
}

std::string conflict(std::string_view what, unsigned bit_index, const std::string& path) {
  std::string text = "Failed to get ";
  text += what;
  text += '"';
  text += permission_name(bit_index);
  text += "\" lock\nIs another process using the image [" + path + "]?";
  return text;
}

// QEMU's raw_check_lock_bytes: every permission used must not be refused
// by anyone, and no one may use a permission not shared.
Status check_conflicts(int fd, BlockPermissions wanted, const std::string& path) {
  for (unsigned i = 0; i < kPermissionCount; ++i) {
    if ((wanted.used & (1u << i)) == 0) continue;
    auto taken = lock_byte_taken(fd, kLockByteSharedBase + static_cast<int>(i));
    if (!taken) return std::unexpected(std::move(taken.error()));
    if (*taken) return fail(conflict("", i, path));
  }
  for (unsigned i = 0; i < kPermissionCount; ++i) {
    if ((wanted.shared & (1u << i)) != 0) continue;
    auto taken = lock_byte_taken(fd, kLockBytePermissionBase + static_cast<int>(i));
    if (!taken) return std::unexpected(std::move(taken.error()));
    if (*taken) return fail(conflict("shared ", i, path));
  }
  return {};
}

}  // namespace

Result<bool> lock_byte_taken(int fd, int byte) {
  struct flock lock = {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = byte;
  lock.l_len = 1;
  if (fcntl(fd, F_OFD_GETLK, &lock) != 0) {
    return fail("Failed to test lock byte " + std::to_string(byte) + ": " + errno_text(errno));
  }
  return lock.l_type != F_UNLCK;
}

Status change_image_locks(int fd, BlockPermissions current, BlockPermissions wanted, const std::string& path) {
  const BlockPermissions both{current.used | wanted.used, current.shared & wanted.shared};
  Status status = lock_for(fd, both);
  if (status) status = check_conflicts(fd, wanted, path);
  if (!status) {
    // Back to where we were; the first error is the one worth reporting.
    (void)unlock_all_but(fd, current);
    return status;
  }
  return unlock_all_but(fd, wanted);
}

Status release_image_locks(int fd) { return unlock_all_but(fd, kNoPermissions); }

}  // namespace godwit
