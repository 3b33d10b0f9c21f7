// The virt board's side of a migration: what the migration engine asks of
// the machine it moves (MigratableVm): its RAM as the stream names it, its
// state as stream sections, the life-cycle steps around the switchover on
// both ends, and the CPR handover of memory and connections. It owns the
// board's Migration; VirtMachine keeps the life cycle and its requests, and
// this unit drives them.
//
// Threads: the MigratableVm members run on the migration threads; those
// that change the life cycle hand the work to the machine's main thread and
// wait for it. Built and destroyed on the main thread.
#pragma once

#include <atomic>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "machine/connection_handover.hpp"
#include "machine/run_state.hpp"
#include "migration/cpr_state.hpp"
#include "migration/migratable_vm.hpp"
#include "migration/migration.hpp"

namespace godwit {

class VirtMachine;

class VirtMigration final : public MigratableVm {
 public:
  explicit VirtMigration(VirtMachine& machine);
  ~VirtMigration() override;

  // A cpr-transfer's or cpr-exec's new side: closes the handed-over
  // connection descriptors no chardev adopted and expects the stream of
  // `handed_over`'s mode; with `cpr_channel` (cpr-transfer), tells the old
  // program which connections were adopted once the main channel listens.
  void expect_cpr(CprState& handed_over, std::unique_ptr<CprReceiver> cpr_channel);

  Migration& migration() { return *migration_; }
  // -incoming URI: binds the listening socket (before the monitors answer,
  // so a client never finds the destination not yet listening); fails for a
  // bad address.
  Status listen_incoming_from_command_line();
  // Stops every migration thread; the machine calls it before it goes.
  void shutdown() { migration_->shutdown(); }

  // MigratableVm (migration threads).
  std::string_view machine_type() const override;
  std::vector<RamBlockView> ram_blocks() override;
  Result<std::vector<CprFdRef>> cpr_fds() override;
  void before_exec() override;
  void after_failed_exec() override;
  Status start_dirty_log() override;
  void stop_dirty_log() override;
  DirtyLog& dirty_log() override;
  // Every section in save order: the machine's own (shape, guest time, run
  // state, pause stamp), the harts, the board's device list, then the
  // connections CPR hands over.
  std::vector<DeviceSection> device_sections() override;
  Status stop_for_switchover() override;
  void finish_outgoing(bool success) override;
  void finish_incoming(const Status& result) override;
  void hand_over_connections(std::vector<std::string> chardev_ids) override { connections_.choose(std::move(chardev_ids)); }
  std::vector<std::string> connection_chardevs() override { return connections_.connection_chardevs(); }
  void hand_over_images() override { images_travel_ = true; }
  void emit_migration_status(MigrationStatus status) override;
  void emit_migration_pass(uint64_t pass) override;

 private:
  VirtMachine& machine_;
  ConnectionHandover connections_;
  // Source: the run state before the switchover, and when the harts
  // stopped for it (monotonic ns). Destination: the source's stop stamp
  // when on this host and boot, and its run state ("globalstate").
  RunState state_before_migration_ = RunState::kRunning;
  uint64_t stopped_at_ns_ = 0;
  uint64_t incoming_stopped_at_ns_ = 0;
  std::string incoming_source_state_;
  // Source, this migration: the images go as descriptors (CPR), locks and
  // all. Set on the migration thread, read on the main thread it waits for.
  std::atomic<bool> images_travel_ = false;
  std::unique_ptr<CprReceiver> cpr_channel_;  // held open until the main channel listens
  // Last: its threads use everything above.
  std::unique_ptr<Migration> migration_;
};

}  // namespace godwit
