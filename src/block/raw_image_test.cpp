#include "block/raw_image.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <future>
#include <numeric>

#include "base/temp_dir_test_util.hpp"
#include "block/image_lock.hpp"

namespace godwit {
namespace {

constexpr uint64_t kImageBytes = 1 << 20;
constexpr BlockPermissions kWriter = disk_device_permissions(false, false);

// Waits for one request's completion and hands back its outcome.
class Waiter {
 public:
  RawImage::Completion completion() {
    return [this](Status status) { promise_.set_value(std::move(status)); };
  }
  Status get() { return promise_.get_future().get(); }

 private:
  std::promise<Status> promise_;
};

class RawImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<char> bytes(kImageBytes);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7 + 1);
    std::ofstream(path_, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  std::unique_ptr<RawImage> open(RawImageOptions options = {}) {
    auto image = RawImage::open(path_, options, workers_);
    EXPECT_TRUE(image) << (image ? "" : image.error().message());
    return image ? std::move(*image) : nullptr;
  }

  Status read(RawImage& image, uint64_t offset, std::span<uint8_t> out) {
    const std::span<uint8_t> segments[] = {out};
    Waiter waiter;
    image.read(offset, segments, waiter.completion());
    return waiter.get();
  }
  Status write(RawImage& image, uint64_t offset, std::span<const uint8_t> in) {
    const std::span<const uint8_t> segments[] = {in};
    Waiter waiter;
    image.write(offset, segments, waiter.completion());
    return waiter.get();
  }
  std::vector<uint8_t> file_bytes(uint64_t offset, size_t size) {
    std::vector<uint8_t> bytes(size);
    std::ifstream file(path_, std::ios::binary);
    file.seekg(static_cast<std::streamoff>(offset));
    file.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
    return bytes;
  }
  uint64_t allocated_bytes() {
    struct stat info = {};
    ::stat(path_.c_str(), &info);
    return static_cast<uint64_t>(info.st_blocks) * 512;
  }

  testing::TempDir dir_;
  std::string path_ = dir_ / "disk.img";
  IoWorkerPool workers_{2};
};

TEST_F(RawImageTest, OpenReportsSizeAndMissingFileInQemusWords) {
  auto image = open();
  ASSERT_TRUE(image);
  EXPECT_EQ(image->size_bytes(), kImageBytes);
  auto missing = RawImage::open(dir_ / "nope.img", {}, workers_);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(), "Could not open '" + dir_ / "nope.img" + "': No such file or directory");
  auto directory = RawImage::open(dir_.path(), {.read_only = true}, workers_);
  ASSERT_FALSE(directory);
  EXPECT_NE(directory.error().message().find("not a file or block device"), std::string::npos);
}

TEST_F(RawImageTest, VectoredReadGathersIntoSegments) {
  auto image = open();
  std::vector<uint8_t> a(100), b(3000), c(996);
  const std::span<uint8_t> segments[] = {a, b, c};
  Waiter waiter;
  image->read(512, segments, waiter.completion());
  ASSERT_TRUE(waiter.get());
  std::vector<uint8_t> joined;
  for (auto* part : {&a, &b, &c}) joined.insert(joined.end(), part->begin(), part->end());
  EXPECT_EQ(joined, file_bytes(512, 4096));
}

TEST_F(RawImageTest, VectoredWriteScattersFromSegments) {
  auto image = open();
  std::vector<uint8_t> a(512, 0xaa), b(1024, 0xbb);
  const std::span<const uint8_t> segments[] = {a, b};
  Waiter waiter;
  image->write(4096, segments, waiter.completion());
  ASSERT_TRUE(waiter.get());
  std::vector<uint8_t> expected(a);
  expected.insert(expected.end(), b.begin(), b.end());
  EXPECT_EQ(file_bytes(4096, 1536), expected);
}

TEST_F(RawImageTest, CompletionRunsOnAWorkerThread) {
  auto image = open();
  std::promise<std::thread::id> where;
  image->flush([&](Status status) {
    EXPECT_TRUE(status);
    where.set_value(std::this_thread::get_id());
  });
  EXPECT_NE(where.get_future().get(), std::this_thread::get_id());
}

TEST_F(RawImageTest, RequestsPastTheEndFailNamingTheRange) {
  auto image = open();
  std::vector<uint8_t> buffer(1024);
  auto status = read(*image, kImageBytes - 512, buffer);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message(), "reading 1024 bytes at offset " + std::to_string(kImageBytes - 512) + " of '" +
                                          path_ + "': beyond the end of the image (1048576 bytes)");
  EXPECT_FALSE(write(*image, kImageBytes, buffer));
  EXPECT_EQ(image->size_bytes(), kImageBytes);
}

TEST_F(RawImageTest, ReadOnlyImageRefusesWritesDiscardsAndZeroes) {
  auto image = open({.read_only = true});
  std::vector<uint8_t> buffer(512, 1);
  auto status = write(*image, 0, buffer);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message(), "writing '" + path_ + "': the image is read-only");
  Waiter discard, zeroes;
  image->discard(0, 4096, discard.completion());
  EXPECT_FALSE(discard.get());
  image->write_zeroes(0, 4096, false, zeroes.completion());
  EXPECT_FALSE(zeroes.get());
  EXPECT_TRUE(read(*image, 0, buffer));
  EXPECT_EQ(file_bytes(0, 1)[0], 1);  // untouched: byte 0 was written as 0*7+1
}

TEST_F(RawImageTest, DiscardUnmapPunchesAHoleAndIgnoreDoesNot) {
  {
    auto image = open({.discard = DiscardMode::kIgnore});
    const uint64_t before = allocated_bytes();
    Waiter waiter;
    image->discard(0, 65536, waiter.completion());
    ASSERT_TRUE(waiter.get());
    EXPECT_EQ(allocated_bytes(), before);
    EXPECT_EQ(file_bytes(0, 1)[0], 1);
  }
  auto image = open({.discard = DiscardMode::kUnmap});
  const uint64_t before = allocated_bytes();
  Waiter waiter;
  image->discard(0, 65536, waiter.completion());
  ASSERT_TRUE(waiter.get());
  EXPECT_EQ(allocated_bytes(), before - 65536);
  EXPECT_EQ(file_bytes(0, 65536), std::vector<uint8_t>(65536, 0));
  EXPECT_EQ(image->size_bytes(), kImageBytes);
}

TEST_F(RawImageTest, WriteZeroesZeroesExactlyTheRange) {
  for (bool may_unmap : {false, true}) {
    SetUp();
    auto image = open({.discard = DiscardMode::kUnmap});
    const auto around = file_bytes(0, 8192);
    Waiter waiter;
    image->write_zeroes(1000, 5000, may_unmap, waiter.completion());
    ASSERT_TRUE(waiter.get());
    auto expected = around;
    std::fill(expected.begin() + 1000, expected.begin() + 6000, 0);
    EXPECT_EQ(file_bytes(0, 8192), expected) << "may_unmap=" << may_unmap;
  }
}

TEST_F(RawImageTest, WritethroughWritesStillLand) {
  auto image = open({.cache = {.write_cache = false}});
  std::vector<uint8_t> data(4096, 0x5a);
  ASSERT_TRUE(write(*image, 0, data));
  EXPECT_EQ(file_bytes(0, 4096), data);
}

TEST_F(RawImageTest, CacheNoneUsesODirectAndBouncesUnalignedRequests) {
  auto opened = RawImage::open(path_, {.cache = {.direct = true}}, workers_);
  if (!opened && opened.error().message().find("Invalid argument") != std::string::npos) {
    GTEST_SKIP() << "the file system of " << path_ << " has no O_DIRECT";
  }
  ASSERT_TRUE(opened) << opened.error().message();
  auto& image = *opened;
  EXPECT_NE(fcntl(image->fd(), F_GETFL) & O_DIRECT, 0);
  // Aligned memory and offset: straight through.
  void* raw = aligned_alloc(4096, 8192);
  std::span<uint8_t> aligned(static_cast<uint8_t*>(raw), 8192);
  ASSERT_TRUE(read(*image, 4096, aligned));
  EXPECT_TRUE(std::equal(aligned.begin(), aligned.end(), file_bytes(4096, 8192).begin()));
  // Unaligned buffer, offset and length: a bounce and a read-modify-write.
  std::vector<uint8_t> odd(777, 0x42);
  ASSERT_TRUE(write(*image, 1001, odd));
  std::vector<uint8_t> back(777);
  ASSERT_TRUE(read(*image, 1001, back));
  EXPECT_EQ(back, odd);
  EXPECT_EQ(file_bytes(1001, 777), odd);
  EXPECT_EQ(file_bytes(1000, 1)[0], static_cast<uint8_t>(1000 * 7 + 1));
  EXPECT_EQ(file_bytes(1778, 1)[0], static_cast<uint8_t>(1778 * 7 + 1));
  free(raw);
}

TEST_F(RawImageTest, CacheUnsafeFlushesSucceedWithoutSyncing) {
  auto image = open({.cache = {.no_flush = true}});
  Waiter waiter;
  image->flush(waiter.completion());
  EXPECT_TRUE(waiter.get());
}

TEST_F(RawImageTest, DrainWaitsForEveryRequest) {
  auto image = open();
  std::atomic<int> completed = 0;
  std::vector<std::vector<uint8_t>> buffers(64, std::vector<uint8_t>(4096));
  for (size_t i = 0; i < buffers.size(); ++i) {
    const std::span<uint8_t> segments[] = {buffers[i]};
    image->read(i * 4096, segments, [&](Status status) {
      EXPECT_TRUE(status);
      ++completed;
    });
  }
  image->drain();
  EXPECT_EQ(completed.load(), 64);
  EXPECT_EQ(image->in_flight(), 0u);
}

TEST_F(RawImageTest, SecondWritableOpenIsRefusedByTheLock) {
  auto first = open();
  ASSERT_TRUE(first->set_permissions(kWriter));
  auto second = open();
  auto status = second->set_permissions(kWriter);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message().find("Failed to get \"write\" lock"), std::string::npos);
  EXPECT_EQ(second->permissions(), kNoPermissions);
  // locking=off takes and checks nothing, as QEMU's.
  auto unlocked = open({.locking = false});
  EXPECT_TRUE(unlocked->set_permissions(kWriter));
}

TEST_F(RawImageTest, InactivateHandsTheImageOverAndActivateTakesItBack) {
  auto source = open();
  ASSERT_TRUE(source->set_permissions(kWriter));
  auto destination = open();
  ASSERT_TRUE(destination->inactivate());  // an incoming side starts inactive
  ASSERT_TRUE(destination->set_permissions(kWriter));
  auto early = destination->activate();
  ASSERT_FALSE(early);
  EXPECT_NE(early.error().message().find("Is another process using the image"), std::string::npos);
  EXPECT_FALSE(destination->active());

  ASSERT_TRUE(source->inactivate());  // switchover
  ASSERT_TRUE(destination->activate());
  EXPECT_TRUE(destination->active());
  EXPECT_FALSE(source->activate());  // the source cannot take it back now
}

TEST_F(RawImageTest, AdoptedDescriptorKeepsItsLocks) {
  auto original = open();
  ASSERT_TRUE(original->set_permissions(kWriter));
  // cpr-transfer sends the descriptor, cpr-exec keeps it: both share the
  // open file description, which is what holds the locks.
  const int handed = dup(original->fd());
  ASSERT_GE(handed, 0);
  auto adopted = RawImage::adopt(handed, path_, {}, workers_);
  ASSERT_TRUE(adopted) << adopted.error().message();
  original.reset();  // the old owner goes; its close unlocks nothing

  auto intruder = open();
  EXPECT_FALSE(intruder->set_permissions(kWriter));
  ASSERT_TRUE((*adopted)->set_permissions(kWriter));  // its own locks: no conflict
  std::vector<uint8_t> data(512, 9);
  EXPECT_TRUE(write(**adopted, 0, data));

  adopted->reset();  // the last descriptor closes: the locks go
  EXPECT_TRUE(intruder->set_permissions(kWriter));
}

TEST_F(RawImageTest, AdoptRefusesAReadOnlyDescriptorForWriting) {
  const int fd = ::open(path_.c_str(), O_RDONLY);
  auto adopted = RawImage::adopt(fd, path_, {}, workers_);
  ASSERT_FALSE(adopted);
  EXPECT_EQ(adopted.error().message(), "descriptor " + std::to_string(fd) + " of '" + path_ + "' is open read-only");
  EXPECT_EQ(fcntl(fd, F_GETFD), -1);  // closed: it was handed over
}

}  // namespace
}  // namespace godwit
