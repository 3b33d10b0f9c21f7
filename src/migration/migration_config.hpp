// What a user sets and sees about migrations, with QEMU's names
// (qapi/migration.json): the status enum, the capabilities, and the
// parameters with their defaults and limits (migration/options.c).
//
// Threads: plain values; the Migration object guards its copies.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"

namespace godwit {

// QEMU's MigrationStatus, in its enum order.
enum class MigrationStatus {
  kNone,
  kSetup,
  kCancelling,
  kCancelled,
  kActive,
  kPostcopyActive,
  kPostcopyPaused,
  kPostcopyRecoverSetup,
  kPostcopyRecover,
  kCompleted,
  kFailed,
  kColo,
  kPreSwitchover,
  kDevice,
  kWaitUnplug,
};

std::string_view migration_status_name(MigrationStatus status);
// Whether a migration in this status still holds the channel and the guest
// (QEMU's migration_is_running): a new one cannot start.
bool migration_status_running(MigrationStatus status);

// QEMU's MigrationCapability, in its enum order. godwit acts on the ones
// marked; setting any other to true is refused with a message saying so,
// so a script never believes a feature is on when it is not.
enum class MigrationCapability {
  kXbzrle,
  kRdmaPinAll,
  kAutoConverge,
  kZeroBlocks,
  kEvents,  // supported: MIGRATION and MIGRATION_PASS events
  kPostcopyRam,
  kXColo,
  kReleaseRam,
  kReturnPath,
  kPauseBeforeSwitchover,
  kMultifd,
  kDirtyBitmaps,
  kPostcopyBlocktime,
  kLateBlockActivate,
  kXIgnoreShared,  // supported: shared RAM blocks are not sent
  kValidateUuid,
  kBackgroundSnapshot,
  kZeroCopySend,
  kPostcopyPreempt,
  kSwitchoverAck,
  kDirtyLimit,
  kMappedRam,
  kCount,
};

inline constexpr size_t kMigrationCapabilityCount = static_cast<size_t>(MigrationCapability::kCount);

std::string_view migration_capability_name(MigrationCapability capability);
std::optional<MigrationCapability> find_migration_capability(std::string_view name);
bool migration_capability_supported(MigrationCapability capability);

struct MigrationCapabilities {
  std::array<bool, kMigrationCapabilityCount> enabled{};
  bool operator[](MigrationCapability capability) const { return enabled[static_cast<size_t>(capability)]; }
  void set(MigrationCapability capability, bool on) { enabled[static_cast<size_t>(capability)] = on; }
};

// The capabilities that change the stream's layout and so must be set alike
// on both sides (QEMU's "validatable" ones): named in the stream's
// configuration section, checked by the destination.
std::vector<std::string> stream_capabilities(const MigrationCapabilities& capabilities);

// QEMU's MigMode: what a migration is for. The CPR modes move the guest to a
// new process on the same host and stop it before anything is saved.
enum class MigrationMode { kNormal, kCprReboot, kCprTransfer, kCprExec };

std::string_view migration_mode_name(MigrationMode mode);
std::optional<MigrationMode> find_migration_mode(std::string_view name);

struct MigrationParameters {
  static constexpr uint64_t kMaxDowntimeLimitMs = 2'000'000;

  uint64_t downtime_limit_ms = 300;            // the longest the guest may stay stopped
  uint64_t max_bandwidth = 128ull << 20;       // bytes/s while the guest runs
  uint64_t avail_switchover_bandwidth = 0;     // bytes/s; 0: use the measured rate
  MigrationMode mode = MigrationMode::kNormal;
  std::vector<std::string> cpr_exec_command;   // argv cpr-exec runs
  // How the destination announces the guest once it runs there (QEMU's
  // announce-* parameters and defaults): `announce_rounds` RARPs per NIC,
  // the first after `announce_initial_ms`, each gap `announce_step_ms`
  // longer than the last, none above `announce_max_ms`.
  uint64_t announce_initial_ms = 50;
  uint64_t announce_max_ms = 550;
  uint64_t announce_rounds = 5;
  uint64_t announce_step_ms = 100;
};

}  // namespace godwit
