// The virt board's state as migration stream sections, in save order: the
// machine's own (shape, guest time, run state, pause stamp), the harts, the
// board's device list, then the connections handed over by CPR.
#include <memory>

#include "machine/machine_state.hpp"
#include "machine/virt_machine.hpp"
#include "migration/state_section.hpp"

namespace godwit {
std::vector<DeviceSection> VirtMachine::device_sections() {
  std::vector<DeviceSection> sections;
  // equal() fields: a destination of another shape refuses the stream.
  sections.push_back(state_section<MachineShapeState>(
      "virt-machine", 0, [this] { return MachineShapeState{hart_count(), ram_->size_bytes()}; },
      [](const MachineShapeState&) -> Status { return {}; }));
  // Guest time next: devices that compare against it load after it is set.
  sections.push_back(state_section<GuestClockState>(
      "timer", 0, [this] { return GuestClockState{clock_.ns()}; },
      [this](const GuestClockState& state) -> Status {
        if (clock_.running()) return fail("timer: guest time can only be restored while stopped");
        clock_.set_ns(state.guest_ns);
        return {};
      }));
  sections.push_back(state_section<GlobalState>(
      "globalstate", 0,
      [this] {
        GlobalState state;
        state.set_text(run_state_name(state_before_migration_));
        return state;
      },
      [this](const GlobalState& state) -> Status {
        incoming_source_state_ = state.text();
        return {};
      }));
  sections.push_back(state_section<PauseStampState>(
      "godwit-pause", 0, [this] { return PauseStampState{stopped_at_ns_, host_boot_id_hash()}; },
      [this](const PauseStampState& state) -> Status {
        incoming_stopped_at_ns_ = state.boot_id_hash == host_boot_id_hash() ? state.stopped_at_ns : 0;
        return {};
      }));
  for (unsigned i = 0; i < harts_.size(); ++i) {
    Hart& hart = *harts_[i];
    sections.push_back({"cpu", i, HartState::kVMState.version_id, [&hart](StreamWriter& out) { hart.save(out); },
                        [&hart](StreamReader& in, uint32_t version) { return hart.load(in, version); },
                        [&hart] { return hart.describe(); }});
  }
  devices_.append_sections(sections);
  // Last: freezing the connections waits for commands in flight, which may
  // read device state; and nothing may be written to them after this.
  sections.push_back({"godwit-connections", 0, connections_section_version(),
                      [this](StreamWriter& out) { save_connections(out); },
                      [this](StreamReader& in, uint32_t version) { return load_connections(in, version); },
                      [this] { return describe_connections(); }});
  return sections;
}

}  // namespace godwit
