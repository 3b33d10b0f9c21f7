#include "machine/virt_machine.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <future>
#include <thread>

#include "machine/spin_machine_test_util.hpp"

namespace godwit {
namespace {

using namespace std::chrono_literals;

using testing::spin_config;

class VirtMachineTest : public ::testing::Test {
 protected:
  testing::SpinKernel kernel_;
};

TEST_F(VirtMachineTest, PrelaunchRunningPausedWithGuestTimeStandingStill) {
  auto machine = VirtMachine::create(spin_config(kernel_));
  ASSERT_TRUE(machine) << machine.error().message();
  VirtMachine& vm = **machine;
  vm.start();
  EXPECT_EQ(vm.run_state(), RunState::kPrelaunch);
  EXPECT_EQ(vm.clock().ns(), 0u);
  EXPECT_EQ(vm.hart(0).state().pc, 0x1000u);  // nothing ran

  vm.resume();
  EXPECT_EQ(vm.run_state(), RunState::kRunning);
  std::this_thread::sleep_for(20ms);
  vm.pause();
  EXPECT_EQ(vm.run_state(), RunState::kPaused);
  const uint64_t stopped_ns = vm.clock().ns();
  const uint64_t counter = vm.hart(0).state().x[15];
  EXPECT_GT(counter, 0u);               // the guest ran
  EXPECT_EQ(vm.hart(1).state().x[10], 1u);  // a0 = hart id from the boot ROM
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(vm.clock().ns(), stopped_ns);
  EXPECT_EQ(vm.hart(0).state().x[15], counter);  // harts really stopped

  vm.resume();
  std::this_thread::sleep_for(5ms);
  vm.pause();
  EXPECT_GT(vm.hart(0).state().x[15], counter);
}

TEST_F(VirtMachineTest, ResetReturnsHartsToTheBootRom) {
  auto machine = VirtMachine::create(spin_config(kernel_));
  ASSERT_TRUE(machine);
  VirtMachine& vm = **machine;
  vm.start();
  vm.resume();
  std::this_thread::sleep_for(10ms);
  vm.pause();
  vm.system_reset(ShutdownCause::kHostQmpSystemReset);
  EXPECT_EQ(vm.run_state(), RunState::kPrelaunch);  // QEMU: a VM not running comes back in prelaunch
  EXPECT_EQ(vm.hart(0).state().pc, 0x1000u);
  EXPECT_EQ(vm.hart(0).state().x[15], 0u);
}

TEST_F(VirtMachineTest, PoweroffRequestFromAnotherThreadEndsTheRunWithItsStatus) {
  auto machine = VirtMachine::create(spin_config(kernel_));
  ASSERT_TRUE(machine);
  VirtMachine& vm = **machine;
  vm.start();
  vm.resume();
  auto result = std::async(std::launch::async, [&] { return vm.run_until_exit(); });
  std::thread([&] { vm.request_poweroff(5); }).join();
  ASSERT_EQ(result.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(result.get(), 5);
  EXPECT_EQ(vm.run_state(), RunState::kShutdown);
}

TEST_F(VirtMachineTest, DeviceTreeIsInRamWhereA1Points) {
  auto machine = VirtMachine::create(spin_config(kernel_));
  ASSERT_TRUE(machine);
  VirtMachine& vm = **machine;
  vm.start();
  // Under load the hart may need more than a moment to get through the ROM.
  for (int tries = 0; tries < 200 && vm.hart(0).state().x[11] == 0; ++tries) {
    vm.resume();
    std::this_thread::sleep_for(5ms);
    vm.pause();
  }
  const uint64_t fdt = vm.hart(0).state().x[11];
  EXPECT_EQ(fdt, 0x80e00000u);  // 16 MiB RAM: last 2 MiB boundary below the end
  std::vector<uint8_t> magic(4);
  ASSERT_TRUE(vm.memory().read_bytes(fdt, magic));
  EXPECT_EQ(magic, (std::vector<uint8_t>{0xd0, 0x0d, 0xfe, 0xed}));
}

TEST(VirtMachineConfig, BadConfigurationsNameTheProblem) {
  MachineConfig config;
  config.smp = 9;
  auto machine = VirtMachine::create(config);
  ASSERT_FALSE(machine);
  EXPECT_NE(machine.error().message().find("9"), std::string::npos);

  config = MachineConfig{};
  config.memory_backend_id = "ghost";
  machine = VirtMachine::create(config);
  ASSERT_FALSE(machine);
  EXPECT_NE(machine.error().message().find("ghost"), std::string::npos);

  config = MachineConfig{};
  config.kernel_path = "/nonexistent/kernel.elf";
  machine = VirtMachine::create(config);
  ASSERT_FALSE(machine);
  EXPECT_NE(machine.error().message().find("/nonexistent/kernel.elf"), std::string::npos);
}

// QEMU's order: the first -device in the highest transport, the next below
// it; the rest stay empty (DeviceID 0) and the tree keeps its eight nodes.
TEST(VirtMachineConfig, VirtioDevicesFillTransportsFromTheTop) {
  MachineConfig config;
  config.devices.push_back({.driver = "virtio-rng-device"});
  config.devices.push_back({.driver = "virtio-serial-device"});
  config.virtio_mmio_force_legacy = false;
  auto machine = VirtMachine::create(config);
  ASSERT_TRUE(machine) << machine.error().message();
  auto id_at = [&](uint64_t base, uint64_t offset) {
    uint64_t value = 0;
    EXPECT_TRUE((*machine)->memory().read(base + offset, 4, value));
    return value;
  };
  EXPECT_EQ(id_at(0x10008000, 8), 4u);  // entropy
  EXPECT_EQ(id_at(0x10007000, 8), 3u);  // console
  EXPECT_EQ(id_at(0x10006000, 8), 0u);
  EXPECT_EQ(id_at(0x10001000, 8), 0u);
  EXPECT_EQ(id_at(0x10008000, 4), 2u);  // force-legacy=false: modern
  EXPECT_EQ(id_at(0x10001000, 4), 2u);
}

}  // namespace
}  // namespace godwit
