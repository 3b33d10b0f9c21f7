// The one adapter from a state owner (a device, a hart: anything with
// `State snapshot() const` and `Status restore(const State&)`) to a section
// of the migration stream. Devices describe their state once, as plain data;
// this is the only place that puts such state on the wire or takes it off.
//
// Loading reads into a snapshot of the owner's current state, so fields a
// stream of an older version does not carry keep their values (since(N)), and
// hands the owner the whole state only once the section read cleanly: a bad
// stream leaves the owner as it was.
#pragma once

#include <string>
#include <type_traits>
#include <utility>

#include "base/state_description.hpp"
#include "migration/device_section.hpp"
#include "migration/vmstate.hpp"

namespace godwit {

// A section named `idstr`/`instance_id` (QEMU's idstr and instance id) whose
// state `snapshot()` returns and `restore(const State&)` takes, at the
// description's version. Both must outlive the section.
template <StateStruct State, class Snapshot, class Restore>
  requires std::is_invocable_r_v<State, Snapshot&> && std::is_invocable_r_v<Status, Restore&, const State&>
DeviceSection state_section(std::string idstr, uint32_t instance_id, Snapshot snapshot, Restore restore) {
  return {std::move(idstr), instance_id, State::kVMState.version_id,
          [snapshot](StreamWriter& out) mutable {
            State state = snapshot();  // no device lock is held while the stream is written
            save_state(out, state);
          },
          [snapshot, restore](StreamReader& in, uint32_t version_id) mutable -> Status {
            State state = snapshot();
            if (Status status = load_state(in, state, version_id); !status) return status;
            return restore(std::as_const(state));
          },
          [snapshot]() mutable {
            State state = snapshot();
            return describe_state(state);
          }};
}

// The same for an owner of described state (a device, a hart), which must
// outlive the section.
template <StateOwner Owner>
DeviceSection state_section(std::string idstr, uint32_t instance_id, Owner& owner) {
  using State = typename Owner::State;
  return state_section<State>(
      std::move(idstr), instance_id, [&owner] { return owner.snapshot(); },
      [&owner](const State& state) { return owner.restore(state); });
}

}  // namespace godwit
