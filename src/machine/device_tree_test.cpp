#include "machine/device_tree.hpp"

#include <gtest/gtest.h>
#include <libfdt.h>

#include <memory>
#include <string>
#include <vector>

#include "devices/fakes_test_util.hpp"
#include "machine/virt_devices.hpp"

namespace godwit {
namespace {

// The virt board's device list for `harts` harts, as the machine builds it.
struct VirtBoard {
  explicit VirtBoard(unsigned harts) : controls(harts) {
    std::vector<HartControl*> wired;
    for (HartControl& control : controls) wired.push_back(&control);
    add_virt_devices(devices, {wired, clock, nullptr, power});
  }
  std::vector<HartControl> controls;
  GuestClock clock;
  testing::FakePowerControl power;
  BoardDevices devices;
};

std::string string_prop(const std::vector<uint8_t>& blob, const char* path, const char* name) {
  const int node = fdt_path_offset(blob.data(), path);
  if (node < 0) return "<no node " + std::string(path) + ">";
  int len = 0;
  const void* value = fdt_getprop(blob.data(), node, name, &len);
  if (value == nullptr) return "<no property>";
  return std::string(static_cast<const char*>(value), static_cast<size_t>(len > 0 ? len - 1 : 0));
}

uint64_t reg_base(const std::vector<uint8_t>& blob, const char* path, uint64_t* size = nullptr) {
  const int node = fdt_path_offset(blob.data(), path);
  int len = 0;
  const auto* cells = static_cast<const fdt32_t*>(fdt_getprop(blob.data(), node, "reg", &len));
  if (cells == nullptr || len != 16) return ~0ull;
  if (size != nullptr) *size = uint64_t{fdt32_to_cpu(cells[2])} << 32 | fdt32_to_cpu(cells[3]);
  return uint64_t{fdt32_to_cpu(cells[0])} << 32 | fdt32_to_cpu(cells[1]);
}

TEST(DeviceTree, DescribesTheVirtBoardAsQemuDoes) {
  VirtBoard board(2);
  DeviceTreeConfig config{0x80000000, 256ull << 20, 2, "console=ttyS0 ws=4", &board.devices};
  auto blob = build_device_tree(config);
  ASSERT_TRUE(blob) << blob.error().message();
  ASSERT_EQ(fdt_check_header(blob->data()), 0);

  EXPECT_EQ(string_prop(*blob, "/", "compatible"), "riscv-virtio");
  EXPECT_EQ(string_prop(*blob, "/chosen", "bootargs"), "console=ttyS0 ws=4");
  EXPECT_EQ(string_prop(*blob, "/chosen", "stdout-path"), "/soc/serial@10000000");
  uint64_t size = 0;
  EXPECT_EQ(reg_base(*blob, "/memory@80000000", &size), 0x80000000u);
  EXPECT_EQ(size, 256ull << 20);
  EXPECT_EQ(reg_base(*blob, "/soc/serial@10000000"), 0x10000000u);
  EXPECT_EQ(string_prop(*blob, "/soc/serial@10000000", "compatible"), "ns16550a");
  EXPECT_EQ(reg_base(*blob, "/soc/clint@2000000"), 0x2000000u);
  EXPECT_EQ(reg_base(*blob, "/soc/plic@c000000"), 0xc000000u);
  EXPECT_EQ(reg_base(*blob, "/soc/rtc@101000"), 0x101000u);
  EXPECT_EQ(string_prop(*blob, "/soc/rtc@101000", "compatible"), "google,goldfish-rtc");
  EXPECT_EQ(reg_base(*blob, "/soc/test@100000"), 0x100000u);
  for (int i = 0; i < 8; ++i) {
    char path[64];
    std::snprintf(path, sizeof path, "/soc/virtio_mmio@%x", 0x10001000 + 0x1000 * i);
    EXPECT_EQ(reg_base(*blob, path), 0x10001000u + 0x1000u * i) << path;
  }
  EXPECT_GE(fdt_path_offset(blob->data(), "/cpus/cpu@0/interrupt-controller"), 0);
  EXPECT_GE(fdt_path_offset(blob->data(), "/cpus/cpu@1"), 0);
  EXPECT_LT(fdt_path_offset(blob->data(), "/cpus/cpu@2"), 0);
  EXPECT_EQ(string_prop(*blob, "/cpus/cpu@1", "riscv,isa"), "rv64imafdc_zicntr_zicsr_zifencei");
  EXPECT_EQ(string_prop(*blob, "/cpus/cpu@1", "mmu-type"), "riscv,sv39");
}

TEST(DeviceTree, PlicContextsAreMachineThenSupervisorPerHart) {
  VirtBoard board(3);
  auto blob = build_device_tree({0x80000000, 128ull << 20, 3, "", &board.devices});
  ASSERT_TRUE(blob);
  const int plic = fdt_path_offset(blob->data(), "/soc/plic@c000000");
  int len = 0;
  const auto* cells = static_cast<const fdt32_t*>(fdt_getprop(blob->data(), plic, "interrupts-extended", &len));
  ASSERT_EQ(len, 3 * 4 * 4);
  for (int hart = 0; hart < 3; ++hart) {
    EXPECT_EQ(fdt32_to_cpu(cells[4 * hart + 1]), 11u);  // M external
    EXPECT_EQ(fdt32_to_cpu(cells[4 * hart + 3]), 9u);   // S external
    const int intc = fdt_node_offset_by_phandle(blob->data(), fdt32_to_cpu(cells[4 * hart]));
    EXPECT_GE(intc, 0);
  }
  EXPECT_EQ(fdt_path_offset(blob->data(), "/chosen") >= 0, true);
  int bootargs_len = 0;
  EXPECT_EQ(fdt_getprop(blob->data(), fdt_path_offset(blob->data(), "/chosen"), "bootargs", &bootargs_len), nullptr);
}

TEST(DeviceTree, AddressFollowsQemu) {
  // 128 MiB at 2 GiB: just under the end of RAM, 2 MiB aligned.
  EXPECT_EQ(device_tree_address(0x80000000, 128ull << 20, 0x2000), 0x87e00000u);
  // RAM beyond 3 GiB: placed below the 3 GiB line.
  EXPECT_EQ(device_tree_address(0x80000000, 4ull << 30, 0x2000), 0xbfe00000u);
}

}  // namespace
}  // namespace godwit
