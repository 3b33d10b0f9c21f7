#include "block/block_setup.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

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

// cpr-transfer and cpr-exec: the new side builds on the old side's
// descriptor (the same open file description), never on a second open of
// the file, so the image stays locked throughout and needs no path.
TEST_F(BlockSetupTest, AHandedOverDescriptorIsAdoptedWithItsLocks) {
  auto old_side = BlockImages::open(drive_with_device(), workers_, false);
  ASSERT_TRUE(old_side);
  const auto handed = old_side->handover_fds();
  ASSERT_EQ(handed.size(), 1u);
  EXPECT_EQ(handed[0].node_name, "#d0-file");
  const int sent = dup(handed[0].fd);  // what SCM_RIGHTS or exec would give
  ASSERT_GE(sent, 0);

  ASSERT_EQ(::unlink(path_.c_str()), 0);  // only the descriptor leads to it now
  std::vector<std::string> asked;
  auto new_side = BlockImages::open(drive_with_device(), workers_, /*inactive=*/true, [&](const std::string& node) {
    asked.push_back(node);
    return node == "#d0-file" ? sent : -1;
  });
  ASSERT_TRUE(new_side) << new_side.error().message();
  EXPECT_EQ(asked, std::vector<std::string>{"#d0-file"});
  RawImage& adopted = *new_side->disks()[0].image;
  EXPECT_EQ(adopted.fd(), sent);
  EXPECT_FALSE(adopted.active());  // the old side's until the switchover

  // The old side keeps its locks at a CPR switchover; taking them here
  // through the shared description meets no conflict.
  ASSERT_TRUE(new_side->activate_all());
  EXPECT_TRUE(adopted.active());
  old_side->hand_over_all();
  auto again = old_side->activate_all();
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message().find("handed over to the new process"), std::string::npos);
  { BlockImages gone = std::move(*old_side); }  // the old program goes; its close unlocks nothing

  // Another opener of the same file is kept out by the adopted locks.
  const std::string link = "/proc/self/fd/" + std::to_string(sent);
  const int intruder = ::open(link.c_str(), O_RDWR);  // a new description of the same file
  ASSERT_GE(intruder, 0);
  auto taken = lock_byte_taken(intruder, kLockBytePermissionBase + 1);  // bit 1: write
  ASSERT_TRUE(taken);
  EXPECT_TRUE(*taken);
  ::close(intruder);
}

TEST_F(BlockSetupTest, AnAdoptedImageRefusesADescriptorOpenReadOnlyForWriting) {
  const int sent = ::open(path_.c_str(), O_RDONLY);
  ASSERT_GE(sent, 0);
  auto new_side = BlockImages::open(drive_with_device(), workers_, true, [&](const std::string&) { return sent; });
  ASSERT_FALSE(new_side);
  EXPECT_NE(new_side.error().message().find("is open read-only"), std::string::npos);
}

}  // namespace
}  // namespace godwit
