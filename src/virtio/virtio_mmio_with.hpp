// A virtio-mmio transport with a backend of a known type: the board's list
// entry for a `-device`, whose stream section holds the transport's
// registers and queues and the backend's own state.
//
// The section keeps the empty transport's name and version ("virtio_mmio",
// 1): everything a backend adds travels in the subsection
// "virtio_mmio/device", so a stream of a board without devices is byte for
// byte what it was. Loading checks both ways: an empty transport refuses
// the subsection (unknown subsection), and a transport with a backend
// refuses a stream without it or with another device id.
#pragma once

#include <concepts>
#include <memory>
#include <string>
#include <utility>

#include "base/state_description.hpp"
#include "virtio/virtio_mmio.hpp"

namespace godwit {

template <class Backend>
  requires std::derived_from<Backend, VirtioDevice> && StateOwner<Backend>
class VirtioMmioWith final : public VirtioMmio {
 public:
  struct State {
    static constexpr VMStateInfo kVMState{"virtio_mmio", 1, 1};
    uint32_t device_id = 0;
    TransportState transport;
    typename Backend::State device;
    bool device_loaded = false;  // not on the wire: set when the subsection is read
    template <class V>
    void visit_state(V& v) {
      v.subsection("virtio_mmio/device", 1, true, [&](auto& sub) {
        sub.equal("device_id", device_id);
        sub.field("transport", transport);
        sub.field("device", device);
        device_loaded = true;
      });
      v.validate(device_loaded, "the stream has an empty transport where this machine has a device");
    }
  };

  VirtioMmioWith(IrqLine irq, GuestMemory memory, std::unique_ptr<Backend> backend, bool legacy, std::string label)
      : VirtioMmio(irq, memory, std::move(backend), legacy, std::move(label)),
        typed_(static_cast<Backend*>(VirtioMmio::backend())) {}

  Backend& device() const { return *typed_; }

  State snapshot() const {
    return {.device_id = typed_->device_id(), .transport = snapshot_transport(), .device = typed_->snapshot()};
  }
  // All or nothing: the transport's values are checked before the backend
  // takes its state.
  Status restore(const State& state) {
    if (Status status = check_transport(state.transport); !status) return status;
    if (Status status = typed_->restore(state.device); !status) return status;
    if (Status status = restore_transport(state.transport); !status) return status;
    typed_->features_accepted(state.transport.guest_features);
    return {};
  }

 private:
  Backend* typed_;
};

}  // namespace godwit
