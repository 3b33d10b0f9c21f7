// The `virt` board: owns guest RAM, the harts and their threads, the devices,
// the character backends and the I/O loop, and runs the machine's life cycle
// (start, pause, resume, reset, power-off) on the main thread.
//
// Threads: create(), start(), pause(), resume(), reset() and
// run_until_exit() belong to the main thread. request_*() may be called from
// any thread (devices on hart threads, signal handlers' thread, the I/O loop):
// they queue a request that the main thread serves, because a hart cannot
// pause the harts itself.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/error.hpp"
#include "chardev/char_backend.hpp"
#include "cpu/hart.hpp"
#include "cpu/hart_control.hpp"
#include "devices/clint.hpp"
#include "devices/goldfish_rtc.hpp"
#include "devices/plic.hpp"
#include "devices/power_control.hpp"
#include "devices/sifive_test_device.hpp"
#include "devices/uart16550.hpp"
#include "devices/virtio_mmio.hpp"
#include "io/io_loop.hpp"
#include "machine/elf_loader.hpp"
#include "machine/guest_clock.hpp"
#include "machine/htif.hpp"
#include "machine/machine_config.hpp"
#include "machine/run_state.hpp"
#include "memory/address_space.hpp"
#include "memory/memory_backend.hpp"

namespace godwit {

class VirtMachine final : public PowerControl {
 public:
  // Builds everything (RAM, devices, chardevs, kernel, device tree) without
  // running any guest code. Fails with one line naming what was wrong.
  static Result<std::unique_ptr<VirtMachine>> create(const MachineConfig& config);
  ~VirtMachine() override;

  VirtMachine(const VirtMachine&) = delete;
  VirtMachine& operator=(const VirtMachine&) = delete;

  // Starts the hart threads and the I/O loop; the guest runs unless -S.
  void start();
  // Serves requests until the machine should exit; returns the exit status.
  int run_until_exit();

  // Stops every hart and guest time (returns once all harts are parked).
  void pause();
  void resume();
  // QEMU's system_reset: devices and harts to reset state, ROM and kernel reloaded.
  void reset();

  // Any thread.
  void request_poweroff(int exit_code) override;
  void request_reset() override;
  void request_quit(int exit_code);

  RunState run_state() const;
  const MachineConfig& config() const { return config_; }
  AddressSpace& memory() { return memory_; }
  GuestClock& clock() { return clock_; }
  unsigned hart_count() const { return static_cast<unsigned>(harts_.size()); }
  Hart& hart(unsigned index) { return *harts_[index]; }
  const std::vector<uint8_t>& device_tree() const { return device_tree_; }

 private:
  struct Request {
    enum class Kind { kPoweroff, kReset, kQuit } kind;
    int exit_code = 0;
  };

  explicit VirtMachine(const MachineConfig& config) : config_(config) {}

  Status build();
  Status create_chardevs();
  Status create_ram();
  Status create_devices();
  Status load_images();
  void post(Request request);
  void stop_harts();

  MachineConfig config_;
  GuestClock clock_;
  IoLoop io_loop_;
  std::vector<std::unique_ptr<CharBackend>> chardevs_;
  std::vector<std::unique_ptr<MemoryBackend>> memory_backends_;
  MemoryBackend* ram_ = nullptr;
  AddressSpace memory_;

  std::vector<std::unique_ptr<HartControl>> controls_;
  std::vector<std::unique_ptr<Hart>> harts_;
  std::vector<std::thread> hart_threads_;

  std::unique_ptr<Plic> plic_;
  std::unique_ptr<Clint> clint_;
  std::unique_ptr<Uart16550> uart_;
  std::unique_ptr<GoldfishRtc> rtc_;
  std::unique_ptr<SifiveTest> test_device_;
  std::vector<std::unique_ptr<VirtioMmio>> virtio_;

  std::vector<uint8_t> kernel_image_;
  LoadedKernel kernel_;
  std::vector<uint8_t> device_tree_;
  uint64_t device_tree_address_ = 0;
  std::optional<Htif> htif_;

  mutable std::mutex mutex_;
  std::condition_variable requests_changed_;
  std::deque<Request> requests_;
  RunState run_state_ = RunState::kPrelaunch;
};

}  // namespace godwit
