#include "block/block_setup.hpp"

#include <map>

namespace godwit {
namespace {

using Driver = BlockNodeConfig::Driver;

std::unexpected<Error> fail_at(const std::string& origin, const std::string& message) {
  return std::unexpected(Error(message).context(origin));
}

struct Graph {
  std::map<std::string, size_t> nodes;   // node name -> index
  std::map<std::string, size_t> drives;  // drive id -> index
};

Result<Graph> index_names(const BlockConfig& config) {
  Graph graph;
  for (size_t i = 0; i < config.drives.size(); ++i) {
    const DriveConfig& drive = config.drives[i];
    if (!graph.drives.emplace(drive.id, i).second) {
      return fail_at(drive.origin, "Duplicate ID '" + drive.id + "' for drive");
    }
  }
  for (size_t i = 0; i < config.nodes.size(); ++i) {
    const BlockNodeConfig& node = config.nodes[i];
    if (!graph.nodes.emplace(node.node_name, i).second) {
      return fail_at(node.origin, "Duplicate nodes with node-name='" + node.node_name + "'");
    }
    if (graph.drives.contains(node.node_name)) {
      return fail_at(node.origin, "node-name=" + node.node_name + " is conflicting with a device id");
    }
  }
  return graph;
}

// Each raw node must sit on a file node of its own (godwit reads no other
// graph shape).
Status check_raw_nodes(const BlockConfig& config, const Graph& graph) {
  std::map<size_t, std::string> parent_of;
  for (const BlockNodeConfig& node : config.nodes) {
    if (node.driver != Driver::kRaw) continue;
    auto child = graph.nodes.find(node.file_node);
    if (child == graph.nodes.end()) {
      return fail_at(node.origin, "Cannot find device='" + node.file_node + "' nor node-name='" + node.file_node + "'");
    }
    if (config.nodes[child->second].driver != Driver::kFile) {
      return fail_at(node.origin, "node '" + node.file_node + "' is not a file node (raw reads through driver=file)");
    }
    auto [it, fresh] = parent_of.emplace(child->second, node.node_name);
    if (!fresh) {
      return fail_at(node.origin, "node '" + node.file_node + "' is already used by node '" + it->second + "'");
    }
  }
  return {};
}

}  // namespace

Result<BlockPlan> plan_disks(const BlockConfig& config) {
  auto graph = index_names(config);
  if (!graph) return std::unexpected(std::move(graph.error()));
  if (auto status = check_raw_nodes(config, *graph); !status) return std::unexpected(std::move(status.error()));

  BlockPlan plan;
  std::map<size_t, std::string> used_by;  // file node -> the name its device gave
  for (const BlockDeviceConfig& device : config.devices) {
    DiskPlan disk;
    disk.device = device;
    size_t node_index = 0;
    if (auto drive = graph->drives.find(device.drive); drive != graph->drives.end()) {
      const DriveConfig& drive_config = config.drives[drive->second];
      node_index = graph->nodes.at(drive_config.node_name);
      disk.write_cache = drive_config.write_cache;
    } else if (auto node = graph->nodes.find(device.drive); node != graph->nodes.end()) {
      node_index = node->second;
    } else {
      return fail_at(device.origin, "Property 'virtio-blk-device.drive' can't find value '" + device.drive + "'");
    }
    const BlockNodeConfig* node = &config.nodes[node_index];
    disk.read_only = node->read_only;
    if (node->driver == Driver::kRaw) {
      node_index = graph->nodes.at(node->file_node);
      node = &config.nodes[node_index];
      disk.read_only = disk.read_only || node->read_only;
    }
    if (!used_by.emplace(node_index, device.drive).second) {
      return fail_at(device.origin, "Drive '" + device.drive + "' is already in use by another device");
    }
    disk.file_node = node_index;
    disk.permissions = disk_device_permissions(disk.read_only, device.share_rw);
    plan.disks.push_back(std::move(disk));
  }

  plan.open_options.resize(config.nodes.size());
  for (size_t i = 0; i < config.nodes.size(); ++i) {
    const BlockNodeConfig& node = config.nodes[i];
    RawImageOptions& options = plan.open_options[i];
    options.read_only = node.read_only || node.auto_read_only;
    options.cache = {.direct = node.direct, .no_flush = node.no_flush};
    options.discard = node.discard;
    options.locking = node.locking != LockingMode::kOff;
  }
  for (const DiskPlan& disk : plan.disks) {
    RawImageOptions& options = plan.open_options[disk.file_node];
    if (!disk.read_only) options.read_only = false;  // auto-read-only meets a writer
    options.cache.write_cache = disk.write_cache;
  }
  return plan;
}

Result<BlockImages> BlockImages::open(const BlockConfig& config, IoWorkerPool& workers, bool inactive,
                                      const TakeHandedOverFd& take_handed_over) {
  auto plan = plan_disks(config);
  if (!plan) return std::unexpected(std::move(plan.error()));
  BlockImages images;
  std::vector<RawImage*> by_node(config.nodes.size(), nullptr);
  for (size_t i = 0; i < config.nodes.size(); ++i) {
    const BlockNodeConfig& node = config.nodes[i];
    if (node.driver != Driver::kFile) continue;
    const int handed = take_handed_over ? take_handed_over(node.node_name) : -1;
    auto image = handed >= 0 ? RawImage::adopt(handed, node.filename, plan->open_options[i], workers)
                             : RawImage::open(node.filename, plan->open_options[i], workers);
    if (!image) return std::unexpected(std::move(image.error()).context(node.origin));
    if (handed >= 0) {
      (*image)->defer_locks_to_sender();
    } else if (inactive) {
      (void)(*image)->inactivate();  // nothing is locked yet: cannot fail
    }
    by_node[i] = image->get();
    images.images_.push_back(std::move(*image));
    images.node_names_.push_back(node.node_name);
  }
  for (DiskPlan& disk : plan->disks) {
    RawImage* image = by_node[disk.file_node];
    if (auto status = image->set_permissions(disk.permissions); !status) {
      // QEMU reports a lock conflict at the device that asked.
      return std::unexpected(std::move(status.error()).context(disk.device.origin));
    }
    images.disks_.push_back({std::move(disk), image});
  }
  return images;
}

Status BlockImages::inactivate_all() {
  for (auto& image : images_) {
    if (auto status = image->inactivate(); !status) return status;
  }
  return {};
}

Status BlockImages::activate_all() {
  for (auto& image : images_) {
    if (auto status = image->activate(); !status) return status;
  }
  return {};
}

std::vector<BlockImages::HandoverFd> BlockImages::handover_fds() const {
  std::vector<HandoverFd> fds;
  for (size_t i = 0; i < images_.size(); ++i) fds.push_back({node_names_[i], images_[i]->fd()});
  return fds;
}

void BlockImages::hand_over_all() {
  for (auto& image : images_) image->hand_over();
}

}  // namespace godwit
