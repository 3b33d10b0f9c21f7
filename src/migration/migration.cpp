#include "migration/migration.hpp"

#include <algorithm>

#include "migration/cpr_state.hpp"
#include "migration/incoming_loader.hpp"
#include "migration/precopy_sender.hpp"
#include "migration/stream_reader.hpp"
#include "migration/stream_writer.hpp"

namespace godwit {
namespace {

// What a migration in `parameters.mode` needs, checked before it starts.
Status check_mode(const MigrationTarget& target, const MigrationParameters& parameters,
                  const MigrationCapabilities& capabilities) {
  const std::string mode(migration_mode_name(parameters.mode));
  switch (parameters.mode) {
    case MigrationMode::kNormal:
    case MigrationMode::kCprReboot:
      if (target.cpr) return fail("A cpr channel is only used with mode cpr-transfer");
      break;
    case MigrationMode::kCprTransfer: {
      // QEMU's rules (migration.c, cpr-transfer).
      if (!target.cpr) return fail("cpr-transfer mode requires setting the cpr channel");
      if (auto unix_address = cpr_channel_address(*target.cpr); !unix_address) return std::unexpected(unix_address.error());
      if (std::holds_alternative<FileAddress>(target.main)) {
        return fail("Migration requires streamable transport: the main channel of cpr-transfer cannot be file:");
      }
      if (const auto* inet = std::get_if<InetAddress>(&target.main); inet != nullptr && inet->port == 0) {
        return fail("Migration requires a non-zero port: the new godwit must already listen on it");
      }
      break;
    }
    case MigrationMode::kCprExec: {
      if (target.cpr) return fail("A cpr channel is only used with mode cpr-transfer");
      if (parameters.cpr_exec_command.empty()) return fail("Parameter 'cpr-exec-command' required for cpr-exec");
      const auto& argv = parameters.cpr_exec_command;
      if (std::find(argv.begin(), argv.end(), "-incoming") == argv.end()) {
        return fail("Parameter 'cpr-exec-command' must contain -incoming: the new program loads the state from it");
      }
      break;
    }
  }
  for (const auto capability : {MigrationCapability::kPostcopyRam, MigrationCapability::kBackgroundSnapshot}) {
    if (parameters.mode != MigrationMode::kNormal && capabilities[capability]) {
      return fail("Migration mode " + mode + " cannot be used with capability " +
                  std::string(migration_capability_name(capability)));
    }
  }
  return {};
}

using Clock = std::chrono::steady_clock;

// Large writes: a 4 KiB page record is 4104 bytes, so one flush carries a
// few hundred pages in one syscall.
constexpr size_t kStreamBufferBytes = 2u << 20;

uint64_t ms_between(Clock::time_point from, Clock::time_point to) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count());
}

}  // namespace

MigrationParameters Migration::parameters() const {
  std::lock_guard lock(mutex_);
  return parameters_;
}

void Migration::set_parameters(const MigrationParameters& parameters) {
  std::lock_guard lock(mutex_);
  parameters_ = parameters;
}

MigrationCapabilities Migration::capabilities() const {
  std::lock_guard lock(mutex_);
  return capabilities_;
}

Status Migration::set_capabilities(const MigrationCapabilities& capabilities) {
  std::lock_guard lock(mutex_);
  // A destination that only listens still takes capabilities (QEMU's
  // documented order: capabilities, then migrate-incoming or the stream).
  if (outgoing_running_ || incoming_loading_) {
    return fail("There's a migration process in progress");
  }
  capabilities_ = capabilities;
  return {};
}

MigrationProgress Migration::progress() const {
  MigrationProgress progress = progress_.snapshot();
  // total-time runs while the migration does, not only when the thread
  // next publishes.
  if (progress.started && migration_status_running(progress.status)) {
    progress.total_time_ms = ms_between(*progress.started, Clock::now());
  }
  return progress;
}

bool Migration::running() const {
  std::lock_guard lock(mutex_);
  return outgoing_running_;
}

void Migration::set_status(MigrationStatus status) {
  bool changed = false;
  progress_.update([&](MigrationProgress& p) {
    // A cancel in flight is not undone by the thread's next step.
    const bool cancelling = p.status == MigrationStatus::kCancelling;
    if (cancelling && status != MigrationStatus::kCancelled && status != MigrationStatus::kFailed &&
        status != MigrationStatus::kCompleted) {
      return;
    }
    changed = p.status != status;
    p.status = status;
  });
  if (changed && events_enabled()) vm_.emit_migration_status(status);
}

Status Migration::start_outgoing(const MigrationTarget& target) {
  std::lock_guard lock(mutex_);
  if (outgoing_running_ || migration_status_running(progress_.snapshot().status)) {
    return fail("There's a migration process in progress");
  }
  if (auto status = check_mode(target, parameters_, capabilities_); !status) return status;
  if (parameters_.mode == MigrationMode::kCprExec) {
    if (auto fds = vm_.cpr_fds(); !fds) return std::unexpected(fds.error());
  }
  std::unique_ptr<CprSender> cpr_sender;
  if (parameters_.mode == MigrationMode::kCprTransfer) {
    // As QEMU: the descriptors go at once, so that a missing new process
    // is migrate's own error; the guest runs on meanwhile.
    auto sender = hand_over_descriptors(*target.cpr);
    if (!sender) return std::unexpected(sender.error());
    cpr_sender = std::move(*sender);
  }
  if (outgoing_thread_.joinable()) outgoing_thread_.join();  // the last one has finished
  outgoing_running_ = true;
  cancel_ = std::make_shared<CancelToken>();
  // The status is setup before migrate returns, so that a query-migrate
  // right after it never sees the last migration's end.
  const Clock::time_point started = Clock::now();
  progress_.update([&](MigrationProgress& p) {
    p = MigrationProgress{};
    p.status = MigrationStatus::kSetup;
    p.started = started;
  });
  if (capabilities_[MigrationCapability::kEvents]) vm_.emit_migration_status(MigrationStatus::kSetup);
  outgoing_thread_ = std::thread([this, target, capabilities = capabilities_, mode = parameters_.mode, started,
                                  cpr_sender = std::move(cpr_sender),
                                  exec_command = parameters_.cpr_exec_command]() mutable {
    run_outgoing(target, capabilities, mode, started, std::move(cpr_sender), exec_command);
  });
  return {};
}

void Migration::cancel() {
  std::lock_guard lock(mutex_);
  if (!outgoing_running_) return;
  const MigrationStatus status = progress_.snapshot().status;
  if (status != MigrationStatus::kSetup && status != MigrationStatus::kActive && status != MigrationStatus::kDevice) {
    return;
  }
  // The thread sees the token at its next step and a blocked write fails
  // at once; it then reports cancelled and gives the guest back.
  progress_.update([](MigrationProgress& p) { p.status = MigrationStatus::kCancelling; });
  if (capabilities_[MigrationCapability::kEvents]) vm_.emit_migration_status(MigrationStatus::kCancelling);
  cancel_->cancel();
  if (outgoing_channel_ != nullptr) outgoing_channel_->shutdown();
}

Result<std::unique_ptr<CprSender>> Migration::hand_over_descriptors(const MigrationAddress& cpr) {
  auto fds = vm_.cpr_fds();
  if (!fds) return std::unexpected(fds.error());
  auto address = cpr_channel_address(cpr);
  if (!address) return std::unexpected(address.error());
  auto sender = CprSender::connect(*address);
  if (!sender) return std::unexpected(sender.error());
  if (auto status = (*sender)->send(MigrationMode::kCprTransfer, *fds); !status) return std::unexpected(status.error());
  return sender;
}

void Migration::run_outgoing(MigrationTarget target, MigrationCapabilities capabilities, MigrationMode mode,
                             Clock::time_point started, std::unique_ptr<CprSender> cpr_sender,
                             const std::vector<std::string>& exec_command) {
  std::shared_ptr<CancelToken> cancel;
  {
    std::lock_guard lock(mutex_);
    cancel = cancel_;
  }

  Status result;
  std::optional<Clock::time_point> stop_time;
  if (cpr_sender) {
    // The new godwit maps the RAM and builds its machine while the guest
    // still runs here; its closing the cpr channel says it listens on the
    // main one. RAM then goes nowhere: it is already there.
    // It also says which connections it took over: those go to it at the
    // switchover.
    auto adopted = cpr_sender->wait_for_close(*cancel);
    if (adopted) {
      vm_.hand_over_connections(std::move(*adopted));
      vm_.hand_over_images();
    } else {
      result = std::unexpected(adopted.error());
    }
    cpr_sender.reset();
    capabilities.set(MigrationCapability::kXIgnoreShared, true);
  }
  if (mode == MigrationMode::kCprExec) {
    capabilities.set(MigrationCapability::kXIgnoreShared, true);
    // The same process goes on: every connection goes with it.
    vm_.hand_over_connections(vm_.connection_chardevs());
    vm_.hand_over_images();
  }
  Result<std::unique_ptr<OutgoingChannel>> channel = std::unexpected(Error("not connected"));
  if (result) {
    channel = connect_outgoing(target.main, fd_lookup_);
  } else {
    channel = std::unexpected(result.error());
  }
  if (!channel) {
    result = std::unexpected(channel.error());
  } else {
    {
      std::lock_guard lock(mutex_);
      outgoing_channel_ = channel->get();
      if (cancel->cancelled()) (*channel)->shutdown();
    }
    StreamWriter out((*channel)->sink(), kStreamBufferBytes);
    PrecopyOptions options{[this] { return parameters(); }, capabilities,
                           [this](MigrationStatus status) { set_status(status); },
                           mode != MigrationMode::kNormal, mode != MigrationMode::kCprTransfer};
    PrecopySender sender(vm_, out, std::move(options), progress_, *cancel);
    result = sender.run(started);
    if (sender.switched_over()) stop_time = sender.stop_time();
    // Closing waits for an exec'd command, whose failure fails the migration.
    if (result) {
      result = (*channel)->close();
    } else {
      (*channel)->shutdown();
      (void)(*channel)->close();
    }
    std::lock_guard lock(mutex_);
    outgoing_channel_ = nullptr;
  }
  if (result && mode == MigrationMode::kCprExec) {
    // The state is written and the guest stopped: become the new program.
    // Only a failed exec comes back, and then the guest runs on here.
    auto fds = vm_.cpr_fds();
    if (fds) {
      vm_.before_exec();
      result = cpr_exec(exec_command, *fds);
      vm_.after_failed_exec();
    } else {
      result = std::unexpected(fds.error());
    }
  }
  vm_.stop_dirty_log();

  const Clock::time_point ended = Clock::now();
  MigrationStatus final_status = MigrationStatus::kCompleted;
  if (cancel->cancelled()) {
    final_status = MigrationStatus::kCancelled;
  } else if (!result) {
    final_status = MigrationStatus::kFailed;
  }
  // The run state first (postmigrate, or the guest given back), so that a
  // client seeing the final status sees the machine where it ends up.
  vm_.finish_outgoing(final_status == MigrationStatus::kCompleted);
  progress_.update([&](MigrationProgress& p) {
    p.total_time_ms = ms_between(started, ended);
    if (final_status == MigrationStatus::kCompleted) {
      p.downtime_ms = stop_time ? ms_between(*stop_time, ended) : 0;
      p.downtime_us = stop_time ? static_cast<uint64_t>(
                                      std::chrono::duration_cast<std::chrono::microseconds>(ended - *stop_time).count())
                                : 0;
      p.remaining_bytes = 0;
      // QEMU's migration_calculate_complete: the rates become averages over
      // the time spent sending.
      const uint64_t sending_ms = p.total_time_ms - std::min(p.total_time_ms, p.setup_time_ms.value_or(0));
      if (sending_ms > 0) {
        p.mbps = static_cast<double>(p.ram.transferred_bytes) * 8.0 / static_cast<double>(sending_ms) / 1000.0;
        p.pages_per_second = (p.ram.normal_pages + p.ram.duplicate_pages) * 1000 / sending_ms;
      }
    }
    if (final_status == MigrationStatus::kFailed) p.error_desc = result.error().message();
  });
  set_status(final_status);
  std::lock_guard lock(mutex_);
  outgoing_running_ = false;
}

void Migration::record_pause_ns(uint64_t ns) {
  progress_.update([ns](MigrationProgress& p) { p.pause_ns = ns; });
}

void Migration::expect_cpr(MigrationMode mode, std::function<void()> after_listen) {
  std::lock_guard lock(mutex_);
  // Only this one incoming stream is read so: the user's parameters and
  // capabilities stay as they are, so that a later migration of this guest
  // is an ordinary one (as QEMU's new process shows mode normal).
  incoming_cpr_mode_ = mode;
  after_listen_ = std::move(after_listen);
}

Status Migration::start_incoming(const MigrationTarget& target) {
  if (auto status = listen_incoming(target); !status) return status;
  accept_incoming();
  return {};
}

Status Migration::listen_incoming(const MigrationTarget& target) {
  std::lock_guard lock(mutex_);
  if (incoming_started_) return fail("The incoming migration has already been started");
  auto listener = godwit::listen_incoming(target.main, fd_lookup_);
  if (!listener) return std::unexpected(listener.error());
  incoming_started_ = true;
  incoming_listener_ = listener->get();
  cancel_ = std::make_shared<CancelToken>();
  progress_.update([&](MigrationProgress& p) {
    p = MigrationProgress{};
    p.incoming = true;
    p.status = MigrationStatus::kSetup;
    const MigrationAddress& bound = (*listener)->bound_address();
    if (std::holds_alternative<InetAddress>(bound) || std::holds_alternative<UnixAddress>(bound)) {
      p.socket_address = to_string(bound);
    }
  });
  if (capabilities_[MigrationCapability::kEvents]) vm_.emit_migration_status(MigrationStatus::kSetup);
  listener_owner_ = std::move(*listener);
  return {};
}

void Migration::accept_incoming() {
  std::lock_guard lock(mutex_);
  if (incoming_listener_ == nullptr || incoming_thread_.joinable()) return;
  incoming_thread_ = std::thread([this] { run_incoming(); });
}

void Migration::run_incoming() {
  IncomingListener* listener = nullptr;
  {
    std::lock_guard lock(mutex_);
    listener = incoming_listener_;
  }
  Status result;
  std::function<void()> ready;
  {
    std::lock_guard lock(mutex_);
    ready = std::exchange(after_listen_, nullptr);
  }
  // cpr-transfer: the old side stops its guest once told to go on. Tell it
  // only now, with this machine started and this thread about to accept,
  // so that none of this side's start-up falls into the guest pause.
  if (ready) ready();
  auto channel = listener->accept_one(std::nullopt);
  const Clock::time_point started = Clock::now();
  MigrationCapabilities capabilities;
  if (!channel) {
    result = std::unexpected(channel.error());
  } else {
    {
      // The capabilities in force are those set when the source connects.
      std::lock_guard lock(mutex_);
      incoming_channel_ = channel->get();
      incoming_loading_ = true;
      capabilities = capabilities_;
      // Handed-over RAM is already here: its pages are not in the stream.
      if (incoming_cpr_mode_) capabilities.set(MigrationCapability::kXIgnoreShared, true);
    }
    listener->close();
    set_status(MigrationStatus::kActive);
    StreamReader in((*channel)->source(), kStreamBufferBytes);
    result = load_migration_stream(in, vm_, capabilities);
    (void)(*channel)->close();
    std::lock_guard lock(mutex_);
    incoming_channel_ = nullptr;
    incoming_loading_ = false;
  }
  {
    std::lock_guard lock(mutex_);
    incoming_listener_ = nullptr;
  }
  const Clock::time_point loaded = Clock::now();
  progress_.update([&](MigrationProgress& p) {
    p.total_time_ms = ms_between(started, loaded);
    p.load_us = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(loaded - started).count());
    if (!result) p.error_desc = result.error().message();
  });
  vm_.finish_incoming(result);
  set_status(result ? MigrationStatus::kCompleted : MigrationStatus::kFailed);
}

void Migration::shutdown() {
  {
    std::lock_guard lock(mutex_);
    if (cancel_) cancel_->cancel();
    if (outgoing_channel_ != nullptr) outgoing_channel_->shutdown();
    if (incoming_listener_ != nullptr) incoming_listener_->shutdown();
    if (incoming_channel_ != nullptr) incoming_channel_->shutdown();
  }
  if (outgoing_thread_.joinable()) outgoing_thread_.join();
  if (incoming_thread_.joinable()) incoming_thread_.join();
}

}  // namespace godwit
