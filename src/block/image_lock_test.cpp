// QEMU's lock bytes between two open file descriptions of one image, in
// one process: OFD locks make them conflict as two processes would.
#include "block/image_lock.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "base/temp_dir_test_util.hpp"

namespace godwit {
namespace {

class ImageLockTest : public ::testing::Test {
 protected:
  void SetUp() override { std::ofstream(path_) << std::string(4096, '\0'); }
  int open_image() {
    const int fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    fds_.push_back(fd);
    return fd;
  }
  void TearDown() override {
    for (int fd : fds_) ::close(fd);
  }

  testing::TempDir dir_;
  std::string path_ = dir_ / "disk.img";
  std::vector<int> fds_;
};

constexpr BlockPermissions kWriter = disk_device_permissions(false, false);
constexpr BlockPermissions kReader = disk_device_permissions(true, false);

TEST_F(ImageLockTest, WriterHoldsQemusBytes) {
  const int holder = open_image();
  const int observer = open_image();
  ASSERT_TRUE(change_image_locks(holder, kNoPermissions, kWriter, path_));
  // What QEMU's virtio-blk holds on a writable raw image: uses consistent
  // read (100) and write (101), refuses to share write (201).
  for (int byte : {100, 101, 201}) EXPECT_TRUE(*lock_byte_taken(observer, byte)) << byte;
  for (int byte : {102, 103, 200, 202, 203}) EXPECT_FALSE(*lock_byte_taken(observer, byte)) << byte;
  // A description never sees its own locks.
  EXPECT_FALSE(*lock_byte_taken(holder, 101));
}

TEST_F(ImageLockTest, SecondWriterIsRefusedInQemusWords) {
  const int first = open_image();
  const int second = open_image();
  ASSERT_TRUE(change_image_locks(first, kNoPermissions, kWriter, path_));
  auto status = change_image_locks(second, kNoPermissions, kWriter, path_);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message(),
            "Failed to get \"write\" lock\nIs another process using the image [" + path_ + "]?");
  // The refused opener left nothing behind.
  const int observer = open_image();
  ASSERT_TRUE(change_image_locks(first, kWriter, kNoPermissions, path_));
  for (int byte : {100, 101, 200, 201}) EXPECT_FALSE(*lock_byte_taken(observer, byte)) << byte;
}

TEST_F(ImageLockTest, ReaderAfterWriterIsRefusedAsShared) {
  const int writer = open_image();
  const int reader = open_image();
  ASSERT_TRUE(change_image_locks(writer, kNoPermissions, kWriter, path_));
  auto status = change_image_locks(reader, kNoPermissions, kReader, path_);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message(),
            "Failed to get shared \"write\" lock\nIs another process using the image [" + path_ + "]?");
}

TEST_F(ImageLockTest, ReadersShareAndShareRwWritersShare) {
  const int a = open_image();
  const int b = open_image();
  ASSERT_TRUE(change_image_locks(a, kNoPermissions, kReader, path_));
  EXPECT_TRUE(change_image_locks(b, kNoPermissions, kReader, path_));
  const int c = open_image();
  const int d = open_image();
  const BlockPermissions shared_writer = disk_device_permissions(false, true);
  ASSERT_TRUE(change_image_locks(a, kReader, kNoPermissions, path_));
  ASSERT_TRUE(change_image_locks(b, kReader, kNoPermissions, path_));
  ASSERT_TRUE(change_image_locks(c, kNoPermissions, shared_writer, path_));
  EXPECT_TRUE(change_image_locks(d, kNoPermissions, shared_writer, path_));
}

TEST_F(ImageLockTest, ReleaseLetsAnotherIn) {
  const int first = open_image();
  const int second = open_image();
  ASSERT_TRUE(change_image_locks(first, kNoPermissions, kWriter, path_));
  ASSERT_TRUE(release_image_locks(first));
  EXPECT_TRUE(change_image_locks(second, kNoPermissions, kWriter, path_));
  // And the first, taking them back, is now the one refused.
  EXPECT_FALSE(change_image_locks(first, kNoPermissions, kWriter, path_));
}

TEST_F(ImageLockTest, LocksBelongToTheDescriptionNotTheDescriptor) {
  const int first = open_image();
  ASSERT_TRUE(change_image_locks(first, kNoPermissions, kWriter, path_));
  const int copy = dup(first);
  ASSERT_GE(copy, 0);
  ::close(first);
  fds_.erase(fds_.begin());
  fds_.push_back(copy);
  const int other = open_image();
  EXPECT_FALSE(change_image_locks(other, kNoPermissions, kWriter, path_));
  // Taking the same permissions again through the copy merges with its own.
  EXPECT_TRUE(change_image_locks(copy, kNoPermissions, kWriter, path_));
}

TEST_F(ImageLockTest, AChildProcessSeesTheParentsLock) {
  const int holder = open_image();
  ASSERT_TRUE(change_image_locks(holder, kNoPermissions, kWriter, path_));
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const int fd = ::open(path_.c_str(), O_RDWR);
    const bool refused = !change_image_locks(fd, kNoPermissions, kWriter, path_);
    _exit(refused ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace godwit
