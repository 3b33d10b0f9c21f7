#include "machine/virt_machine.hpp"

#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <future>

#include "chardev/chardev_factory.hpp"
#include "machine/boot_loader.hpp"
#include "machine/boot_rom.hpp"
#include "machine/device_tree.hpp"
#include "machine/virt_devices.hpp"
#include "machine/virt_memory_map.hpp"
#include "net/tap_net.hpp"
#include "net/user_net.hpp"
#include "virtio/virtio_net.hpp"

namespace godwit {
namespace {

// QEMU names the RAM of a virt machine created with plain -m this way; the
// name matters later, as the RAM block's name in the migration stream.
constexpr const char kDefaultRamId[] = "riscv_virt_board.ram";

// How often the main thread looks at HTIF's tohost while the guest runs.
constexpr auto kHtifPollInterval = std::chrono::milliseconds(1);
// How often it checks the RTC alarm, which has no thread of its own.
constexpr auto kRtcPollInterval = std::chrono::milliseconds(10);

// /chosen/rng-seed: 32 random bytes, as QEMU writes (qemu_fdt_randomize_seeds).
std::vector<uint8_t> random_rng_seed() {
  std::vector<uint8_t> seed(32);
  size_t filled = 0;
  while (filled < seed.size()) {
    const ssize_t n = ::getrandom(seed.data() + filled, seed.size() - filled, 0);
    if (n <= 0) break;  // no entropy source: the rest stays zero, as a seed of less worth
    filled += static_cast<size_t>(n);
  }
  return seed;
}

}  // namespace

Result<std::unique_ptr<VirtMachine>> VirtMachine::create(const MachineConfig& config,
                                                        std::unique_ptr<CprReceiver> cpr_channel,
                                                        CprState* handed_over) {
  std::unique_ptr<VirtMachine> machine(new VirtMachine(config));
  machine->handed_over_ = handed_over;
  auto built = machine->build();
  machine->handed_over_ = nullptr;
  if (!built) return std::unexpected(std::move(built.error()));
  machine->migration_side_ = std::make_unique<VirtMigration>(*machine);
  if (handed_over != nullptr) machine->migration_side_->expect_cpr(*handed_over, std::move(cpr_channel));
  machine->autostart_ = !config.start_paused;
  // A destination is in inmigrate from the first query on.
  if (!config.incoming.empty()) machine->run_state_ = RunState::kInmigrate;
  return machine;
}

Status VirtMachine::build() {
  if (config_.machine_type != "virt") return fail("unsupported machine type '" + config_.machine_type + "' (only virt)");
  if (config_.smp < 1 || config_.smp > virt::kMaxHarts) {
    return fail("invalid number of CPUs " + std::to_string(config_.smp) + " (1 to " + std::to_string(virt::kMaxHarts) + ")");
  }
  if (auto s = create_ram(); !s) return s;
  if (auto s = create_chardevs(); !s) return s;
  if (auto s = open_block_images(); !s) return s;
  if (auto s = create_netdevs(); !s) return s;
  if (auto s = create_devices(); !s) return s;
  return load_images();
}

Status VirtMachine::create_ram() {
  for (const MemoryBackendConfig& backend_config : config_.memory_backends) {
    auto backend = backend_from(backend_config);
    if (!backend) return std::unexpected(std::move(backend.error()));
    if (backend_config.id == config_.memory_backend_id) ram_ = backend->get();
    memory_backends_.push_back(std::move(*backend));
  }
  if (!config_.memory_backend_id.empty() && ram_ == nullptr) {
    return fail("memory backend '" + config_.memory_backend_id + "' not found");
  }
  if (ram_ == nullptr) {
    MemoryBackendConfig implicit;
    implicit.id = kDefaultRamId;
    implicit.kind = MemoryBackendKind::kRam;
    implicit.size_bytes = config_.ram_size_bytes;
    auto backend = MemoryBackend::create(implicit);
    if (!backend) return std::unexpected(std::move(backend.error()));
    ram_ = backend->get();
    memory_backends_.push_back(std::move(*backend));
  }
  if (handed_over_ != nullptr) {
    for (const CprFd& fd : handed_over_->fds) {
      if (fd.fd() >= 0 && fd.name().rfind("memory-backend:", 0) == 0) return fail("cpr: the old program handed over memory '" + fd.name() + "', which this machine does not have");
    }
  }
  return memory_.map_ram(virt::kDramBase, *ram_);
}

Result<std::unique_ptr<MemoryBackend>> VirtMachine::backend_from(const MemoryBackendConfig& backend_config) {
  if (handed_over_ == nullptr) return MemoryBackend::create(backend_config);
  // cpr-transfer: the same memory the old godwit's guest runs in.
  CprFd* fd = handed_over_->find(cpr_fd_name(backend_config.id));
  if (fd == nullptr) {
    return fail("cpr: the old program handed over no memory for backend '" + backend_config.id + "'");
  }
  return MemoryBackend::adopt(backend_config, fd->take());
}

Status VirtMachine::create_chardevs() {
  ChardevContext context{io_loop_, [this] { request_quit(0, ShutdownCause::kHostUi); }};
  if (handed_over_ != nullptr) {
    context.take_handed_over_fd = [handed = handed_over_](const std::string& name) {
      CprFd* fd = handed->find(name);
      return fd == nullptr ? -1 : fd->take();
    };
  }
  for (const ChardevConfig& chardev_config : config_.chardevs) {
    auto chardev = create_chardev(chardev_config, context);
    if (!chardev) return std::unexpected(std::move(chardev.error()));
    chardevs_.push_back(std::move(*chardev));
  }
  return {};
}

Status VirtMachine::open_block_images() {
  // A destination leaves the locks to the source until the switchover, as
  // QEMU opens its images inactive on -incoming.
  // cpr-transfer and cpr-exec: the old program's descriptors, locks and all.
  BlockImages::TakeHandedOverFd take_handed_over;
  if (handed_over_ != nullptr) {
    take_handed_over = [handed = handed_over_](const std::string& node_name) {
      CprFd* fd = handed->find(cpr_block_fd_name(node_name));
      return fd == nullptr ? -1 : fd->take();
    };
  }
  auto images = BlockImages::open(config_.block, block_workers_, /*inactive=*/!config_.incoming.empty(),
                                  take_handed_over);
  if (!images) return std::unexpected(std::move(images.error()));
  block_images_.emplace(std::move(*images));
  if (handed_over_ != nullptr) {
    // An image the old program had and this one does not: its lock would
    // stay with a descriptor nobody uses, and the guest's disk would vanish.
    for (const CprFd& fd : handed_over_->fds) {
      if (fd.fd() >= 0 && fd.name().starts_with("block:")) {
        return fail("cpr: the old program handed over the image of node '" + fd.name().substr(6) +
                    "', which this machine does not have");
      }
    }
  }
  return {};
}

void VirtMachine::announce(const AnnounceParameters& parameters) {
  if (announcer_) announcer_->start(parameters);
}

void VirtMachine::announce_after_migration() {
  for (VirtioNet* nic : nics_) nic->request_guest_announce();
  // The destination's own announce-* parameters, as QEMU's.
  const MigrationParameters p = migration().parameters();
  announce(AnnounceParameters{.initial_ms = static_cast<int64_t>(p.announce_initial_ms),
                              .max_ms = static_cast<int64_t>(p.announce_max_ms),
                              .rounds = static_cast<int64_t>(p.announce_rounds),
                              .step_ms = static_cast<int64_t>(p.announce_step_ms)});
}

Status VirtMachine::create_netdevs() {
  for (const NetdevConfig& netdev : config_.net.netdevs) {
    Result<std::unique_ptr<NetBackend>> backend = fail("no backend");
    if (netdev.kind == NetdevConfig::Kind::kTap) {
      // cpr-transfer and cpr-exec: the old program's tap, with the frames
      // waiting in its queue.
      CprFd* handed = handed_over_ != nullptr ? handed_over_->find(cpr_netdev_fd_name(netdev.id)) : nullptr;
      backend = TapNet::create(netdev, io_loop_, handed != nullptr ? handed->take() : -1);
    } else {
      // After cpr-transfer the old program keeps its hostfwd ports until
      // the switchover: the forwards come up once it lets them go.
      backend = UserNet::create(netdev, io_loop_, /*after_cpr=*/handed_over_ != nullptr);
    }
    if (!backend) return std::unexpected(std::move(backend.error()));
    netdevs_.push_back(std::move(*backend));
  }
  if (handed_over_ != nullptr) {
    // A tap the old program had and this one does not: the guest's link
    // would be cut, and its frames read by nobody.
    for (const CprFd& fd : handed_over_->fds) {
      if (fd.fd() >= 0 && fd.name().starts_with("netdev:")) {
        return fail("cpr: the old program handed over netdev '" + fd.name().substr(7) +
                    "', which this machine does not have (or not as a tap)");
      }
    }
  }
  return {};
}

Status VirtMachine::add_netdev(const NetdevConfig& config) {
  if (migration().running()) return fail("netdev_add: not while a migration is in progress");
  for (const auto& netdev : netdevs_) {
    if (netdev->id() == config.id) return fail("Duplicate ID '" + config.id + "' for netdev");
  }
  Result<std::unique_ptr<NetBackend>> backend = fail("no backend");
  if (config.kind == NetdevConfig::Kind::kTap) {
    backend = TapNet::create(config, io_loop_);
  } else {
    backend = UserNet::create(config, io_loop_);
  }
  if (!backend) return std::unexpected(std::move(backend.error()));
  netdevs_.push_back(std::move(*backend));
  return {};
}

Status VirtMachine::del_netdev(const std::string& id) {
  if (migration().running()) return fail("netdev_del: not while a migration is in progress");
  const auto found = std::find_if(netdevs_.begin(), netdevs_.end(), [&](const auto& n) { return n->id() == id; });
  if (found == netdevs_.end()) return fail("Device '" + id + "' not found");
  for (const NicConfig& nic : config_.net.nics) {
    if (nic.netdev == id) {
      return fail("netdev '" + id + "' is in use by a virtio-net-device, which cannot be unplugged");
    }
  }
  netdevs_.erase(found);  // its sockets or tap close here
  return {};
}

Status VirtMachine::create_devices() {
  std::vector<HartControl*> controls;
  hart_thread_ids_ = std::make_unique<std::atomic<int>[]>(config_.smp);
  for (unsigned i = 0; i < config_.smp; ++i) {
    controls_.push_back(std::make_unique<HartControl>());
    controls.push_back(controls_.back().get());
  }
  for (unsigned i = 0; i < config_.smp; ++i) {
    harts_.push_back(std::make_unique<Hart>(i, memory_, *controls_[i], clock_));
  }

  CharBackend* serial = nullptr;
  if (!config_.serial_chardev_ids.empty()) {
    for (auto& chardev : chardevs_) {
      if (chardev->id() == config_.serial_chardev_ids.front()) serial = chardev.get();
    }
    if (serial == nullptr) return fail("-serial: chardev '" + config_.serial_chardev_ids.front() + "' not found");
  }

  const auto find_netdev = [this](const std::string& id) -> NetBackend* {
    for (auto& netdev : netdevs_) {
      if (netdev->id() == id) return netdev.get();
    }
    return nullptr;
  };
  auto plugs = make_virtio_plugs(config_, guest_memory_, [this](const std::string& id) { return find_chardev(id); },
                                 *block_images_, NetPlugContext{find_netdev, io_loop_, &nics_});
  if (!plugs) return std::unexpected(std::move(plugs.error()));
  VirtDeviceWiring wiring{controls, clock_, serial, *this, std::move(*plugs), config_.virtio_mmio_force_legacy};
  rtc_ = add_virt_devices(devices_, std::move(wiring)).rtc;
  if (!nics_.empty()) {
    announcer_.emplace(io_loop_, [this] {
      for (VirtioNet* nic : nics_) nic->send_self_announce();
    });
  }
  return devices_.map(memory_);
}

Status VirtMachine::load_images() {
  // An incoming machine's RAM brings the images: mapping them is enough to
  // learn where they lie, and keeps reading them out of a cpr-exec's pause.
  auto files = read_boot_files(config_, ram_->size_bytes(),
                               config_.incoming.empty() ? BootFileAccess::kRead : BootFileAccess::kMap);
  if (!files) return std::unexpected(std::move(files.error()));
  boot_files_ = std::move(*files);

  DeviceTreeConfig tree;
  tree.ram_base = virt::kDramBase;
  tree.ram_size = ram_->size_bytes();
  tree.harts = config_.smp;
  tree.rng_seed = random_rng_seed();
  tree.devices = &devices_;
  auto blob = build_device_tree(tree);
  if (!blob) return std::unexpected(std::move(blob.error()));
  board_device_tree_ = std::move(*blob);

  // An incoming migration brings the RAM, kernel included; a shared
  // memory backend may even hold the running guest already (cpr-reboot).
  const KernelPlacement placement =
      config_.incoming.empty() ? KernelPlacement::kWrite : KernelPlacement::kRamFromMigration;
  auto boot = load_boot_images(boot_request(), guest_memory_, placement);
  if (!boot) return std::unexpected(std::move(boot.error()));
  boot_ = std::move(*boot);
  const LoadedKernel& kernel = boot_.kernel;

  if (auto s = memory_.map_rom(virt::kMromBase, build_boot_rom(boot_.rom), "mrom"); !s) return s;

  if (kernel.tohost) {
    CharBackend* console = nullptr;
    for (auto& chardev : chardevs_) {
      if (!config_.serial_chardev_ids.empty() && chardev->id() == config_.serial_chardev_ids.front()) console = chardev.get();
    }
    htif_.emplace(guest_memory_, *kernel.tohost, kernel.fromhost, console);
  }
  for (auto& hart : harts_) hart->reset(virt::kMromBase);
  return {};
}

BootRequest VirtMachine::boot_request() const {
  return {.files = &boot_files_,
          .board_tree = board_device_tree_,
          .append = config_.append,
          .ram_base = virt::kDramBase,
          .ram_size_bytes = ram_->size_bytes()};
}

VirtMachine::~VirtMachine() {
  {
    std::lock_guard lock(mutex_);
    serving_requests_ = false;
    requests_.clear();  // a migration thread waiting on a task sees it dropped
  }
  if (migration_side_) migration_side_->shutdown();
  stop_harts();
  // Disk requests still in flight complete into their devices' queues,
  // which go with the devices: let them finish first.
  if (block_images_) {
    for (const auto& image : block_images_->images()) image->drain();
  }
  io_loop_.stop();
}

void VirtMachine::start() {
  // A migration's setup would otherwise wait ~10 ms for the dirty log's
  // membarrier registration; the thread only touches a function-local
  // static, whose initialisation the language makes thread-safe.
  std::thread(DirtyLog::prepare_process).detach();
  // Harts start parked; resume() lets them go.
  for (auto& control : controls_) control->request_pause();
  for (unsigned i = 0; i < harts_.size(); ++i) {
    hart_threads_.emplace_back([hart = harts_[i].get(), id = &hart_thread_ids_[i]] {
      id->store(static_cast<int>(::syscall(SYS_gettid)));  // query-cpus-fast's thread-id
      hart->run();
    });
  }
  for (auto& control : controls_) control->wait_parked();
  if (!config_.incoming.empty()) {
    std::lock_guard lock(mutex_);
    run_state_ = RunState::kInmigrate;  // until the stream is loaded
  } else if (config_.start_paused) {
    std::lock_guard lock(mutex_);
    run_state_ = RunState::kPrelaunch;
  } else {
    resume();
  }
  // The loop serves the monitors: started last, so that the first command
  // any client gets answered sees the machine in its starting run state.
  io_loop_.start();
}

void VirtMachine::stop_harts() {
  for (auto& control : controls_) control->request_exit();
  for (auto& thread : hart_threads_) {
    if (thread.joinable()) thread.join();
  }
  hart_threads_.clear();
}

void VirtMachine::pause() {
  for (auto& control : controls_) control->request_pause();
  for (auto& control : controls_) control->wait_parked();
  // With no hart to start new device work, what is in flight can finish:
  // after this, device state is complete (and RAM holds what it wrote) for
  // `stop`, a migration's switchover and every CPR mode's save.
  devices_.quiesce();
  clock_.stop();
  std::lock_guard lock(mutex_);
  if (run_state_ == RunState::kRunning) run_state_ = RunState::kPaused;
}

void VirtMachine::resume() {
  clock_.start();
  devices_.unquiesce();
  for (auto& hart : harts_) hart->flush_caches();
  for (auto& control : controls_) control->resume();
  std::lock_guard lock(mutex_);
  run_state_ = RunState::kRunning;
}

void VirtMachine::reset() {
  pause();
  devices_.reset();
  // QEMU re-copies ROM blobs (firmware, kernel, initrd, device tree) on
  // reset; RAM is otherwise kept. They fitted at start-up, so they fit again.
  // A machine that came in by migration has only mapped them: read them
  // now, unless a file shrank meanwhile (reading it would fault), and then
  // leave RAM as it is.
  if (auto read = boot_files_.read_in(); !read) {
    std::fprintf(stderr, "godwit: system reset: %s; the images stay as they are in RAM\n", read.error().message().c_str());
  } else {
    (void)load_boot_images(boot_request(), guest_memory_);
  }
  for (auto& hart : harts_) hart->reset(virt::kMromBase);
}

void VirtMachine::emit(MachineEvent event) {
  if (event_listener_) event_listener_(event);
}

void VirtMachine::set_run_state(RunState state) {
  std::lock_guard lock(mutex_);
  run_state_ = state;
}

Status VirtMachine::cont() {
  const RunState state = run_state();
  if (run_state_needs_reset(state)) return fail("Resetting the Virtual Machine is required");
  if (state == RunState::kRunning) return {};
  if (state == RunState::kInmigrate) {
    autostart_ = true;  // QEMU: run once the incoming migration is loaded
    return {};
  }
  if (state == RunState::kFinishMigrate) return fail("Migration is not finalized yet");
  // After a migration (either side) the images may be inactive: QEMU's cont
  // takes the locks back first, and refuses while another process has them.
  if (auto status = block_images_->activate_all(); !status) return status;
  // After cpr-transfer the new process runs this very RAM, disks and taps:
  // two guests on them would destroy both.
  if (guest_handed_over_) {
    return fail("The guest was handed over to the new process (cpr): its RAM, disks and network are that "
                "process's now");
  }
  resume();
  emit({MachineEvent::Kind::kResume});
  return {};
}

void VirtMachine::stop() {
  if (run_state() == RunState::kInmigrate) autostart_ = false;
  if (run_state() != RunState::kRunning) return;
  pause();
  emit({MachineEvent::Kind::kStop});
}

void VirtMachine::system_reset(ShutdownCause cause) {
  const bool was_running = run_state() == RunState::kRunning;
  emit({MachineEvent::Kind::kReset, cause});
  reset();
  if (was_running) {
    resume();
  } else {
    set_run_state(RunState::kPrelaunch);
  }
}

void VirtMachine::powerdown() { emit({MachineEvent::Kind::kPowerdown}); }

void VirtMachine::quit(ShutdownCause cause, int exit_code) {
  emit({MachineEvent::Kind::kShutdown, cause});
  std::lock_guard lock(mutex_);
  if (!exit_code_) exit_code_ = exit_code;
}

void VirtMachine::guest_poweroff(int exit_code) {
  emit({MachineEvent::Kind::kShutdown, ShutdownCause::kGuestShutdown});
  const bool was_running = run_state() == RunState::kRunning;
  pause();
  set_run_state(RunState::kShutdown);
  if (!config_.no_shutdown) {
    std::lock_guard lock(mutex_);
    if (!exit_code_) exit_code_ = exit_code;
  } else if (was_running) {
    emit({MachineEvent::Kind::kStop});  // QEMU: SHUTDOWN, then STOP as the VM stays
  }
}

CharBackend* VirtMachine::find_chardev(const std::string& id) const {
  for (const auto& chardev : chardevs_) {
    if (chardev->id() == id) return chardev.get();
  }
  return nullptr;
}

RunState VirtMachine::run_state() const {
  std::lock_guard lock(mutex_);
  return run_state_;
}

void VirtMachine::post(Request request) {
  std::lock_guard lock(mutex_);
  if (!serving_requests_) return;  // dropped: nothing will serve it
  requests_.push_back(std::move(request));
  requests_changed_.notify_all();
}

void VirtMachine::request_poweroff(int exit_code) {
  post({Request::Kind::kPoweroff, exit_code, ShutdownCause::kGuestShutdown, nullptr});
}
void VirtMachine::request_reset() { post({Request::Kind::kReset, 0, ShutdownCause::kGuestReset, nullptr}); }
void VirtMachine::request_quit(int exit_code, ShutdownCause cause) {
  post({Request::Kind::kQuit, exit_code, cause, nullptr});
}
void VirtMachine::run_on_main(std::function<void()> task) {
  post({Request::Kind::kTask, 0, ShutdownCause::kHostError, std::move(task)});
}

int VirtMachine::run_until_exit() {
  for (;;) {
    std::optional<Request> request;
    {
      std::unique_lock lock(mutex_);
      if (run_state_ == RunState::kRunning) {
        const auto interval = htif_ ? kHtifPollInterval : kRtcPollInterval;
        requests_changed_.wait_for(lock, interval, [&] { return !requests_.empty(); });
      } else {
        requests_changed_.wait(lock, [&] { return !requests_.empty(); });
      }
      if (!requests_.empty()) {
        request = std::move(requests_.front());
        requests_.pop_front();
      }
    }
    if (!request) {
      rtc_->poll();
      if (htif_) {
        if (auto status = htif_->poll()) guest_poweroff(*status);
      }
    } else {
      switch (request->kind) {
        case Request::Kind::kPoweroff: guest_poweroff(request->exit_code); break;
        case Request::Kind::kReset: system_reset(ShutdownCause::kGuestReset); break;
        case Request::Kind::kQuit: quit(request->cause, request->exit_code); break;
        case Request::Kind::kTask: request->task(); break;
      }
    }
    std::optional<int> exit_code;
    {
      std::lock_guard lock(mutex_);
      exit_code = exit_code_;
    }
    if (exit_code) {
      {
        std::lock_guard lock(mutex_);
        serving_requests_ = false;
        requests_.clear();
      }
      // A migration must not outlive the loop that serves its requests.
      migration_side_->shutdown();
      pause();
      return *exit_code;
    }
  }
}

Status VirtMachine::run_on_main_and_wait(std::function<void()> task) {
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> finished = done->get_future();
  // Only the task holds the promise, so that dropping the task breaks it.
  run_on_main([done = std::move(done), task = std::move(task)] {
    task();
    done->set_value();
  });
  // A task dropped unserved (the machine is exiting) breaks the promise.
  try {
    finished.get();
  } catch (const std::future_error&) {
    return fail("the machine is shutting down");
  }
  return {};
}


}  // namespace godwit
