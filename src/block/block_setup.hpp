// From BlockConfig to open images: resolves the node graph the command line
// described (drive ids and node names, raw over file), checks it the way
// QEMU does at start-up, and opens each file node once. The CLI calls
// plan_disks() to reject a bad graph before anything is built; the machine
// calls BlockImages::open().
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "block/block_config.hpp"
#include "block/io_worker_pool.hpp"
#include "block/raw_image.hpp"

namespace godwit {

// One device's disk, resolved down to its file node.
struct DiskPlan {
  BlockDeviceConfig device;
  size_t file_node = 0;     // index into BlockConfig::nodes
  bool read_only = false;   // the guest may not write (raw or file node read-only)
  bool write_cache = true;  // offered to the guest as a volatile cache (FLUSH)
  BlockPermissions permissions;
};

struct BlockPlan {
  std::vector<DiskPlan> disks;
  // Per BlockConfig::nodes entry: how a file node is opened (unused for raw
  // nodes); every file node is opened, in use or not, as QEMU does.
  std::vector<RawImageOptions> open_options;
};

// Errors name the option as typed, then say what is wrong in QEMU's words:
//   -blockdev driver=raw,file=nn,node-name=x: Cannot find device='nn' nor node-name='nn'
//   -device virtio-blk-device,drive=d0: Drive 'd0' is already in use by another device
Result<BlockPlan> plan_disks(const BlockConfig& config);

// The images of one machine, open, with their devices' permissions (and so
// QEMU's locks) taken.
//
// Threads: owned by the machine; open, activate and inactivate from its
// owner thread. The IoWorkerPool must outlive it.
class BlockImages {
 public:
  struct Disk {
    DiskPlan plan;
    RawImage* image;  // owned here
  };

  // A descriptor the old program handed over for the file node named
  // `node_name`, now the caller's; -1 when there is none.
  using TakeHandedOverFd = std::function<int(const std::string& node_name)>;

  // `inactive`: an incoming migration's destination opens its images
  // without taking locks, which the source still holds; activate_all() at
  // the end of the migration takes them.
  // `take_handed_over` (cpr-transfer, cpr-exec): a file node whose
  // descriptor the old program handed over adopts it instead of opening the
  // file again, so the image never goes unlocked; it stays inactive, its
  // locks the old program's, until activate_all().
  static Result<BlockImages> open(const BlockConfig& config, IoWorkerPool& workers, bool inactive,
                                  const TakeHandedOverFd& take_handed_over = {});

  const std::vector<Disk>& disks() const { return disks_; }
  const std::vector<std::unique_ptr<RawImage>>& images() const { return images_; }

  // The switchover: the source gives up its locks, then the destination
  // takes them. A failed activate leaves the images it did activate as they
  // are and names the image that failed.
  Status inactivate_all();
  Status activate_all();

  // cpr-transfer and cpr-exec: each image's descriptor, to travel as
  // cpr_block_fd_name(node name); and, once the new program has the guest,
  // every image marked handed over (locks left to the new owner).
  struct HandoverFd {
    std::string node_name;
    int fd;
  };
  std::vector<HandoverFd> handover_fds() const;
  void hand_over_all();

 private:
  std::vector<std::unique_ptr<RawImage>> images_;
  std::vector<std::string> node_names_;  // per images_ entry: its file node
  std::vector<Disk> disks_;
};

}  // namespace godwit
