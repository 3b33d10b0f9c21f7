#include "block/block_setup.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "base/temp_dir_test_util.hpp"
#include "block/image_lock.hpp"

namespace godwit {
namespace {

class BlockSetupTest : public ::testing::Test {
 protected:
  void SetUp() override { std::ofstream(path_) << std::string(65536, 'x'); }

  // What "-drive file=PATH,format=raw,if=none,id=d0 -device
  // virtio-blk-device,drive=d0" reads into.
  BlockConfig drive_with_device(bool read_only = false) {
    BlockConfig config;
    const std::string origin = "-drive file=" + path_ + ",format=raw,if=none,id=d0";
    config.nodes.push_back({.driver = BlockNodeConfig::Driver::kFile,
                            .node_name = "#d0-file",
                            .read_only = read_only,
                            .filename = path_,
                            .origin = origin});
    config.nodes.push_back({.driver = BlockNodeConfig::Driver::kRaw,
                            .node_name = "#d0-raw",
                            .read_only = read_only,
                            .file_node = "#d0-file",
                            .origin = origin});
    config.drives.push_back({.id = "d0", .node_name = "#d0-raw", .origin = origin});
    config.devices.push_back({.drive = "d0", .serial = "s0", .origin = "-device virtio-blk-device,drive=d0"});
    return config;
  }

  testing::TempDir dir_;
  std::string path_ = dir_ / "disk.img";
  IoWorkerPool workers_{1};
};

TEST_F(BlockSetupTest, OpensEachFileNodeAndLocksForItsDevice) {
  auto images = BlockImages::open(drive_with_device(), workers_, /*inactive=*/false);
  ASSERT_TRUE(images) << images.error().message();
  ASSERT_EQ(images->disks().size(), 1u);
  const auto& disk = images->disks()[0];
  EXPECT_EQ(disk.plan.device.serial, "s0");
  EXPECT_EQ(disk.image->size_bytes(), 65536u);
  EXPECT_EQ(disk.image->permissions(), disk_device_permissions(false, false));
}

TEST_F(BlockSetupTest, MissingFileNamesTheOptionAsQemu) {
  BlockConfig config = drive_with_device();
  config.nodes[0].filename = dir_ / "nope.img";
  auto images = BlockImages::open(config, workers_, false);
  ASSERT_FALSE(images);
  EXPECT_EQ(images.error().message(),
            config.nodes[0].origin + ": Could not open '" + dir_ / "nope.img" + "': No such file or directory");
}

TEST_F(BlockSetupTest, LockConflictIsReportedAtTheDevice) {
  auto first = BlockImages::open(drive_with_device(), workers_, false);
  ASSERT_TRUE(first);
  auto second = BlockImages::open(drive_with_device(), workers_, false);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().message(),
            "-device virtio-blk-device,drive=d0: Failed to get \"write\" lock\n"
            "Is another process using the image [" +
                path_ + "]?");
  // Read-only users are kept out too, as by QEMU: the writer shares no write.
  auto reader = BlockImages::open(drive_with_device(true), workers_, false);
  ASSERT_FALSE(reader);
  EXPECT_NE(reader.error().message().find("Failed to get shared \"write\" lock"), std::string::npos);
}

TEST_F(BlockSetupTest, AnIncomingSideLocksOnlyWhenActivated) {
  auto source = BlockImages::open(drive_with_device(), workers_, false);
  ASSERT_TRUE(source);
  auto destination = BlockImages::open(drive_with_device(), workers_, /*inactive=*/true);
  ASSERT_TRUE(destination) << destination.error().message();
  EXPECT_FALSE(destination->activate_all());
  ASSERT_TRUE(source->inactivate_all());
  EXPECT_TRUE(destination->activate_all());
  EXPECT_TRUE(destination->disks()[0].image->active());
}

TEST_F(BlockSetupTest, UnusedDrivesAreOpenedButLockNothing) {
  BlockConfig config = drive_with_device();
  config.devices.clear();
  auto images = BlockImages::open(config, workers_, false);
  ASSERT_TRUE(images);
  EXPECT_EQ(images->images().size(), 1u);
  EXPECT_TRUE(BlockImages::open(drive_with_device(), workers_, false));
}

}  // namespace
}  // namespace godwit
