#include "net/announcer.hpp"

#include <algorithm>

#include "base/monotonic_clock.hpp"

namespace godwit {

Announcer::Announcer(IoLoop& loop, std::function<void()> send_round)
    : loop_(loop), send_round_(std::move(send_round)) {
  loop_.add_source(this);
}

Announcer::~Announcer() {
  loop_.run_and_wait([this] { loop_.remove_source(this); });
}

void Announcer::start(const AnnounceParameters& parameters) {
  {
    std::lock_guard lock(mutex_);
    parameters_ = parameters;
    rounds_left_ = std::max<int64_t>(parameters.rounds, 0);
    next_gap_ms_ = std::clamp<int64_t>(parameters.initial_ms, 0, std::max<int64_t>(parameters.max_ms, 0));
    due_ns_ = monotonic_ns() + next_gap_ms_ * 1'000'000;
  }
  loop_.post([] {});  // the loop sets its timeout anew
}

int64_t Announcer::rounds_sent() const {
  std::lock_guard lock(mutex_);
  return rounds_sent_;
}

void Announcer::prepare(std::vector<pollfd>&, int& timeout_ms) {
  std::lock_guard lock(mutex_);
  if (rounds_left_ == 0) return;
  const int64_t wait_ms = std::max<int64_t>(0, (due_ns_ - monotonic_ns() + 999'999) / 1'000'000);
  if (timeout_ms < 0 || wait_ms < timeout_ms) timeout_ms = static_cast<int>(wait_ms);
}

void Announcer::dispatch(std::span<const pollfd>) {
  {
    std::lock_guard lock(mutex_);
    if (rounds_left_ == 0 || monotonic_ns() < due_ns_) return;
    --rounds_left_;
    ++rounds_sent_;
    next_gap_ms_ = std::min(next_gap_ms_ + parameters_.step_ms, parameters_.max_ms);
    due_ns_ = monotonic_ns() + next_gap_ms_ * 1'000'000;
  }
  send_round_();
}

}  // namespace godwit
