#include "virtio/virtio_mmio.hpp"

#include <gtest/gtest.h>

#include "devices/fakes_test_util.hpp"
#include "devices/state_test_util.hpp"
#include "migration/state_section.hpp"

namespace godwit {
namespace {

using testing::FakeInterruptController;

TEST(VirtioMmio, IdentifiesAsALegacyQemuTransportWithNoDevice) {
  VirtioMmio device(IrqLine(nullptr, 1));
  EXPECT_EQ(device.read(0x000, 4), 0x74726976u);  // "virt"
  EXPECT_EQ(device.read(0x004, 4), 1u);           // legacy: QEMU's force-legacy default
  EXPECT_EQ(device.read(0x008, 4), 0u);           // DeviceID 0: nothing attached
  EXPECT_EQ(device.read(0x00c, 4), 0x554d4551u);  // "QEMU"
}

TEST(VirtioMmio, EveryOtherRegisterReadsZero) {
  VirtioMmio device(IrqLine(nullptr, 1));
  for (uint64_t offset = 0x10; offset < VirtioMmio::kWindowBytes; offset += 4) {
    EXPECT_EQ(device.read(offset, 4), 0u) << "offset " << offset;
  }
}

TEST(VirtioMmio, NarrowReadsMatchOffsetExactly) {
  VirtioMmio device(IrqLine(nullptr, 1));
  EXPECT_EQ(device.read(0, 1), 0x76u);  // as QEMU: `xp /bx` at the base gives 0x76
  EXPECT_EQ(device.read(1, 1), 0u);
  EXPECT_EQ(device.read(0, 2), 0x6976u);
  EXPECT_EQ(device.read(0, 8), 0x74726976u);
}

TEST(VirtioMmio, WritesAreIgnored) {
  FakeInterruptController controller;
  VirtioMmio device(IrqLine(&controller, 3));
  device.write(0x070, 4, 0xf);   // Status
  device.write(0x000, 4, 0);     // MagicValue
  device.write(0x050, 4, 0);     // QueueNotify
  EXPECT_EQ(device.read(0x000, 4), 0x74726976u);
  EXPECT_EQ(device.read(0x070, 4), 0u);
  EXPECT_FALSE(controller.level(3));
}

TEST(VirtioMmio, ResetKeepsTheLineLow) {
  FakeInterruptController controller;
  VirtioMmio device(IrqLine(&controller, 8));
  device.reset();
  EXPECT_EQ(controller.calls(), 1);
  EXPECT_FALSE(controller.level(8));
  EXPECT_EQ(device.irq().source(), 8u);
}

// No state: the section is empty, still versioned, and refuses a newer
// sender's state (a future backend's fields come as a subsection).
TEST(VirtioMmio, StateIsEmptyButVersioned) {
  FakeInterruptController controller;
  VirtioMmio device(IrqLine(&controller, 1));
  const auto bytes = godwit::testing::save_bytes(device);
  EXPECT_TRUE(bytes.empty());
  EXPECT_TRUE(godwit::testing::load_bytes(device, bytes));
  EXPECT_EQ(godwit::testing::error_of(godwit::testing::load_bytes(device, bytes, 2)),
            "virtio_mmio: stream version 2 is newer than this godwit's 1");
  std::vector<uint8_t> future = {0x05, 18};
  for (char c : std::string("virtio_mmio/future")) future.push_back(static_cast<uint8_t>(c));
  future.insert(future.end(), {0, 0, 0, 1});
  EXPECT_NE(godwit::testing::error_of(godwit::testing::load_bytes(device, future)).find("unknown subsection"),
            std::string::npos);
  EXPECT_EQ(testing::describe(device),
            (nlohmann::json{{"vmsd_name", "virtio_mmio"}, {"version", 1}, {"fields", nlohmann::json::array()}}));
}

}  // namespace
}  // namespace godwit
