#include "machine/virt_migration.hpp"

#include <cstdio>

#include "base/monotonic_clock.hpp"
#include "machine/machine_state.hpp"
#include "machine/virt_machine.hpp"
#include "machine/virt_memory_map.hpp"
#include "migration/state_section.hpp"
#include "net/user_net.hpp"

namespace godwit {
namespace {

std::optional<RunState> run_state_from_name(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(RunState::kColo); ++i) {
    if (run_state_name(static_cast<RunState>(i)) == name) return static_cast<RunState>(i);
  }
  return std::nullopt;
}

}  // namespace

VirtMigration::VirtMigration(VirtMachine& machine)
    : machine_(machine),
      connections_(machine.chardevs(), machine.io_loop(), [&machine] { return machine.run_on_main_and_wait([] {}); }) {
  FdStore& fds = machine.fd_store();
  migration_ = std::make_unique<Migration>(*this, [&fds](const std::string& name) -> Result<int> {
    const int fd = fds.take_named(name);
    if (fd < 0) return fail("File descriptor named '" + name + "' has not been found");
    return fd;
  });
}

VirtMigration::~VirtMigration() { migration_->shutdown(); }

void VirtMigration::expect_cpr(CprState& handed_over, std::unique_ptr<CprReceiver> cpr_channel) {
  std::function<void()> after_listen;
  ConnectionHandover::close_unadopted_fds(handed_over);
  if (cpr_channel) {
    // The old godwit goes on once this one listens on its main channel,
    // knowing which connections this one took over.
    cpr_channel_ = std::move(cpr_channel);
    after_listen = [channel = cpr_channel_.get(), adopted = connections_.adopted_chardevs()] {
      channel->close_channel(adopted);
    };
  }
  migration_->expect_cpr(handed_over.mode, std::move(after_listen));
}

std::string_view VirtMigration::machine_type() const { return machine_.config().machine_type; }

Status VirtMigration::start_dirty_log() { return machine_.memory().start_dirty_log(); }
void VirtMigration::stop_dirty_log() { machine_.memory().stop_dirty_log(); }
DirtyLog& VirtMigration::dirty_log() { return *machine_.memory().dirty_log(); }

std::vector<RamBlockView> VirtMigration::ram_blocks() {
  const MemoryBackend& ram = machine_.ram();
  const std::span<const uint8_t> host = ram.host();
  // A private mapping of a file keeps its writes out of the file: only a
  // shared one's holes are known zeros.
  return {RamBlockView{ram.id(), host.data(), host.size(), virt::kDramBase, ram.shared(),
                       ram.fd() < 0 && !ram.shared(), ram.shared() ? ram.fd() : -1, &machine_.guest_memory()}};
}

Result<std::vector<CprFdRef>> VirtMigration::cpr_fds() {
  const MemoryBackend& ram = machine_.ram();
  // QEMU's rule: memory the new process must map needs a descriptor, so a
  // backend must be share=on (memfd, or a file) to survive cpr-transfer.
  if (ram.fd() < 0 || !ram.shared()) {
    return fail("Memory backend '" + ram.id() +
                "' is not compatible with CPR: share=on is required for memory-backend objects "
                "(-m alone gives private RAM; use -object memory-backend-memfd,share=on and -machine memory-backend)");
  }
  std::vector<CprFdRef> fds{{cpr_fd_name(ram.id()), 0, ram.fd()}};
  // The disk images, open and locked: the new program adopts them rather
  // than opening them again, so no other process can slip in between.
  for (const auto& image : machine_.block_images().handover_fds()) {
    fds.push_back({cpr_block_fd_name(image.node_name), 0, image.fd});
  }
  // Taps, with the frames waiting in their queues: the new program reads
  // on where this one stopped.
  for (const auto& netdev : machine_.netdevs()) {
    if (netdev->handover_fd() >= 0) fds.push_back({cpr_netdev_fd_name(netdev->id()), 0, netdev->handover_fd()});
  }
  // The connections of monitors and serial ports, for a new program that
  // has the same chardevs to take over.
  for (const auto& chardev : machine_.chardevs()) {
    for (const ChardevFd& fd : chardev->connection_fds()) fds.push_back({fd.name, 0, fd.fd});
  }
  return fds;
}

void VirtMigration::before_exec() {
  // Replies to commands already handled (the `migrate` that started this)
  // must reach their clients first: a task on the main thread runs after
  // the handler, one on the I/O thread after the reply's write.
  (void)machine_.run_on_main_and_wait([] {});
  machine_.io_loop().run_and_wait([] {});
  for (auto& chardev : machine_.chardevs()) chardev->hand_terminal_back();
}

void VirtMigration::after_failed_exec() {
  for (auto& chardev : machine_.chardevs()) chardev->take_terminal_again();
}

Status VirtMigration::listen_incoming_from_command_line() {
  const std::string& incoming = machine_.config().incoming;
  if (incoming.empty() || incoming == "defer") return {};
  auto address = parse_incoming_main(incoming);
  if (!address) return std::unexpected(std::move(address.error()).context("-incoming"));
  if (auto status = migration_->listen_incoming(MigrationTarget{*address, std::nullopt}); !status) {
    return std::unexpected(std::move(status.error()).context("-incoming " + incoming));
  }
  return {};
}

Status VirtMigration::stop_for_switchover() {
  return machine_.run_on_main_and_wait([this] {
    state_before_migration_ = machine_.run_state();
    stopped_at_ns_ = 0;
    if (state_before_migration_ == RunState::kRunning) {
      machine_.pause();  // parks the harts, then quiesces the devices
      stopped_at_ns_ = static_cast<uint64_t>(monotonic_ns());  // the harts have stopped
      machine_.emit({MachineEvent::Kind::kStop});
    }
    machine_.set_run_state(RunState::kFinishMigrate);
    // QEMU's source gives up its image locks at switchover so that the
    // destination can take them; the devices are quiesced, nothing writes.
    // Under CPR the destination shares this side's descriptors, and with
    // them the locks: they stay held.
    if (!images_travel_) {
      if (auto status = machine_.block_images().inactivate_all(); !status) {
        std::fprintf(stderr, "godwit: %s\n", status.error().message().c_str());
      }
    }
  });
}

void VirtMigration::finish_outgoing(bool success) {
  std::vector<std::string> monitor_chardevs;
  for (const MonitorConfig& monitor : machine_.config().monitors) monitor_chardevs.push_back(monitor.chardev_id);
  if (connections_.finish(success, monitor_chardevs)) {
    // Every monitor now belongs to the new process: nobody can reach this
    // one any more, so it leaves on its own instead of lingering in
    // postmigrate.
    std::fprintf(stderr, "godwit: the new process took over every monitor connection; exiting\n");
    machine_.request_quit(0, ShutdownCause::kHostQmpQuit);
  }
  (void)machine_.run_on_main_and_wait([this, success] {
    if (machine_.run_state() != RunState::kFinishMigrate) return;  // never switched over: nothing to give back
    if (success) {
      if (images_travel_) {
        machine_.block_images().hand_over_all();
        for (const auto& netdev : machine_.netdevs()) netdev->hand_over();
        machine_.mark_guest_handed_over();
      }
      machine_.set_run_state(RunState::kPostmigrate);
      return;
    }
    // The images back before the guest goes on; if the destination has
    // taken them meanwhile, the guest stays paused rather than share them.
    if (auto status = machine_.block_images().activate_all(); !status) {
      std::fprintf(stderr, "godwit: %s\n", status.error().message().c_str());
      machine_.set_run_state(RunState::kPaused);
    } else if (state_before_migration_ == RunState::kRunning) {
      machine_.resume();  // the devices go on, then the harts
      machine_.emit({MachineEvent::Kind::kResume});
    } else {
      machine_.set_run_state(state_before_migration_);
    }
  });
  images_travel_ = false;  // the next migration decides again
}

void VirtMigration::finish_incoming(const Status& result) {
  (void)machine_.run_on_main_and_wait([this, &result] {
    if (!result) {
      // QEMU's exit-on-error: the destination has no guest worth keeping.
      std::fprintf(stderr, "godwit: load of migration failed: %s\n", result.error().message().c_str());
      machine_.quit(ShutdownCause::kHostError, 1);
      return;
    }
    connections_.resume_adopted();
    // QEMU's process_incoming_migration_bh: take the image locks the
    // source gave up; failing that, do not run the guest.
    if (auto status = machine_.block_images().activate_all(); !status) {
      std::fprintf(stderr, "godwit: %s\n", status.error().message().c_str());
      machine_.set_run_state(RunState::kPaused);
      return;
    }
    const std::optional<RunState> source = run_state_from_name(incoming_source_state_);
    if (!source || *source == RunState::kRunning) {
      if (machine_.autostart()) {
        const uint64_t now = static_cast<uint64_t>(monotonic_ns());
        machine_.resume();
        if (incoming_stopped_at_ns_ != 0 && now > incoming_stopped_at_ns_) {
          migration_->record_pause_ns(now - incoming_stopped_at_ns_);
        }
        machine_.emit({MachineEvent::Kind::kResume});
        // QEMU's process_incoming_migration_bh: tell the network where the
        // guest is now.
        machine_.announce_after_migration();
      } else {
        machine_.set_run_state(RunState::kPaused);
      }
    } else {
      machine_.set_run_state(*source == RunState::kFinishMigrate ? RunState::kPaused : *source);
    }
  });
}

void VirtMigration::emit_migration_status(MigrationStatus status) {
  machine_.run_on_main([this, status] {
    MachineEvent event{MachineEvent::Kind::kMigration};
    event.migration_status = std::string(migration_status_name(status));
    machine_.emit(event);
  });
}

void VirtMigration::emit_migration_pass(uint64_t pass) {
  if (!migration_->events_enabled()) return;
  machine_.run_on_main([this, pass] {
    MachineEvent event{MachineEvent::Kind::kMigrationPass};
    event.pass = pass;
    machine_.emit(event);
  });
}

std::vector<DeviceSection> VirtMigration::device_sections() {
  std::vector<DeviceSection> sections;
  VirtMachine& m = machine_;
  // equal() fields: a destination of another shape refuses the stream.
  sections.push_back(state_section<MachineShapeState>(
      "virt-machine", 0, [&m] { return MachineShapeState{m.hart_count(), m.ram().size_bytes()}; },
      [](const MachineShapeState&) -> Status { return {}; }));
  // Guest time next: devices that compare against it load after it is set.
  sections.push_back(state_section<GuestClockState>(
      "timer", 0, [&m] { return GuestClockState{m.clock().ns()}; },
      [&m](const GuestClockState& state) -> Status {
        if (m.clock().running()) return fail("timer: guest time can only be restored while stopped");
        m.clock().set_ns(state.guest_ns);
        return {};
      }));
  sections.push_back(state_section<GlobalState>(
      "globalstate", 0,
      [this] {
        GlobalState state;
        state.set_text(run_state_name(state_before_migration_));
        return state;
      },
      [this](const GlobalState& state) -> Status {
        incoming_source_state_ = state.text();
        return {};
      }));
  sections.push_back(state_section<PauseStampState>(
      "godwit-pause", 0, [this] { return PauseStampState{stopped_at_ns_, host_boot_id_hash()}; },
      [this](const PauseStampState& state) -> Status {
        incoming_stopped_at_ns_ = state.boot_id_hash == host_boot_id_hash() ? state.stopped_at_ns : 0;
        return {};
      }));
  for (unsigned i = 0; i < m.hart_count(); ++i) {
    sections.push_back(state_section("cpu", i, m.hart(i)));
  }
  m.devices().append_sections(sections);
  // libslirp's own state, one "slirp" section per user network, as QEMU's.
  uint32_t slirp_instance = 0;
  for (const auto& netdev : m.netdevs()) {
    if (auto* user = dynamic_cast<UserNet*>(netdev.get())) sections.push_back(state_section("slirp", slirp_instance++, *user));
  }
  // Last: freezing the connections waits for commands in flight, which may
  // read device state; and nothing may be written to them after this.
  sections.push_back(connections_.section());
  return sections;
}

}  // namespace godwit
