// What query-migrate reports about the current or last migration, kept by
// the thread that runs it and read by the monitor.
//
// Threads: ProgressBoard is shared by the migration thread (update) and the
// monitor threads (snapshot); one mutex, held for copies only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "migration/migration_config.hpp"
#include "migration/ram_section_saver.hpp"

namespace godwit {

struct MigrationProgress {
  MigrationStatus status = MigrationStatus::kNone;
  bool incoming = false;
  std::string error_desc;  // when failed
  std::optional<std::chrono::steady_clock::time_point> started;  // outgoing

  // Milliseconds. total_time runs until the migration ends, then holds.
  uint64_t total_time_ms = 0;
  std::optional<uint64_t> setup_time_ms;
  std::optional<uint64_t> downtime_ms;  // once completed
  std::optional<uint64_t> downtime_us;  // the same, finer
  // Destination: from the source's harts stopping to this guest running, on
  // one host clock (same host and boot only).
  std::optional<uint64_t> pause_ns;
  // Destination: from the stream opening to everything loaded.
  std::optional<uint64_t> load_us;
  uint64_t expected_downtime_ms = 0;

  RamSaveStats ram;
  uint64_t remaining_bytes = 0;
  uint64_t dirty_sync_count = 0;
  double mbps = 0;                // megabits/s over the last window
  uint64_t pages_per_second = 0;  // over the last window
  uint64_t dirty_pages_rate = 0;  // pages/s dirtied, between the last two syncs
  std::optional<std::string> socket_address;  // destination: where it listens
};

class ProgressBoard {
 public:
  void update(const std::function<void(MigrationProgress&)>& change) {
    std::lock_guard lock(mutex_);
    change(progress_);
  }
  MigrationProgress snapshot() const {
    std::lock_guard lock(mutex_);
    return progress_;
  }

 private:
  mutable std::mutex mutex_;
  MigrationProgress progress_;
};

}  // namespace godwit
