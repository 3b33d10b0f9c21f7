#include "machine/firmware_search.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/temp_dir_test_util.hpp"

namespace godwit {
namespace {

class FirmwareSearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir / "qemu");
    std::filesystem::create_directories(dir / "opensbi");
    std::filesystem::create_directories(dir / "mine");
    places = {.data_dirs = {dir / "qemu"}, .packaged_default = dir / "opensbi/fw_dynamic.bin"};
  }
  void touch(const std::string& path) { std::ofstream(path) << "x"; }

  testing::TempDir dir;
  FirmwarePlaces places;
};

TEST_F(FirmwareSearchTest, DefaultIsQemusNameInTheDataDirectories) {
  touch(dir / "qemu/opensbi-riscv64-generic-fw_dynamic.bin");
  touch(dir / "opensbi/fw_dynamic.bin");
  EXPECT_EQ(find_firmware("default", {}, places).value(), dir / "qemu/opensbi-riscv64-generic-fw_dynamic.bin");
}

TEST_F(FirmwareSearchTest, DefaultFallsBackToTheOpensbiPackage) {
  touch(dir / "opensbi/fw_dynamic.bin");
  EXPECT_EQ(find_firmware("default", {}, places).value(), dir / "opensbi/fw_dynamic.bin");
}

TEST_F(FirmwareSearchTest, DashLDirectoriesComeFirst) {
  touch(dir / "qemu/opensbi-riscv64-generic-fw_dynamic.bin");
  touch(dir / "mine/opensbi-riscv64-generic-fw_dynamic.bin");
  const std::vector<std::string> user = {dir / "empty", dir / "mine"};
  EXPECT_EQ(find_firmware("default", user, places).value(), dir / "mine/opensbi-riscv64-generic-fw_dynamic.bin");
  touch(dir / "mine/my.bin");
  EXPECT_EQ(find_firmware("my.bin", user, places).value(), dir / "mine/my.bin");
}

TEST_F(FirmwareSearchTest, AFileNameIsAPathFirst) {
  touch(dir / "fw.elf");
  EXPECT_EQ(find_firmware(dir / "fw.elf", {}, places).value(), dir / "fw.elf");
}

TEST_F(FirmwareSearchTest, MissingFirmwareNamesWhatWasTried) {
  auto missing = find_firmware("default", {}, places);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find(dir / "qemu/opensbi-riscv64-generic-fw_dynamic.bin"), std::string::npos);
  EXPECT_NE(missing.error().message().find("-bios none"), std::string::npos) << missing.error().message();
  auto named = find_firmware("nope.bin", {}, places);
  ASSERT_FALSE(named);
  EXPECT_NE(named.error().message().find("could not find firmware 'nope.bin'"), std::string::npos) << named.error().message();
}

}  // namespace
}  // namespace godwit
