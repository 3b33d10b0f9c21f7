// The virt machine's side of a migration: its RAM as the stream names it,
// and the life-cycle steps at the switchover, on both ends.
#include <time.h>

#include <cstdio>
#include <future>

#include "machine/machine_state.hpp"
#include "machine/virt_machine.hpp"
#include "machine/virt_memory_map.hpp"

namespace godwit {
namespace {

std::optional<RunState> run_state_from_name(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(RunState::kColo); ++i) {
    if (run_state_name(static_cast<RunState>(i)) == name) return static_cast<RunState>(i);
  }
  return std::nullopt;
}

}  // namespace

uint64_t monotonic_ns() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(now.tv_nsec);
}

uint64_t host_boot_id_hash() {
  // The monotonic clock is one clock for every process of one boot.
  static const uint64_t hash = [] {
    auto text = read_file("/proc/sys/kernel/random/boot_id");
    if (!text) return uint64_t{0};
    uint64_t h = 1469598103934665603u;  // FNV-1a
    for (uint8_t byte : *text) h = (h ^ byte) * 1099511628211u;
    return h;
  }();
  return hash;
}

std::vector<RamBlockView> VirtMachine::ram_blocks() {
  const std::span<const uint8_t> host = ram_->host();
  // A private mapping of a file keeps its writes out of the file: only a
  // shared one's holes are known zeros.
  return {RamBlockView{ram_->id(), host.data(), host.size(), virt::kDramBase, ram_->shared(),
                       ram_->fd() < 0 && !ram_->shared(), ram_->shared() ? ram_->fd() : -1, &guest_memory_}};
}

Result<std::vector<CprFdRef>> VirtMachine::cpr_fds() {
  // QEMU's rule: memory the new process must map needs a descriptor, so a
  // backend must be share=on (memfd, or a file) to survive cpr-transfer.
  if (ram_->fd() < 0 || !ram_->shared()) {
    return fail("Memory backend '" + ram_->id() +
                "' is not compatible with CPR: share=on is required for memory-backend objects "
                "(-m alone gives private RAM; use -object memory-backend-memfd,share=on and -machine memory-backend)");
  }
  std::vector<CprFdRef> fds{{cpr_fd_name(ram_->id()), 0, ram_->fd()}};
  // The connections of monitors and serial ports, for a new program that
  // has the same chardevs to take over.
  for (const auto& chardev : chardevs_) {
    for (const ChardevFd& fd : chardev->connection_fds()) fds.push_back({fd.name, 0, fd.fd});
  }
  return fds;
}

void VirtMachine::before_exec() {
  // Replies to commands already handled (the `migrate` that started this)
  // must reach their clients first: a task on the main thread runs after
  // the handler, one on the I/O thread after the reply's write.
  (void)run_on_main_and_wait([] {});
  io_loop_.run_and_wait([] {});
  for (auto& chardev : chardevs_) chardev->hand_terminal_back();
}

void VirtMachine::after_failed_exec() {
  for (auto& chardev : chardevs_) chardev->take_terminal_again();
}

Status VirtMachine::listen_incoming_from_command_line() {
  if (config_.incoming.empty() || config_.incoming == "defer") return {};
  auto address = parse_incoming_main(config_.incoming);
  if (!address) return std::unexpected(std::move(address.error()).context("-incoming"));
  if (auto status = migration_->listen_incoming(MigrationTarget{*address, std::nullopt}); !status) {
    return std::unexpected(std::move(status.error()).context("-incoming " + config_.incoming));
  }
  return {};
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

Status VirtMachine::stop_for_switchover() {
  return run_on_main_and_wait([this] {
    state_before_migration_ = run_state();
    stopped_at_ns_ = 0;
    if (state_before_migration_ == RunState::kRunning) {
      pause();
      stopped_at_ns_ = monotonic_ns();  // the harts have stopped
      emit({MachineEvent::Kind::kStop});
    }
    set_run_state(RunState::kFinishMigrate);
  });
}

void VirtMachine::finish_outgoing(bool success) {
  finish_connection_handover(success);
  (void)run_on_main_and_wait([this, success] {
    if (run_state() != RunState::kFinishMigrate) return;  // never switched over: nothing to give back
    if (success) {
      set_run_state(RunState::kPostmigrate);
    } else if (state_before_migration_ == RunState::kRunning) {
      resume();
      emit({MachineEvent::Kind::kResume});
    } else {
      set_run_state(state_before_migration_);
    }
  });
}

void VirtMachine::finish_incoming(const Status& result) {
  (void)run_on_main_and_wait([this, &result] {
    if (!result) {
      // QEMU's exit-on-error: the destination has no guest worth keeping.
      std::fprintf(stderr, "godwit: load of migration failed: %s\n", result.error().message().c_str());
      quit(ShutdownCause::kHostError, 1);
      return;
    }
    resume_adopted_connections();
    const std::optional<RunState> source = run_state_from_name(incoming_source_state_);
    if (!source || *source == RunState::kRunning) {
      if (autostart_) {
        const uint64_t now = monotonic_ns();
        resume();
        if (incoming_stopped_at_ns_ != 0 && now > incoming_stopped_at_ns_) {
          migration_->record_pause_ns(now - incoming_stopped_at_ns_);
        }
        emit({MachineEvent::Kind::kResume});
      } else {
        set_run_state(RunState::kPaused);
      }
    } else {
      set_run_state(*source == RunState::kFinishMigrate ? RunState::kPaused : *source);
    }
  });
}

void VirtMachine::emit_migration_status(MigrationStatus status) {
  run_on_main([this, status] {
    MachineEvent event{MachineEvent::Kind::kMigration};
    event.migration_status = std::string(migration_status_name(status));
    emit(event);
  });
}

void VirtMachine::emit_migration_pass(uint64_t pass) {
  if (!migration_->events_enabled()) return;
  run_on_main([this, pass] {
    MachineEvent event{MachineEvent::Kind::kMigrationPass};
    event.pass = pass;
    emit(event);
  });
}

}  // namespace godwit
