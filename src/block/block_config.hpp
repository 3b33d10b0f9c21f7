// What the command line says about disks, as plain data: the CLI fills it
// from -drive, -blockdev and -device virtio-blk-device; the block layer
// resolves it (block_setup.hpp) and the machine opens what it names.
//
// The shape follows QEMU's: images are nodes of a graph, a protocol node
// (driver=file: the host file and how it is opened) under a format node
// (driver=raw: the guest's view, the only format godwit reads). -drive makes
// both at once and names the pair by its id; -blockdev makes one at a time,
// as libvirt does. A device names a drive id or a node name.
#pragma once

#include <string>
#include <vector>

namespace godwit {

// discard= of -drive and of a file node: QEMU's default is ignore.
enum class DiscardMode { kIgnore, kUnmap };
// locking= of a file node; auto means on wherever OFD locks exist (Linux).
enum class LockingMode { kAuto, kOn, kOff };

// How the host file is opened: QEMU splits cache= into these three.
//   cache=       direct  no_flush  write_cache
//   writeback    off     off       on   (the default)
//   none         on      off       on
//   writethrough off     off       off
//   directsync   on      off       off
//   unsafe       off     on        on
// direct: O_DIRECT (bypass the host page cache). no_flush: flushes succeed
// without reaching the disk. write_cache off: every write is followed by a
// flush before it completes, and the device offers the guest no flush.
struct CacheOptions {
  bool direct = false;
  bool no_flush = false;
  bool write_cache = true;

  bool operator==(const CacheOptions&) const = default;
};

struct BlockNodeConfig {
  enum class Driver { kFile, kRaw };
  Driver driver = Driver::kFile;
  std::string node_name;
  bool read_only = false;
  // kFile
  std::string filename;
  // auto-read-only=on (libvirt sets it): open read-write only if a device
  // writes through it, else read-only.
  bool auto_read_only = false;
  bool direct = false;    // cache.direct=
  bool no_flush = false;  // cache.no-flush=
  DiscardMode discard = DiscardMode::kIgnore;
  LockingMode locking = LockingMode::kAuto;
  // kRaw: the node it reads through (file=NODE).
  std::string file_node;
  // How it was written, for errors at open: "-blockdev driver=file,...".
  std::string origin;
};

// -drive: a named backend (QEMU's BlockBackend) over its own raw and file
// nodes, which the parser adds to `nodes` named "#<id>-raw", "#<id>-file".
struct DriveConfig {
  std::string id;              // id=, or "virtio<N>" made up for if=virtio
  std::string node_name;       // the raw node it reads through
  bool write_cache = true;     // cache= writethrough/directsync turn it off
  bool format_probed = false;  // no format= given: read as raw, as QEMU's probe would
  std::string origin;
};

// -device virtio-blk-device,drive=NAME[,serial=S][,share-rw=on]; -drive
// if=virtio adds one of these for its drive.
struct BlockDeviceConfig {
  std::string drive;      // a drive id or a node name
  std::string serial;     // GET_ID's answer, at most 20 bytes go to the guest
  bool share_rw = false;  // let others write the image too (share-rw=on)
  std::string origin;
};

struct BlockConfig {
  std::vector<BlockNodeConfig> nodes;
  std::vector<DriveConfig> drives;
  std::vector<BlockDeviceConfig> devices;
};

}  // namespace godwit
