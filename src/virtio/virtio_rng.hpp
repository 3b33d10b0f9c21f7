// virtio-rng-device (virtio 1.x spec, section 5.4): one request queue whose
// writable buffers the device fills with entropy. No features, no config.
//
// Threads: queue_notify() on the hart that wrote QueueNotify; the queue's
// own lock serialises it with the transport.
#pragma once

#include <memory>

#include "base/state_description.hpp"
#include "virtio/entropy_source.hpp"
#include "virtio/virtio_device.hpp"

namespace godwit {

class VirtioRng final : public VirtioDevice {
 public:
  // QEMU's queue size for virtio-rng.
  static constexpr uint16_t kQueueSize = 8;

  // Nothing but the transport's queues: requests are answered at once.
  struct State {
    static constexpr VMStateInfo kVMState{"virtio-rng", 1, 1};
    template <class V>
    void visit_state(V&) {}
  };

  explicit VirtioRng(std::unique_ptr<EntropySource> source) : source_(std::move(source)) {}

  std::string_view name() const override { return "virtio-rng-device"; }
  uint32_t device_id() const override { return kVirtioIdEntropy; }
  uint64_t device_features() const override { return 0; }
  unsigned queue_count() const override { return 1; }
  uint16_t queue_max_size(unsigned) const override { return kQueueSize; }
  void attach(VirtioTransport& transport) override { transport_ = &transport; }
  void queue_notify(unsigned index) override;

  State snapshot() const { return {}; }
  Status restore(const State&) { return {}; }

 private:
  std::unique_ptr<EntropySource> source_;
  VirtioTransport* transport_ = nullptr;
};

}  // namespace godwit
