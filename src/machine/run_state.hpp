// QEMU's RunState values (qapi/run-state.json, in its order), and the events
// a machine reports as its life cycle moves.
#pragma once

#include <string>
#include <string_view>

namespace godwit {

enum class RunState {
  kDebug,
  kInmigrate,      // waiting for an incoming migration
  kInternalError,
  kIoError,
  kPaused,         // stopped by the user
  kPostmigrate,    // the source after a completed migration
  kPrelaunch,      // created with -S, or reset while not running
  kFinishMigrate,  // the source while it sends the final state
  kRestoreVm,
  kRunning,
  kSaveVm,
  kShutdown,       // the guest powered off (kept with -no-shutdown)
  kSuspended,
  kWatchdog,
  kGuestPanicked,
  kColo,
};

constexpr std::string_view run_state_name(RunState state) {
  switch (state) {
    case RunState::kDebug: return "debug";
    case RunState::kInmigrate: return "inmigrate";
    case RunState::kInternalError: return "internal-error";
    case RunState::kIoError: return "io-error";
    case RunState::kPaused: return "paused";
    case RunState::kPostmigrate: return "postmigrate";
    case RunState::kPrelaunch: return "prelaunch";
    case RunState::kFinishMigrate: return "finish-migrate";
    case RunState::kRestoreVm: return "restore-vm";
    case RunState::kRunning: return "running";
    case RunState::kSaveVm: return "save-vm";
    case RunState::kShutdown: return "shutdown";
    case RunState::kSuspended: return "suspended";
    case RunState::kWatchdog: return "watchdog";
    case RunState::kGuestPanicked: return "guest-panicked";
    case RunState::kColo: return "colo";
  }
  return "unknown";
}

// QEMU's runstate_needs_reset(): `cont` is refused until a system_reset.
constexpr bool run_state_needs_reset(RunState state) {
  return state == RunState::kInternalError || state == RunState::kShutdown ||
         state == RunState::kGuestPanicked;
}

// QEMU's ShutdownCause (qapi/run-state.json), as SHUTDOWN and RESET name it.
enum class ShutdownCause {
  kHostError,
  kHostQmpQuit,
  kHostQmpSystemReset,
  kHostSignal,
  kHostUi,
  kGuestShutdown,
  kGuestReset,
  kGuestPanic,
  kSubsystemReset,
};

constexpr std::string_view shutdown_cause_name(ShutdownCause cause) {
  switch (cause) {
    case ShutdownCause::kHostError: return "host-error";
    case ShutdownCause::kHostQmpQuit: return "host-qmp-quit";
    case ShutdownCause::kHostQmpSystemReset: return "host-qmp-system-reset";
    case ShutdownCause::kHostSignal: return "host-signal";
    case ShutdownCause::kHostUi: return "host-ui";
    case ShutdownCause::kGuestShutdown: return "guest-shutdown";
    case ShutdownCause::kGuestReset: return "guest-reset";
    case ShutdownCause::kGuestPanic: return "guest-panic";
    case ShutdownCause::kSubsystemReset: return "subsystem-reset";
  }
  return "unknown";
}

// QEMU's shutdown_caused_by_guest().
constexpr bool shutdown_cause_is_guest(ShutdownCause cause) {
  return cause == ShutdownCause::kGuestShutdown || cause == ShutdownCause::kGuestReset ||
         cause == ShutdownCause::kGuestPanic;
}

// What the machine tells its listeners (the monitors turn these into QMP
// events of the same names).
struct MachineEvent {
  enum class Kind { kStop, kResume, kShutdown, kReset, kPowerdown, kMigration, kMigrationPass };
  MachineEvent(Kind kind, ShutdownCause cause = ShutdownCause::kHostError) : kind(kind), cause(cause) {}
  Kind kind;
  ShutdownCause cause = ShutdownCause::kHostError;  // SHUTDOWN and RESET only
  std::string migration_status;                     // MIGRATION only
  uint64_t pass = 0;                                // MIGRATION_PASS only
};

}  // namespace godwit
