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
#include <utility>

#include "base/state_description.hpp"
#include "migration/device_section.hpp"
#include "migration/vmstate.hpp"

namespace godwit {

// A section named `idstr`/`instance_id` (QEMU's idstr and instance id) for
// `owner`, at its description's version. `owner` must outlive the section.
template <StateOwner Owner>
DeviceSection state_section(std::string idstr, uint32_t instance_id, Owner& owner) {
  using State = typename Owner::State;
  return {std::move(idstr), instance_id, State::kVMState.version_id,
          [&owner](StreamWriter& out) {
            State state = owner.snapshot();  // no device lock is held while the stream is written
            save_state(out, state);
          },
          [&owner](StreamReader& in, uint32_t version_id) -> Status {
            State state = owner.snapshot();
            if (Status status = load_state(in, state, version_id); !status) return status;
            return owner.restore(state);
          },
          [&owner] {
            State state = owner.snapshot();
            return describe_state(state);
          }};
}

}  // namespace godwit
