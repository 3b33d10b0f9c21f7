// CPR connection handover: monitor and serial connections that outlive the
// program. Their descriptors travel with the CPR state (the board's
// cpr_fds); what the backends and monitor sessions hold in memory travels in
// the stream's "godwit-connections" section, written last, with the guest
// stopped:
//
//   old side  quiesce (no new input, no new command) -> wait for commands
//             in flight to answer -> freeze (stop touching the descriptors,
//             take the unsent output and the sessions' state) -> section;
//             then release them (success) or serve them again (failure).
//   new side  adopt matching descriptors at build (dormant) -> load the
//             section -> resume each adopted connection before the guest
//             resumes, so that the old program's unsent output, then the
//             MIGRATION and RESUME events, then the new guest output arrive
//             in that order.
//
// Threads: choose(), the section and finish() on the migration thread;
// resume_adopted() on the main thread. The chardevs themselves are touched
// only on the I/O thread, through the loop.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "chardev/char_backend.hpp"
#include "io/io_loop.hpp"
#include "migration/cpr_state.hpp"
#include "migration/device_section.hpp"

namespace godwit {

class ConnectionHandover {
 public:
  // `drain_main` returns once every request queued on the main thread
  // before it has been served.
  ConnectionHandover(const std::vector<std::unique_ptr<CharBackend>>& chardevs, IoLoop& io_loop,
                     std::function<Status()> drain_main)
      : chardevs_(chardevs), io_loop_(io_loop), drain_main_(std::move(drain_main)) {}

  // cpr-exec: every chardev with a connection the new program may take.
  std::vector<std::string> connection_chardevs() const;
  // The chardevs whose connections go with the next switchover.
  void choose(std::vector<std::string> chardev_ids) { chosen_ids_ = std::move(chardev_ids); }
  // The chardevs built on an old program's descriptors.
  std::vector<std::string> adopted_chardevs() const;

  // The "godwit-connections" section: freezes and saves the chosen
  // connections (source), or reads what the old program's carried
  // (destination).
  DeviceSection section();

  // Source, after the stream: releases the frozen connections (success) or
  // serves them again. True when they were every connection of every
  // monitor in `monitor_chardevs`: nobody can reach this process any more.
  bool finish(bool success, const std::vector<std::string>& monitor_chardevs);
  // Destination, before the guest resumes.
  void resume_adopted();

  // A client nobody here serves must see its connection end, not hang.
  static void close_unadopted_fds(CprState& handed_over);

 private:
  void save(StreamWriter& out);
  Status load(StreamReader& in);
  nlohmann::json describe() const;

  const std::vector<std::unique_ptr<CharBackend>>& chardevs_;
  IoLoop& io_loop_;
  std::function<Status()> drain_main_;
  // Source: which chardevs go, those frozen at the switchover, and the
  // section's size for its description. Destination: what the stream
  // carried for each.
  std::vector<std::string> chosen_ids_;
  std::vector<CharBackend*> frozen_;
  uint64_t saved_bytes_ = 0;
  std::map<std::string, ConnectionState> incoming_;
};

}  // namespace godwit
