#include "base/mapped_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "base/temp_dir_test_util.hpp"

namespace godwit {
namespace {

TEST(MappedFile, MapsTheWholeFileReadOnly) {
  testing::TempDir dir;
  std::ofstream(dir / "f") << "mapped bytes";
  auto file = MappedFile::open(dir / "f");
  ASSERT_TRUE(file) << file.error().message();
  const auto bytes = (*file)->bytes();
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "mapped bytes");
  EXPECT_TRUE((*file)->check_size());
}

TEST(MappedFile, ErrorsNameTheFile) {
  testing::TempDir dir;
  auto missing = MappedFile::open(dir / "missing");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(), "could not open '" + dir / "missing" + "': No such file or directory");
  std::ofstream(dir / "empty");
  auto empty = MappedFile::open(dir / "empty");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message(), "'" + dir / "empty" + "' is empty");
  std::ofstream(dir / "big") << "0123456789";
  auto big = MappedFile::open(dir / "big", 4);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().message(), "'" + dir / "big" + "' is 10 bytes, more than 4");
  auto device = MappedFile::open("/dev/null");
  ASSERT_FALSE(device);
  EXPECT_EQ(device.error().message(), "'/dev/null' is not a regular file");
}

TEST(MappedFile, ASizeCheckCatchesAFileThatShrank) {
  testing::TempDir dir;
  std::ofstream(dir / "f") << std::string(8192, 'k');
  auto file = MappedFile::open(dir / "f");
  ASSERT_TRUE(file);
  ASSERT_EQ(::truncate((dir / "f").c_str(), 100), 0);
  auto check = (*file)->check_size();
  ASSERT_FALSE(check);
  EXPECT_EQ(check.error().message(), "'" + dir / "f" + "' shrank from 8192 to 100 bytes since godwit mapped it");
}

}  // namespace
}  // namespace godwit
