// The sending side of a precopy live migration, QEMU's migration_thread:
// the whole stream from header to vmdesc, written while the guest runs.
//
//   setup    header, configuration, RAM START (the block list); dirty log on
//   active   first pass: every page (zero pages as ZERO records); then
//            passes over the pages dirtied since the last sync, in PART
//            chunks, each window of 100 ms kept under max-bandwidth
//   switch   once what is left fits in downtime-limit at the measured
//            bandwidth: stop the guest, last sync, RAM END with the rest,
//            every device as FULL sections, EOF, vmdesc
//
// Threads: run() is the migration thread's body; parameters may change
// under it (migrate-set-parameters applies at the next window) and cancel
// may come from anywhere through the CancelToken and channel shutdown.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "base/error.hpp"
#include "migration/bandwidth_window.hpp"
#include "migration/cancel_token.hpp"
#include "migration/migratable_vm.hpp"
#include "migration/migration_progress.hpp"
#include "migration/ram_section_saver.hpp"
#include "migration/stream_writer.hpp"

namespace godwit {

struct PrecopyOptions {
  std::function<MigrationParameters()> parameters;  // read each window
  MigrationCapabilities capabilities;
  std::function<void(MigrationStatus)> set_status;  // active, device
  // The CPR modes: the guest stops before anything is saved, so RAM goes in
  // one pass with no dirty log, as QEMU does for every mode but normal.
  bool stop_first = false;
  // The JSON description after EOF, for tools. cpr-transfer's stream goes
  // straight into the new process and nobody can keep it: it goes without,
  // which takes describing every device out of the guest pause.
  bool describe = true;
};

class PrecopySender {
 public:
  using Clock = std::chrono::steady_clock;

  PrecopySender(MigratableVm& vm, StreamWriter& out, PrecopyOptions options, ProgressBoard& progress,
                CancelToken& cancel);
  PrecopySender(const PrecopySender&) = delete;
  PrecopySender& operator=(const PrecopySender&) = delete;

  // Writes the whole stream. On success the guest is stopped (the caller
  // closes the channel and finishes); on failure it may be stopped or not:
  // switched_over() says.
  Status run(Clock::time_point started);
  bool switched_over() const { return switched_over_; }
  Clock::time_point stop_time() const { return stop_time_; }

 private:
  static constexpr uint32_t kRamSectionId = 0;

  // The bitmaps, the stream's header and the RAM section's start: nothing
  // that depends on the guest, so done before a stop_first stop (sized by
  // RAM, it must not be in the pause).
  Status prepare();
  // The first pass's bitmap (and the dirty log unless stop_first).
  Status setup();
  Status iterate();
  Status complete();
  // Moves the dirty log into the bitmap (QEMU's migration_bitmap_sync):
  // counts a pass, and the dirty rate since the previous sync.
  void sync();
  Status stop_guest();
  // One PART chunk of dirty pages, as much as the window allows.
  Status send_chunk();
  uint64_t dirty_bytes() const { return dirty_pages_ * kRamPageSize; }
  double threshold_bytes(Clock::time_point now) const;
  void publish(Clock::time_point now);
  Status check_stream(const char* what);

  MigratableVm& vm_;
  StreamWriter& out_;
  savevm::Writer writer_;
  PrecopyOptions options_;
  MigrationParameters parameters_;
  ProgressBoard& progress_;
  CancelToken& cancel_;

  std::vector<RamBlockView> blocks_;
  std::vector<size_t> block_first_word_;  // where each block's pages start in bitmap_
  // Blocks whose pages never go into the stream (shared under
  // x-ignore-shared): their bits stay clear so they never count as to send.
  std::vector<bool> block_skipped_;
  RamSaver ram_;
  std::vector<uint64_t> bitmap_;   // pages still to send
  std::vector<uint64_t> scratch_;  // a sync's take
  uint64_t dirty_pages_ = 0;
  uint64_t sync_count_ = 0;
  Clock::time_point last_sync_time_;
  // The dirty rate is measured over at least a second (QEMU's rule), so a
  // burst between two close syncs does not set it.
  Clock::time_point rate_period_start_;
  uint64_t pages_dirtied_in_period_ = 0;
  uint64_t dirty_pages_rate_ = 0;

  BandwidthWindow window_;
  uint64_t bytes_at_last_add_ = 0;
  Clock::time_point started_;
  bool switched_over_ = false;
  Clock::time_point stop_time_;
};

}  // namespace godwit
