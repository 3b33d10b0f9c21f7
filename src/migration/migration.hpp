// One machine's migrations, as QEMU's MigrationState and
// MigrationIncomingState: the parameters and capabilities users set, the
// outgoing migration (at most one at a time, on its own thread), the
// incoming one of a destination, and the progress query-migrate shows.
//
// Threads: the monitor calls the public members from the I/O loop or the
// main thread; each migration runs on a thread of its own, which drives the
// machine only through MigratableVm. shutdown() (or the destructor) cancels
// and joins; call it before the machine goes.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "base/error.hpp"
#include "migration/cancel_token.hpp"
#include "migration/channel.hpp"
#include "migration/cpr_state.hpp"
#include "migration/migratable_vm.hpp"
#include "migration/migration_config.hpp"
#include "migration/migration_progress.hpp"
#include "migration/migration_uri.hpp"

namespace godwit {

class Migration {
 public:
  Migration(MigratableVm& vm, FdLookup fd_lookup) : vm_(vm), fd_lookup_(std::move(fd_lookup)) {}
  ~Migration() { shutdown(); }
  Migration(const Migration&) = delete;
  Migration& operator=(const Migration&) = delete;

  // migrate: connects and streams on a new thread; returns at once. Fails
  // only when a migration is already running.
  Status start_outgoing(const MigrationTarget& target);
  // migrate_cancel: a running outgoing migration ends as cancelled.
  void cancel();

  // -incoming URI, or migrate-incoming after -incoming defer: listens now
  // (bad addresses fail here), then accepts and loads on a new thread and
  // hands the result to MigratableVm::finish_incoming.
  Status start_incoming(const MigrationTarget& target);
  // The two halves of start_incoming, for -incoming on the command line:
  // bind before the monitors answer, accept once the machine is started.
  Status listen_incoming(const MigrationTarget& target);
  // Destination of a cpr-transfer or cpr-exec (its RAM was handed over):
  // that mode and x-ignore-shared; `after_listen`, if any, runs once the
  // main channel listens and the machine is started, just before the
  // incoming thread accepts (it closes the cpr channel: the old side's
  // go-ahead, after which the old guest stops).
  void expect_cpr(MigrationMode mode, std::function<void()> after_listen);
  // Destination: the guest pause measured at resume (see MigrationProgress).
  void record_pause_ns(uint64_t ns);
  void accept_incoming();

  MigrationParameters parameters() const;
  void set_parameters(const MigrationParameters& parameters);
  MigrationCapabilities capabilities() const;
  // Refused while a migration runs ("There's a migration process in progress").
  Status set_capabilities(const MigrationCapabilities& capabilities);
  bool events_enabled() const { return capabilities()[MigrationCapability::kEvents]; }

  MigrationProgress progress() const;
  bool running() const;

  // Cancels whatever runs and waits for the threads. Idempotent.
  void shutdown();

 private:
  void run_outgoing(MigrationTarget target, MigrationCapabilities capabilities, MigrationMode mode,
                    std::chrono::steady_clock::time_point started, std::unique_ptr<CprSender> cpr_sender,
                    const std::vector<std::string>& exec_command);
  void run_incoming();
  Result<std::unique_ptr<CprSender>> hand_over_descriptors(const MigrationAddress& cpr);
  // Sets the status and emits MIGRATION when it changed.
  void set_status(MigrationStatus status);

  MigratableVm& vm_;
  FdLookup fd_lookup_;
  ProgressBoard progress_;

  mutable std::mutex mutex_;  // guards what follows, never held across I/O
  MigrationParameters parameters_;
  std::function<void()> after_listen_;  // see expect_cpr
  std::optional<MigrationMode> incoming_cpr_mode_;  // see expect_cpr
  MigrationCapabilities capabilities_;
  std::thread outgoing_thread_;
  std::thread incoming_thread_;
  std::shared_ptr<CancelToken> cancel_;
  OutgoingChannel* outgoing_channel_ = nullptr;  // while connected, for cancel
  std::unique_ptr<IncomingListener> listener_owner_;  // lives until shutdown
  IncomingListener* incoming_listener_ = nullptr;     // while accepting, for cancel
  IncomingChannel* incoming_channel_ = nullptr;
  bool outgoing_running_ = false;
  bool incoming_started_ = false;
  bool incoming_loading_ = false;  // a source is connected
};

}  // namespace godwit
