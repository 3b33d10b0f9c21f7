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
  DeviceTreeConfig config{.ram_base = 0x80000000, .ram_size = 256ull << 20, .harts = 2, .devices = &board.devices};
  auto blob = build_device_tree(config);
  ASSERT_TRUE(blob) << blob.error().message();
  ASSERT_EQ(fdt_check_header(blob->data()), 0);

  EXPECT_EQ(string_prop(*blob, "/", "compatible"), "riscv-virtio");
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
  EXPECT_EQ(string_prop(*blob, "/cpus/cpu@1", "riscv,isa"), "rv64imafdc_zicntr_zicsr_zifencei_sstc");
  EXPECT_EQ(string_prop(*blob, "/cpus/cpu@1", "riscv,isa-base"), "rv64i");
  {
    const int cpu = fdt_path_offset(blob->data(), "/cpus/cpu@1");
    int len = 0;
    const auto* list = static_cast<const char*>(fdt_getprop(blob->data(), cpu, "riscv,isa-extensions", &len));
    ASSERT_NE(list, nullptr);
    // The same extensions as riscv,isa, one NUL-terminated string each.
    EXPECT_EQ(std::string(list, static_cast<size_t>(len)),
              std::string("i\0m\0a\0f\0d\0c\0zicntr\0zicsr\0zifencei\0sstc\0", 39));
  }
  EXPECT_EQ(string_prop(*blob, "/cpus/cpu@1", "mmu-type"), "riscv,sv39");
}

TEST(DeviceTree, PlicContextsAreMachineThenSupervisorPerHart) {
  VirtBoard board(3);
  auto blob = build_device_tree({.ram_base = 0x80000000, .ram_size = 128ull << 20, .harts = 3, .devices = &board.devices});
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

TEST(DeviceTree, RngSeedIsWrittenAsGiven) {
  VirtBoard board(1);
  std::vector<uint8_t> seed(32);
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(i * 7);
  auto blob = build_device_tree({.ram_base = 0x80000000, .ram_size = 128ull << 20, .harts = 1, .rng_seed = seed, .devices = &board.devices});
  ASSERT_TRUE(blob);
  int len = 0;
  const void* value = fdt_getprop(blob->data(), fdt_path_offset(blob->data(), "/chosen"), "rng-seed", &len);
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(std::vector<uint8_t>(static_cast<const uint8_t*>(value), static_cast<const uint8_t*>(value) + len), seed);
}

uint32_t u32_prop(const std::vector<uint8_t>& blob, const char* path, const char* name) {
  int len = 0;
  const void* value = fdt_getprop(blob.data(), fdt_path_offset(blob.data(), path), name, &len);
  if (value == nullptr || len != 4) return ~0u;
  return fdt32_to_cpu(*static_cast<const fdt32_t*>(value));
}

TEST(DeviceTree, PhandlesAreNumberedAsQemuNumbersThem) {
  // QEMU 10.0.2 with -smp 2: cpu@1 = 1, its intc 2, cpu@0 = 3, its intc 4,
  // then the PLIC 5 and the test device 6.
  VirtBoard board(2);
  auto blob = build_device_tree({.ram_base = 0x80000000, .ram_size = 256ull << 20, .harts = 2, .devices = &board.devices});
  ASSERT_TRUE(blob);
  EXPECT_EQ(u32_prop(*blob, "/cpus/cpu@1", "phandle"), 1u);
  EXPECT_EQ(u32_prop(*blob, "/cpus/cpu@1/interrupt-controller", "phandle"), 2u);
  EXPECT_EQ(u32_prop(*blob, "/cpus/cpu@0", "phandle"), 3u);
  EXPECT_EQ(u32_prop(*blob, "/cpus/cpu@0/interrupt-controller", "phandle"), 4u);
  EXPECT_EQ(u32_prop(*blob, "/cpus/cpu-map/cluster0/core0", "cpu"), 3u);
  EXPECT_EQ(u32_prop(*blob, "/soc/plic@c000000", "phandle"), 5u);
  EXPECT_EQ(u32_prop(*blob, "/soc/test@100000", "phandle"), 6u);
  EXPECT_EQ(u32_prop(*blob, "/poweroff", "regmap"), 6u);
}

}  // namespace
}  // namespace godwit
