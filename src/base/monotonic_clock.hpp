// The host's monotonic clock, the one time base of godwit: guest time runs
// on it, wfi sleeps until a deadline on it (std::chrono::steady_clock is
// CLOCK_MONOTONIC on Linux), and a switchover's pause is measured on it.
//
// Threads: any thread.
#pragma once

#include <time.h>

#include <cstdint>

namespace godwit {

// CLOCK_MONOTONIC in ns.
inline int64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// A hash of this boot's id (0 if unreadable). The monotonic clock is one
// clock for every process of one boot, so two processes whose hashes match
// can compare their monotonic times (a CPR or local migration's pause).
uint64_t host_boot_id_hash();

}  // namespace godwit
