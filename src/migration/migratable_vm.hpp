// What a migration needs from the machine it moves: its RAM and dirty log,
// its device sections, and the life-cycle steps around the switchover. The
// machine implements it; the migration code knows nothing else about it.
//
// Threads: the migration threads call every member. Those that change the
// life cycle hand the work to the machine's main thread and wait for it.
#pragma once

#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "memory/dirty_log.hpp"
#include "migration/cpr_state.hpp"
#include "migration/device_section.hpp"
#include "migration/migration_config.hpp"
#include "migration/ram_section.hpp"

namespace godwit {

class MigratableVm {
 public:
  virtual ~MigratableVm() = default;

  virtual std::string_view machine_type() const = 0;
  // Guest RAM as the stream names it. Logging covers the blocks in order,
  // as one range of RAM offsets.
  virtual std::vector<RamBlockView> ram_blocks() = 0;
  virtual Status start_dirty_log() = 0;
  // cpr-transfer: the descriptors of all guest RAM, for a new godwit to map
  // (borrowed). An error names memory that no descriptor can carry.
  virtual Result<std::vector<CprFdRef>> cpr_fds() { return fail("this machine cannot hand over its memory"); }
  virtual void stop_dirty_log() = 0;
  virtual DirtyLog& dirty_log() = 0;  // valid between start and stop

  // Every non-RAM section, in save order. Save and load only with the guest
  // stopped (after stop_for_switchover, or on a destination in inmigrate).
  virtual std::vector<DeviceSection> device_sections() = 0;

  // Source. Stops the guest for the switchover (run state finish-migrate, a
  // STOP event if it was running). Fails if the machine is going away.
  virtual Status stop_for_switchover() = 0;
  // Source, after the stream is finished: postmigrate on success; on failure
  // or cancel the run state from before the migration, resuming a guest
  // that ran (RESUME). Called once per migration, switchover or not.
  virtual void finish_outgoing(bool success) = 0;

  // cpr-exec, around the exec: leave the process fit for another program
  // (the terminal as godwit found it), and take it back if the exec failed.
  virtual void before_exec() {}
  virtual void after_failed_exec() {}

  // CPR (cpr-transfer, cpr-exec): the chardevs whose connections the next
  // program takes over. Their state goes into the stream at the switchover;
  // finish_outgoing then lets them go (success) or serves them again.
  virtual void hand_over_connections(std::vector<std::string> chardev_ids) { (void)chardev_ids; }
  // cpr-exec: every chardev with a connection the new program may take.
  virtual std::vector<std::string> connection_chardevs() { return {}; }
  // CPR: the disk images travel as descriptors (cpr_fds), their locks with
  // them, so the switchover keeps the locks rather than giving them up for
  // the destination to take; finish_outgoing(true) then leaves them to the
  // new program for good.
  virtual void hand_over_images() {}

  // Destination, after the whole stream loaded (or failed to).
  virtual void finish_incoming(const Status& result) = 0;

  // A migration status change or a dirty-bitmap sync, for the events the
  // `events` capability turns on (the Migration object decides).
  virtual void emit_migration_status(MigrationStatus status) = 0;
  virtual void emit_migration_pass(uint64_t pass) = 0;
};

}  // namespace godwit
