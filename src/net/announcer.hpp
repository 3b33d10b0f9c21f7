// Self-announcement after a migration, as QEMU's announce timer does it
// (net/announce.c): each NIC sends a RARP naming its MAC, so that switches
// learn the guest's new place at once, `rounds` times, the first after
// `initial` ms and each next one `step` ms later than the gap before it, no
// gap above `max` ms. QMP announce-self starts the same with its own
// parameters; a new start replaces a running one.
//
// Threads: start() from any thread; the rounds go out on the I/O thread,
// where it is a PollSource that only ever sets a timeout.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>

#include "io/io_loop.hpp"

namespace godwit {

struct AnnounceParameters {
  int64_t initial_ms = 50;  // QEMU's announce-initial
  int64_t max_ms = 550;     // announce-max
  int64_t rounds = 5;       // announce-rounds
  int64_t step_ms = 100;    // announce-step
};

class Announcer final : private PollSource {
 public:
  // `send_round` sends one announcement from every NIC (on the I/O thread).
  Announcer(IoLoop& loop, std::function<void()> send_round);
  ~Announcer() override;
  Announcer(const Announcer&) = delete;
  Announcer& operator=(const Announcer&) = delete;

  void start(const AnnounceParameters& parameters);
  int64_t rounds_sent() const;

 private:
  void prepare(std::vector<pollfd>& fds, int& timeout_ms) override;
  void dispatch(std::span<const pollfd> fds) override;

  IoLoop& loop_;
  std::function<void()> send_round_;
  mutable std::mutex mutex_;
  AnnounceParameters parameters_;
  int64_t rounds_left_ = 0;
  int64_t next_gap_ms_ = 0;
  int64_t due_ns_ = 0;
  int64_t rounds_sent_ = 0;
};

}  // namespace godwit
