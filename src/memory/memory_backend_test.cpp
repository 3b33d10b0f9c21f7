#include "memory/memory_backend.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "base/temp_dir_test_util.hpp"
#include "memory/address_space.hpp"
#include "memory/guest_memory.hpp"

namespace godwit {
namespace {

using testing::TempDir;

namespace fs = std::filesystem;

// Writes one byte of the backend's memory as guest RAM is written: mapped
// into an address space, through GuestMemory.
void poke(MemoryBackend& backend, uint64_t offset, uint8_t value) {
  AddressSpace memory;
  ASSERT_TRUE(memory.map_ram(0, backend));
  ASSERT_TRUE(GuestMemory(memory).write(offset, {&value, 1}));
}

MemoryBackendConfig config(MemoryBackendKind kind, uint64_t size, bool share,
                           std::string mem_path = "") {
  MemoryBackendConfig c;
  c.id = "mem0";
  c.kind = kind;
  c.size_bytes = size;
  c.share = share;
  c.mem_path = std::move(mem_path);
  return c;
}

TEST(MemoryBackend, RamIsAnonymousZeroedAndWritable) {
  auto backend = MemoryBackend::create(config(MemoryBackendKind::kRam, 1 << 20, false));
  ASSERT_TRUE(backend.has_value()) << backend.error().message();
  auto& ram = **backend;
  EXPECT_EQ(ram.id(), "mem0");
  EXPECT_EQ(ram.kind(), MemoryBackendKind::kRam);
  EXPECT_EQ(ram.size_bytes(), 1u << 20);
  EXPECT_EQ(ram.host().size(), 1u << 20);
  EXPECT_EQ(ram.fd(), -1);
  EXPECT_FALSE(ram.shared());
  EXPECT_EQ(ram.host()[12345], 0);
  poke(ram, 12345, 0x5a);
  poke(ram, (1 << 20) - 1, 0xa5);
  EXPECT_EQ(ram.host()[12345], 0x5a);
}

TEST(MemoryBackend, RamShareOnLivesInAMemfdThatCprCanHandOver) {
  auto backend = MemoryBackend::create(config(MemoryBackendKind::kRam, 1 << 16, true));
  ASSERT_TRUE(backend.has_value()) << backend.error().message();
  EXPECT_TRUE((*backend)->shared());
  EXPECT_GE((*backend)->fd(), 0);
}

TEST(MemoryBackend, AdoptedMemoryIsTheSamePages) {
  auto first = MemoryBackend::create(config(MemoryBackendKind::kMemfd, 1 << 16, true));
  ASSERT_TRUE(first.has_value()) << first.error().message();
  poke(**first, 4096, 0x5a);
  auto second = MemoryBackend::adopt(config(MemoryBackendKind::kMemfd, 1 << 16, true), dup((*first)->fd()));
  ASSERT_TRUE(second.has_value()) << second.error().message();
  EXPECT_NE((*second)->host().data(), (*first)->host().data());  // a new mapping
  EXPECT_EQ((*second)->host()[4096], 0x5a);                     // of the same memory
  poke(**second, 8192, 0xa5);
  EXPECT_EQ((*first)->host()[8192], 0xa5);
}

TEST(MemoryBackend, AdoptingNeedsShareOnAndEnoughMemory) {
  auto first = MemoryBackend::create(config(MemoryBackendKind::kMemfd, 1 << 16, true));
  ASSERT_TRUE(first.has_value()) << first.error().message();
  auto unshared = MemoryBackend::adopt(config(MemoryBackendKind::kMemfd, 1 << 16, false), dup((*first)->fd()));
  ASSERT_FALSE(unshared.has_value());
  EXPECT_NE(unshared.error().message().find("share=on"), std::string::npos) << unshared.error().message();
  auto larger = MemoryBackend::adopt(config(MemoryBackendKind::kMemfd, 1 << 20, true), dup((*first)->fd()));
  ASSERT_FALSE(larger.has_value());
  EXPECT_NE(larger.error().message().find("holds 65536 bytes"), std::string::npos) << larger.error().message();
}

TEST(MemoryBackend, SizeNotAPageMultipleIsAccepted) {
  auto backend = MemoryBackend::create(config(MemoryBackendKind::kRam, 1000, false));
  ASSERT_TRUE(backend.has_value()) << backend.error().message();
  EXPECT_EQ((*backend)->size_bytes(), 1000u);
  poke(**backend, 999, 1);
}

TEST(MemoryBackend, ZeroSizeIsAnError) {
  auto backend = MemoryBackend::create(config(MemoryBackendKind::kRam, 0, false));
  ASSERT_FALSE(backend.has_value());
  EXPECT_EQ(backend.error().message(), "memory-backend-ram 'mem0': size must be greater than zero");
}

TEST(MemoryBackend, MemfdSharedWritesReachTheFd) {
  auto backend = MemoryBackend::create(config(MemoryBackendKind::kMemfd, 1 << 16, true));
  ASSERT_TRUE(backend.has_value()) << backend.error().message();
  auto& mem = **backend;
  ASSERT_GE(mem.fd(), 0);
  EXPECT_TRUE(mem.shared());
  struct stat st {};
  ASSERT_EQ(fstat(mem.fd(), &st), 0);
  EXPECT_EQ(st.st_size, 1 << 16);
  poke(mem, 100, 0x42);
  uint8_t byte = 0;
  ASSERT_EQ(pread(mem.fd(), &byte, 1, 100), 1);
  EXPECT_EQ(byte, 0x42);
}

TEST(MemoryBackend, MemfdPrivateWritesStayInTheMapping) {
  auto backend = MemoryBackend::create(config(MemoryBackendKind::kMemfd, 1 << 16, false));
  ASSERT_TRUE(backend.has_value()) << backend.error().message();
  auto& mem = **backend;
  EXPECT_FALSE(mem.shared());
  poke(mem, 100, 0x42);
  uint8_t byte = 0xff;
  ASSERT_EQ(pread(mem.fd(), &byte, 1, 100), 1);
  EXPECT_EQ(byte, 0);
}

TEST(MemoryBackend, FileShareOnIsVisibleThroughASecondMapping) {
  TempDir dir;
  const std::string path = dir.path() + "/ram.img";
  auto backend = MemoryBackend::create(config(MemoryBackendKind::kFile, 1 << 16, true, path));
  ASSERT_TRUE(backend.has_value()) << backend.error().message();
  auto& mem = **backend;
  EXPECT_EQ(mem.mem_path(), path);
  EXPECT_TRUE(mem.shared());
  EXPECT_EQ(fs::file_size(path), 1u << 16);

  const int fd = open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  void* other = mmap(nullptr, 1 << 16, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(other, MAP_FAILED);
  auto* bytes = static_cast<uint8_t*>(other);
  poke(mem, 4096, 0x77);
  EXPECT_EQ(bytes[4096], 0x77);
  bytes[8] = 0x99;  // and the other way round
  EXPECT_EQ(mem.host()[8], 0x99);
  munmap(other, 1 << 16);
  close(fd);
}

TEST(MemoryBackend, FileShareOffDoesNotWriteTheFile) {
  TempDir dir;
  const std::string path = dir.path() + "/ram.img";
  auto backend = MemoryBackend::create(config(MemoryBackendKind::kFile, 1 << 16, false, path));
  ASSERT_TRUE(backend.has_value()) << backend.error().message();
  poke(**backend, 0, 0x11);
  uint8_t byte = 0xff;
  const int fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pread(fd, &byte, 1, 0), 1);
  EXPECT_EQ(byte, 0);
  close(fd);
}

TEST(MemoryBackend, FileLargerThanSizeIsUsedAndNotShrunk) {
  TempDir dir;
  const std::string path = dir.path() + "/big.img";
  { std::ofstream(path) << "keep"; }
  fs::resize_file(path, 1 << 17);
  auto backend = MemoryBackend::create(config(MemoryBackendKind::kFile, 1 << 16, true, path));
  ASSERT_TRUE(backend.has_value()) << backend.error().message();
  EXPECT_EQ((*backend)->size_bytes(), 1u << 16);
  EXPECT_EQ((*backend)->host()[0], 'k');  // existing contents are guest RAM
  backend->reset();
  EXPECT_EQ(fs::file_size(path), 1u << 17);
}

TEST(MemoryBackend, NewFileFailingLaterIsRemoved) {
  TempDir dir;
  const std::string path = dir.path() + "/new.img";
  // Too large for mmap() on any host (beyond a 47-bit address space) but
  // accepted by ftruncate on tmpfs and ext4: the mapping fails after the
  // file was created.
  auto backend =
      MemoryBackend::create(config(MemoryBackendKind::kFile, uint64_t{1} << 50, true, path));
  if (backend.has_value()) GTEST_SKIP() << "this host maps 1 PiB";
  EXPECT_NE(backend.error().message().find("memory-backend-file 'mem0': mem-path " + path),
            std::string::npos)
      << backend.error().message();
  EXPECT_FALSE(fs::exists(path));
}

TEST(MemoryBackend, DirectoryGetsAnUnlinkedTemporaryFile) {
  TempDir dir;
  auto backend = MemoryBackend::create(config(MemoryBackendKind::kFile, 1 << 16, true, dir.path()));
  ASSERT_TRUE(backend.has_value()) << backend.error().message();
  EXPECT_GE((*backend)->fd(), 0);
  EXPECT_EQ((*backend)->mem_path(), dir.path());
  EXPECT_TRUE(fs::is_empty(dir.path()));
  struct stat st {};
  ASSERT_EQ(fstat((*backend)->fd(), &st), 0);
  EXPECT_EQ(st.st_size, 1 << 16);
}

TEST(MemoryBackend, ShorterNonEmptyFileIsAnErrorAndKept) {
  TempDir dir;
  const std::string path = dir.path() + "/small.img";
  { std::ofstream(path) << "data"; }
  auto backend = MemoryBackend::create(config(MemoryBackendKind::kFile, 1 << 16, true, path));
  ASSERT_FALSE(backend.has_value());
  EXPECT_EQ(backend.error().message(), "memory-backend-file 'mem0': mem-path " + path +
                                           ": file size 4 is smaller than size 65536");
  EXPECT_EQ(fs::file_size(path), 4u);
}

TEST(MemoryBackend, MissingDirectoryNamesPathAndErrno) {
  TempDir dir;
  const std::string path = dir.path() + "/no/such/ram.img";
  auto backend = MemoryBackend::create(config(MemoryBackendKind::kFile, 1 << 16, true, path));
  ASSERT_FALSE(backend.has_value());
  EXPECT_EQ(backend.error().message(),
            "memory-backend-file 'mem0': mem-path " + path + ": No such file or directory");
}

TEST(MemoryBackend, FileWithoutMemPathIsAnError) {
  auto backend = MemoryBackend::create(config(MemoryBackendKind::kFile, 1 << 16, true));
  ASSERT_FALSE(backend.has_value());
  EXPECT_EQ(backend.error().message(), "memory-backend-file 'mem0': mem-path is required");
}

TEST(MemoryBackend, UnwritableFileNamesPathAndErrno) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores file permissions";
  TempDir dir;
  const std::string path = dir.path() + "/ro.img";
  { std::ofstream(path) << "data"; }
  fs::permissions(path, fs::perms::owner_read);
  auto backend = MemoryBackend::create(config(MemoryBackendKind::kFile, 4, true, path));
  ASSERT_FALSE(backend.has_value());
  EXPECT_EQ(backend.error().message(),
            "memory-backend-file 'mem0': mem-path " + path + ": Permission denied");
}

}  // namespace
}  // namespace godwit
