// QEMU's RunState values (qapi/run-state.json) that godwit's machine can be in.
#pragma once

#include <string_view>

namespace godwit {

enum class RunState {
  kPrelaunch,  // created with -S, guest not started yet
  kRunning,
  kPaused,     // stopped by the user
  kShutdown,   // the guest powered off (kept with -no-shutdown)
};

constexpr std::string_view run_state_name(RunState state) {
  switch (state) {
    case RunState::kPrelaunch: return "prelaunch";
    case RunState::kRunning: return "running";
    case RunState::kPaused: return "paused";
    case RunState::kShutdown: return "shutdown";
  }
  return "unknown";
}

}  // namespace godwit
