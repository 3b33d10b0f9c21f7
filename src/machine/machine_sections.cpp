// The virt board's device state as migration stream sections: which devices
// exist in which order, under the names QEMU would give them.
#include <memory>

#include "base/monotonic_clock.hpp"
#include "machine/machine_state.hpp"
#include "machine/virt_machine.hpp"

namespace godwit {
namespace {

// A section for a device class with save/load/describe and a State::kVMState.
template <class Device>
DeviceSection device_section(const char* idstr, uint32_t instance, Device& device) {
  return {idstr,
          instance,
          Device::State::kVMState.version_id,
          [&device](StreamWriter& out) { device.save(out); },
          [&device](StreamReader& in, uint32_t version) { return device.load(in, version); },
          [&device] { return device.describe(); }};
}

}  // namespace

std::vector<DeviceSection> VirtMachine::device_sections() {
  std::vector<DeviceSection> sections;
  sections.push_back({"virt-machine", 0, MachineShapeState::kVMState.version_id,
                      [this](StreamWriter& out) {
                        MachineShapeState shape{hart_count(), ram_->size_bytes()};
                        save_state(out, shape);
                      },
                      [this](StreamReader& in, uint32_t version) {
                        // equal() compares against the values this machine holds.
                        MachineShapeState shape{hart_count(), ram_->size_bytes()};
                        return load_state(in, shape, version);
                      },
                      [this] {
                        MachineShapeState shape{hart_count(), ram_->size_bytes()};
                        return describe_state(shape);
                      }});
  // Guest time next: devices that compare against it load after it is set.
  sections.push_back({"timer", 0, GuestClockState::kVMState.version_id,
                      [this](StreamWriter& out) {
                        GuestClockState state{clock_.ns()};
                        save_state(out, state);
                      },
                      [this](StreamReader& in, uint32_t version) -> Status {
                        GuestClockState state;
                        if (auto status = load_state(in, state, version); !status) return status;
                        if (clock_.running()) return fail("timer: guest time can only be restored while stopped");
                        clock_.set_ns(state.guest_ns);
                        return {};
                      },
                      [this] {
                        GuestClockState state{clock_.ns()};
                        return describe_state(state);
                      }});
  sections.push_back({"globalstate", 0, GlobalState::kVMState.version_id,
                      [this](StreamWriter& out) {
                        GlobalState state;
                        state.set_text(run_state_name(state_before_migration_));
                        save_state(out, state);
                      },
                      [this](StreamReader& in, uint32_t version) -> Status {
                        GlobalState state;
                        if (auto status = load_state(in, state, version); !status) return status;
                        incoming_source_state_ = state.text();
                        return {};
                      },
                      [this] {
                        GlobalState state;
                        state.set_text(run_state_name(state_before_migration_));
                        return describe_state(state);
                      }});
  sections.push_back({"godwit-pause", 0, PauseStampState::kVMState.version_id,
                      [this](StreamWriter& out) {
                        PauseStampState state{stopped_at_ns_, host_boot_id_hash()};
                        save_state(out, state);
                      },
                      [this](StreamReader& in, uint32_t version) -> Status {
                        PauseStampState state;
                        if (auto status = load_state(in, state, version); !status) return status;
                        incoming_stopped_at_ns_ = state.boot_id_hash == host_boot_id_hash() ? state.stopped_at_ns : 0;
                        return {};
                      },
                      [this] {
                        PauseStampState state{stopped_at_ns_, host_boot_id_hash()};
                        return describe_state(state);
                      }});
  for (unsigned i = 0; i < harts_.size(); ++i) {
    Hart& hart = *harts_[i];
    sections.push_back({"cpu", i, HartState::kVMState.version_id, [&hart](StreamWriter& out) { hart.save(out); },
                        [&hart](StreamReader& in, uint32_t version) { return hart.load(in, version); },
                        [&hart] { return hart.describe(); }});
  }
  sections.push_back(device_section("riscv_aclint", 0, *clint_));
  sections.push_back(device_section("riscv_sifive_plic", 0, *plic_));
  sections.push_back(device_section("serial", 0, *uart_));
  sections.push_back(device_section("goldfish_rtc", 0, *rtc_));
  sections.push_back(device_section("riscv.sifive.test", 0, *test_device_));
  for (unsigned i = 0; i < virtio_.size(); ++i) sections.push_back(device_section("virtio-mmio", i, *virtio_[i]));
  // Last: freezing the connections waits for commands in flight, which may
  // read device state; and nothing may be written to them after this.
  sections.push_back({"godwit-connections", 0, connections_section_version(),
                      [this](StreamWriter& out) { save_connections(out); },
                      [this](StreamReader& in, uint32_t version) { return load_connections(in, version); },
                      [this] { return describe_connections(); }});
  return sections;
}

}  // namespace godwit
