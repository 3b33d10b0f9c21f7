// Image locking as QEMU's file-posix does it, so that godwit and QEMU see
// each other's use of an image and neither lets a second writer in.
//
// The scheme (QEMU's raw_apply_lock_bytes / raw_check_lock_bytes): an
// opener holds shared (read) open-file-description locks, F_OFD_SETLK, on
// single bytes of the image file:
//   byte 100 + i  "I use permission i"
//   byte 200 + i  "I do not let others have permission i"
// with i the bit number of a BlockPermission. Before it counts as holding
// `wanted`, an opener tests, with an exclusive F_OFD_GETLK, byte 200 + i for
// each permission it uses (does anyone refuse it?) and byte 100 + i for each
// it refuses to share (does anyone use it?). It locks first and tests after,
// as QEMU does, so of two openers racing at least one sees the other.
// The bytes lie past the header of any image and lock nothing real: the
// locks are advisory and only other lockers read them.
//
// OFD locks belong to the open file description, not to the process: they
// survive dup(), fork(), SCM_RIGHTS and exec, and go only when the last
// descriptor of that description closes. That is what lets an image change
// hands in cpr-transfer and cpr-exec with its locks held throughout; and two
// open() calls of one file, even in one process, are two descriptions that
// conflict as two processes would. A description never conflicts with its
// own locks, so taking the same permissions again through an adopted
// descriptor succeeds.
//
// Threads: none of its own; the caller serializes calls for one descriptor.
#pragma once

#include <string>

#include "base/error.hpp"
#include "block/permissions.hpp"

namespace godwit {

inline constexpr int kLockBytePermissionBase = 100;  // QEMU's RAW_LOCK_PERM_BASE
inline constexpr int kLockByteSharedBase = 200;      // QEMU's RAW_LOCK_SHARED_BASE

// Moves the locks held through `fd` from `current` to `wanted`: locks what
// `wanted` needs, checks for conflicts with every other description, then
// unlocks what only `current` needed. On a conflict it returns to `current`
// and fails in QEMU's words, naming `path`:
//   Failed to get "write" lock
//   Is another process using the image [PATH]?
// ("Failed to get shared "write" lock" when another opener uses a
// permission that `wanted` does not share).
Status change_image_locks(int fd, BlockPermissions current, BlockPermissions wanted, const std::string& path);

// Unlocks every lock byte of the scheme through `fd`, held or not.
Status release_image_locks(int fd);

// For tests and diagnostics: whether some other description holds a lock
// on `byte` (F_OFD_GETLK as an exclusive locker would see it).
Result<bool> lock_byte_taken(int fd, int byte);

}  // namespace godwit
