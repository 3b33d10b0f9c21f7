// -drive, -blockdev and -device virtio-blk-device, read into BlockConfig and
// checked as a graph (plan_disks).
#include <gtest/gtest.h>

#include <initializer_list>
#include <vector>

#include "block/block_setup.hpp"
#include "cli/command_line.hpp"
#include "cli/parse_test_util.hpp"

namespace godwit {
namespace {

using testing::parse;
using testing::parse_error;

BlockConfig parse_ok(std::initializer_list<std::string> args) {
  auto result = parse(args);
  EXPECT_TRUE(result.has_value()) << result.error().message();
  return result ? result->config.block : BlockConfig{};
}

BlockPlan plan_of(const BlockConfig& config) {
  auto plan = plan_disks(config);
  EXPECT_TRUE(plan) << plan.error().message();
  return plan ? *plan : BlockPlan{};
}

const BlockNodeConfig& file_of(const BlockConfig& config, const DiskPlan& disk) {
  return config.nodes.at(disk.file_node);
}

TEST(BlockOptions, DriveIfNoneMakesTwoNodesAndNoDevice) {
  const BlockConfig config = parse_ok({"-drive", "file=/tmp/a.img,format=raw,if=none,id=d0"});
  ASSERT_EQ(config.drives.size(), 1u);
  EXPECT_EQ(config.drives[0].id, "d0");
  EXPECT_FALSE(config.drives[0].format_probed);
  EXPECT_TRUE(config.drives[0].write_cache);
  ASSERT_EQ(config.nodes.size(), 2u);
  EXPECT_EQ(config.nodes[0].driver, BlockNodeConfig::Driver::kFile);
  EXPECT_EQ(config.nodes[0].filename, "/tmp/a.img");
  EXPECT_EQ(config.nodes[0].discard, DiscardMode::kIgnore);  // QEMU's default
  EXPECT_EQ(config.nodes[1].driver, BlockNodeConfig::Driver::kRaw);
  EXPECT_EQ(config.nodes[1].file_node, config.nodes[0].node_name);
  EXPECT_TRUE(config.devices.empty());
}

TEST(BlockOptions, DriveDefaultsToIfVirtioWithItsOwnDeviceAsQemuOnVirt) {
  const BlockConfig config = parse_ok({"-drive", "file=/tmp/a.img", "-drive", "file=/tmp/b.img,if=virtio"});
  ASSERT_EQ(config.drives.size(), 2u);
  EXPECT_EQ(config.drives[0].id, "virtio0");
  EXPECT_EQ(config.drives[1].id, "virtio1");
  EXPECT_TRUE(config.drives[0].format_probed);
  ASSERT_EQ(config.devices.size(), 2u);
  EXPECT_EQ(config.devices[0].drive, "virtio0");
  // Each gets a virtio-blk-device in transport order, after any -device.
  const auto full = parse({"-drive", "file=/tmp/a.img", "-device", "virtio-rng-device"});
  ASSERT_TRUE(full);
  ASSERT_EQ(full->config.devices.size(), 2u);
  EXPECT_EQ(full->config.devices[0].driver, "virtio-rng-device");
  EXPECT_EQ(full->config.devices[1].driver, "virtio-blk-device");
  EXPECT_EQ(full->config.devices[1].block_device, 0);
  EXPECT_EQ(config.devices[1].drive, "virtio1");
  const BlockPlan plan = plan_of(config);
  ASSERT_EQ(plan.disks.size(), 2u);
  EXPECT_EQ(file_of(config, plan.disks[1]).filename, "/tmp/b.img");
  EXPECT_EQ(plan.disks[0].permissions, disk_device_permissions(false, false));
}

TEST(BlockOptions, CacheModesSplitAsQemus) {
  struct Case {
    std::string mode;
    bool direct, no_flush, write_cache;
  };
  for (const Case& c : {Case{"writeback", false, false, true}, Case{"none", true, false, true},
                        Case{"writethrough", false, false, false}, Case{"directsync", true, false, false},
                        Case{"unsafe", false, true, true}}) {
    const BlockConfig config = parse_ok({"-drive", "file=/tmp/a.img,format=raw,cache=" + c.mode});
    const BlockPlan plan = plan_of(config);
    ASSERT_EQ(plan.disks.size(), 1u);
    const RawImageOptions& options = plan.open_options[plan.disks[0].file_node];
    EXPECT_EQ(options.cache, (CacheOptions{c.direct, c.no_flush, c.write_cache})) << c.mode;
    EXPECT_EQ(plan.disks[0].write_cache, c.write_cache) << c.mode;
  }
}

TEST(BlockOptions, ReadonlyDiscardAndLocking) {
  const BlockConfig config =
      parse_ok({"-drive", "file=/tmp/a.img,format=raw,readonly=on,discard=unmap,file.locking=off"});
  const BlockPlan plan = plan_of(config);
  ASSERT_EQ(plan.disks.size(), 1u);
  EXPECT_TRUE(plan.disks[0].read_only);
  EXPECT_EQ(plan.disks[0].permissions, disk_device_permissions(true, false));
  const RawImageOptions& options = plan.open_options[plan.disks[0].file_node];
  EXPECT_TRUE(options.read_only);
  EXPECT_EQ(options.discard, DiscardMode::kUnmap);
  EXPECT_FALSE(options.locking);
}

TEST(BlockOptions, BlockdevPairAndDeviceAsLibvirtWritesThem) {
  const BlockConfig config = parse_ok({
      "-blockdev",
      "driver=file,filename=/tmp/a.img,node-name=storage,auto-read-only=on,discard=unmap",
      "-blockdev",
      "driver=raw,file=storage,node-name=format,read-only=off",
      "-device",
      "virtio-blk-device,drive=format,serial=disk-0,share-rw=on",
  });
  ASSERT_EQ(config.nodes.size(), 2u);
  ASSERT_EQ(config.devices.size(), 1u);
  EXPECT_EQ(config.devices[0].serial, "disk-0");
  EXPECT_TRUE(config.devices[0].share_rw);
  const BlockPlan plan = plan_of(config);
  ASSERT_EQ(plan.disks.size(), 1u);
  EXPECT_EQ(file_of(config, plan.disks[0]).node_name, "storage");
  // auto-read-only meets a writer: opened read-write.
  EXPECT_FALSE(plan.open_options[plan.disks[0].file_node].read_only);
  EXPECT_EQ(plan.disks[0].permissions, disk_device_permissions(false, true));
}

TEST(BlockOptions, JsonFormsReadAsTheKeyvalOnes) {
  const BlockConfig config = parse_ok({
      "-blockdev",
      R"({"driver":"file","filename":"/tmp/a.img","node-name":"s","cache":{"direct":true}})",
      "-blockdev",
      R"({"node-name":"f","read-only":true,"driver":"raw","file":"s"})",
      "-device",
      R"({"driver":"virtio-blk-device","drive":"f","id":"disk0"})",
  });
  ASSERT_EQ(config.nodes.size(), 2u);
  EXPECT_TRUE(config.nodes[0].direct);
  EXPECT_TRUE(config.nodes[1].read_only);
  const BlockPlan plan = plan_of(config);
  ASSERT_EQ(plan.disks.size(), 1u);
  EXPECT_TRUE(plan.disks[0].read_only);
  // The file node itself stays read-write: only the raw node is read-only.
  EXPECT_FALSE(plan.open_options[0].read_only);
}

TEST(BlockOptions, RawWithAnInlineFileNode) {
  const BlockConfig dotted = parse_ok({"-blockdev", "driver=raw,node-name=r,file.driver=file,file.filename=/tmp/a.img",
                                       "-device", "virtio-blk-device,drive=r"});
  const BlockConfig json =
      parse_ok({"-blockdev", R"({"driver":"raw","node-name":"r","file":{"driver":"file","filename":"/tmp/a.img"}})",
                "-device", "virtio-blk-device,drive=r"});
  for (const BlockConfig* config : {&dotted, &json}) {
    const BlockPlan plan = plan_of(*config);
    ASSERT_EQ(plan.disks.size(), 1u);
    EXPECT_EQ(file_of(*config, plan.disks[0]).filename, "/tmp/a.img");
  }
}

TEST(BlockOptions, DeviceMayNameAFileNodeDirectly) {
  const BlockConfig config =
      parse_ok({"-blockdev", "driver=file,filename=/tmp/a.img,node-name=f", "-device", "virtio-blk-device,drive=f"});
  EXPECT_EQ(plan_of(config).disks.size(), 1u);
}

TEST(BlockOptions, ErrorsInQemusWords) {
  const std::string img = "file=/tmp/a.img,format=raw,if=none,id=d0";
  EXPECT_EQ(parse_error({"-drive", "file=/tmp/a.img,format=qcow9"}), "-drive: Unknown driver 'qcow9'");
  EXPECT_EQ(parse_error({"-drive", "file=/tmp/a.img,format=qcow2"}),
            "-drive: format 'qcow2' is not supported: godwit reads raw images only");
  EXPECT_EQ(parse_error({"-drive", img + ",cache=bogus"}), "-drive: invalid cache option");
  EXPECT_EQ(parse_error({"-drive", img + ",discard=bogus"}), "-drive: Invalid discard option");
  EXPECT_EQ(parse_error({"-drive", img + ",bogus=1"}), "-drive: invalid parameter 'bogus'");
  EXPECT_EQ(parse_error({"-drive", "file=/tmp/a.img,if=scsi"}),
            "-drive: machine type does not support if=scsi (godwit has if=virtio and if=none)");
  EXPECT_EQ(parse_error({"-drive", img, "-drive", img}), "-drive " + img + ": Duplicate ID 'd0' for drive");
  EXPECT_EQ(
      parse_error({"-drive", img, "-device", "virtio-blk-device,drive=d0", "-device", "virtio-blk-device,drive=d0"}),
      "-device virtio-blk-device,drive=d0: Drive 'd0' is already in use by another device");
  EXPECT_EQ(parse_error({"-device", "virtio-blk-device,drive=zz"}),
            "-device virtio-blk-device,drive=zz: Property 'virtio-blk-device.drive' can't find value 'zz'");
  EXPECT_EQ(parse_error({"-device", "virtio-blk-device"}), "-device virtio-blk-device: drive property not set");
  EXPECT_EQ(parse_error({"-device", "virtio-blk-device,drive=d0,bogus=1"}),
            "-device virtio-blk-device,drive=d0,bogus=1: Property 'virtio-blk-device.bogus' not found");
  EXPECT_EQ(parse_error({"-device", "e1000,drive=d0"}),
            "-device e1000,drive=d0: 'e1000' is not a valid device model name");
  EXPECT_EQ(parse_error({"-blockdev", "driver=raw,file=nn,node-name=x"}),
            "-blockdev driver=raw,file=nn,node-name=x: Cannot find device='nn' nor node-name='nn'");
  EXPECT_EQ(parse_error({"-blockdev", "driver=file,filename=/tmp/a.img"}),
            "-blockdev: 'node-name' must be specified for the root node");
  EXPECT_EQ(parse_error({"-blockdev", "driver=file,filename=/tmp/a.img,node-name=f,bogus=1"}),
            "-blockdev: Parameter 'bogus' is unexpected");
  EXPECT_EQ(parse_error({"-blockdev", "driver=qcow9,file=x,node-name=a"}),
            "-blockdev: Parameter 'driver' does not accept value 'qcow9'");
  EXPECT_EQ(parse_error({"-blockdev", "driver=file,filename=/tmp/a.img,node-name=f", "-blockdev",
                         "driver=raw,file=f,node-name=f"}),
            "-blockdev driver=raw,file=f,node-name=f: Duplicate nodes with node-name='f'");
  EXPECT_EQ(parse_error({"-blockdev", "{\"driver\":"}), "-blockdev: invalid JSON object");
}

}  // namespace
}  // namespace godwit
