// The `virt` board: owns guest RAM, the harts and their threads, the devices,
// the character backends and the I/O loop, and runs the machine's life cycle
// (start, pause, resume, reset, power-off) on the main thread.
//
// Threads: create(), start(), pause(), resume(), reset(), the monitor-level
// life cycle (cont, stop, system_reset, powerdown, quit) and run_until_exit()
// belong to the main thread. request_*() and run_on_main() may be called from
// any thread (devices on hart threads, signal handlers' thread, the I/O loop):
// they queue a request that the main thread serves, because a hart cannot
// pause the harts itself and the monitor must not wait for them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/error.hpp"
#include "block/block_setup.hpp"
#include "chardev/char_backend.hpp"
#include "cpu/hart.hpp"
#include "cpu/hart_control.hpp"
#include "devices/goldfish_rtc.hpp"
#include "devices/power_control.hpp"
#include "io/fd_store.hpp"
#include "io/io_loop.hpp"
#include "machine/board_devices.hpp"
#include "machine/boot_loader.hpp"
#include "base/guest_clock.hpp"
#include "machine/htif.hpp"
#include "machine/machine_config.hpp"
#include "machine/run_state.hpp"
#include "memory/address_space.hpp"
#include "memory/guest_memory.hpp"
#include "memory/memory_backend.hpp"
#include "machine/virt_migration.hpp"
#include "migration/cpr_state.hpp"
#include "net/announcer.hpp"
#include "net/net_backend.hpp"
#include "migration/migration.hpp"

namespace godwit {

class VirtioNet;

class VirtMachine final : public PowerControl {
 public:
  // Builds everything (RAM, devices, chardevs, kernel, device tree) without
  // running any guest code. Fails with one line naming what was wrong.
  // With `handed_over` (a cpr-transfer's descriptors, read from
  // `cpr_channel` before this), memory backends map the memory the old
  // godwit handed over instead of creating their own.
  static Result<std::unique_ptr<VirtMachine>> create(const MachineConfig& config,
                                                     std::unique_ptr<CprReceiver> cpr_channel = nullptr,
                                                     CprState* handed_over = nullptr);
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

  // The life cycle as QEMU's monitor commands and guest requests move it;
  // each reports its events (STOP, RESUME, SHUTDOWN, RESET, POWERDOWN) to
  // the listener. Main thread.
  // qmp_cont: starts a prelaunch or paused guest; refused in a state that
  // needs a reset ("Resetting the Virtual Machine is required").
  Status cont();
  // qmp_stop: pauses a running guest; in any other state it does nothing.
  void stop();
  // qemu_system_reset: RESET, then a guest that was not running is left in
  // prelaunch (QEMU's main loop rule), a running one keeps running.
  void system_reset(ShutdownCause cause);
  // system_powerdown: virt has no ACPI power button, so, as QEMU, only the
  // POWERDOWN event happens.
  void powerdown();
  // SHUTDOWN, then run_until_exit() returns `exit_code` once the current
  // request is served.
  void quit(ShutdownCause cause, int exit_code = 0);

  // Any thread.
  void request_poweroff(int exit_code) override;
  void request_reset() override;
  void request_quit(int exit_code, ShutdownCause cause = ShutdownCause::kHostSignal);
  // Runs `task` on the main thread from run_until_exit(), in order with the
  // other requests. Tasks still queued when the machine goes are dropped.
  void run_on_main(std::function<void()> task);

  // Set before start(); called on the main thread.
  using EventListener = std::function<void(const MachineEvent&)>;
  void set_event_listener(EventListener listener) { event_listener_ = std::move(listener); }

  RunState run_state() const;
  const MachineConfig& config() const { return config_; }
  AddressSpace& memory() { return memory_; }
  // Guest memory as everything but the harts reads and writes it.
  GuestMemory& guest_memory() { return guest_memory_; }
  GuestClock& clock() { return clock_; }
  unsigned hart_count() const { return static_cast<unsigned>(harts_.size()); }
  Hart& hart(unsigned index) { return *harts_[index]; }
  const std::vector<uint8_t>& device_tree() const { return boot_.device_tree; }
  // The host thread id (gettid) of hart `index`'s thread; 0 before start().
  int hart_thread_id(unsigned index) const { return hart_thread_ids_[index].load(); }
  IoLoop& io_loop() { return io_loop_; }
  FdStore& fd_store() { return fd_store_; }
  const std::vector<std::unique_ptr<CharBackend>>& chardevs() const { return chardevs_; }
  const std::vector<std::unique_ptr<NetBackend>>& netdevs() const { return netdevs_; }
  // QMP netdev_add and netdev_del, on the main thread: a backend no NIC
  // uses (godwit has no NIC hotplug), built as -netdev builds one. Both are
  // refused while a migration runs, which reads the list.
  Status add_netdev(const NetdevConfig& config);
  Status del_netdev(const std::string& id);
  // QMP announce-self: every NIC sends RARPs of its MAC on that schedule.
  void announce(const AnnounceParameters& parameters);
  // An incoming migration's guest runs: the NICs announce themselves with
  // QEMU's default schedule, and ask the guest to announce itself too
  // (VIRTIO_NET_S_ANNOUNCE) when its driver can.
  void announce_after_migration();
  // cpr-transfer or cpr-exec succeeded: the new process has the guest, and
  // cont here is refused from now on.
  void mark_guest_handed_over() { guest_handed_over_ = true; }
  CharBackend* find_chardev(const std::string& id) const;
  const std::vector<std::unique_ptr<MemoryBackend>>& memory_backends() const { return memory_backends_; }
  // The disk images (-drive, -blockdev), open. Those of an incoming
  // migration's destination start inactive (no locks) and are activated
  // when the migration ends; a source inactivates them at switchover.
  BlockImages& block_images() { return *block_images_; }
  // The board's devices. A device added before start() (tests: one with
  // work in flight) takes part in every loop over them; map it with
  // BoardDevices::map or AddressSpace::map_mmio itself.
  BoardDevices& devices() { return devices_; }

  // The board's side of migrations (migrate, -incoming, query-migrate).
  VirtMigration& migration_side() { return *migration_side_; }
  Migration& migration() { return migration_side_->migration(); }
  // -incoming URI: binds the listening socket (before the monitors answer,
  // so a client never finds the destination not yet listening); fails for a
  // bad address. accept_incoming() then takes the stream, after start().
  Status listen_incoming_from_command_line() { return migration_side_->listen_incoming_from_command_line(); }
  void accept_incoming() { migration().accept_incoming(); }

  // For the board's migration side (virt_migration.hpp), which drives the
  // life cycle from the migration threads through these.
  // Runs `task` on the main thread and waits for it; fails if the machine
  // stops serving requests first (it is going away).
  Status run_on_main_and_wait(std::function<void()> task);
  void set_run_state(RunState state);
  void emit(MachineEvent event);
  // Whether a destination runs the guest once the stream is loaded (-S,
  // stop and cont in inmigrate decide).
  bool autostart() const { return autostart_; }
  // The guest's main RAM.
  const MemoryBackend& ram() const { return *ram_; }

 private:
  struct Request {
    enum class Kind { kPoweroff, kReset, kQuit, kTask } kind;
    int exit_code = 0;
    ShutdownCause cause = ShutdownCause::kHostSignal;
    std::function<void()> task;
  };

  explicit VirtMachine(const MachineConfig& config) : config_(config) {}

  Status build();
  Status create_chardevs();
  Status create_ram();
  Result<std::unique_ptr<MemoryBackend>> backend_from(const MemoryBackendConfig& backend_config);
  Status create_devices();
  Status open_block_images();
  Status create_netdevs();
  Status load_images();
  BootRequest boot_request() const;  // what load_images() and reset() place
  void post(Request request);
  void stop_harts();
  void guest_poweroff(int exit_code);

  MachineConfig config_;
  GuestClock clock_;
  IoLoop io_loop_;
  FdStore fd_store_;  // after the loop: closed before it stops, with nothing watching them
  std::vector<std::unique_ptr<CharBackend>> chardevs_;
  std::vector<std::unique_ptr<MemoryBackend>> memory_backends_;
  // Before the devices, so they go after them: virtio-blk drains into them.
  IoWorkerPool block_workers_;
  std::optional<BlockImages> block_images_;
  // -netdev backends; before the devices, whose NICs detach from them.
  std::vector<std::unique_ptr<NetBackend>> netdevs_;
  MemoryBackend* ram_ = nullptr;
  AddressSpace memory_;
  GuestMemory guest_memory_{memory_};  // how all but the harts write memory_

  std::vector<std::unique_ptr<HartControl>> controls_;
  std::vector<std::unique_ptr<Hart>> harts_;
  std::vector<std::thread> hart_threads_;
  std::unique_ptr<std::atomic<int>[]> hart_thread_ids_;

  // The board's devices: one list drives mapping, reset, quiesce, the
  // device tree and the stream sections (virt_devices.cpp).
  BoardDevices devices_;
  GoldfishRtc* rtc_ = nullptr;  // in devices_; polled for its alarm
  std::vector<VirtioNet*> nics_;  // in devices_
  // After the devices, so it goes first: its rounds use the NICs.
  std::optional<Announcer> announcer_;
  std::atomic<bool> guest_handed_over_ = false;

  // What boots, read once; placed again on every reset.
  BootFiles boot_files_;
  std::vector<uint8_t> board_device_tree_;  // before the /chosen fixups (or unused with -dtb)
  BootSetup boot_;
  std::optional<Htif> htif_;

  mutable std::mutex mutex_;
  std::condition_variable requests_changed_;
  std::deque<Request> requests_;
  RunState run_state_ = RunState::kPrelaunch;
  std::optional<int> exit_code_;  // set by quit() or a power-off: the run ends

  EventListener event_listener_;  // main thread
  bool serving_requests_ = true;  // false once run_until_exit returned: posts are dropped

  bool autostart_ = true;  // destination: run after loading (-S, stop and cont in inmigrate)
  CprState* handed_over_ = nullptr;  // during build() only
  // Last: its threads use everything above.
  std::unique_ptr<VirtMigration> migration_side_;
};

}  // namespace godwit
