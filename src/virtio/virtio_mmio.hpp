// The virtio-mmio transport (virtio 1.x spec, section 4.2), as QEMU's virt
// machine has eight of them (0x10001000 + 0x1000*i, PLIC sources 1..8).
//
// Without a backend QEMU answers MagicValue ("virt"), Version and VendorID
// ("QEMU") and reads every other register as zero: Linux probes the slot,
// sees DeviceID 0 and leaves it alone. With a backend (VirtioDevice) it is
// a whole transport in one of two register layouts, picked by QEMU's
// `force-legacy` property:
//   legacy (Version 1, QEMU 10's default): GuestPageSize, QueueAlign and
//     QueuePFN place each queue's rings in one block; features are 32 bits;
//   modern (Version 2, force-legacy=false): QueueReady and separate
//     descriptor/driver/device ring addresses, 64-bit features with
//     VIRTIO_F_VERSION_1 required, the FEATURES_OK handshake and
//     ConfigGeneration.
// Registers take 32-bit accesses only, as on QEMU (others read 0 and are
// ignored); the config space at 0x100 takes 1, 2 and 4 bytes.
//
// Threads: read()/write() on hart threads, serialised by the transport's
// lock; the backend is called with that lock released, so that a backend's
// worker, which may report a broken queue or raise an interrupt from its own
// thread, never waits on a hart holding it. reset(), quiesce() and
// unquiesce() on the main thread with harts parked.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "base/state_description.hpp"
#include "devices/device.hpp"
#include "devices/irq_line.hpp"
#include "memory/guest_memory.hpp"
#include "virtio/virtio_device.hpp"
#include "virtio/virtqueue.hpp"

namespace godwit {

class VirtioMmio : public Device, private VirtioTransport {
 public:
  static constexpr uint64_t kWindowBytes = 0x1000;

  // Register offsets (section 4.2.2).
  static constexpr uint64_t kMagicValue = 0x000;
  static constexpr uint64_t kVersion = 0x004;
  static constexpr uint64_t kDeviceId = 0x008;
  static constexpr uint64_t kVendorId = 0x00c;
  static constexpr uint64_t kDeviceFeatures = 0x010;
  static constexpr uint64_t kDeviceFeaturesSel = 0x014;
  static constexpr uint64_t kDriverFeatures = 0x020;
  static constexpr uint64_t kDriverFeaturesSel = 0x024;
  static constexpr uint64_t kGuestPageSize = 0x028;  // legacy
  static constexpr uint64_t kQueueSel = 0x030;
  static constexpr uint64_t kQueueNumMax = 0x034;
  static constexpr uint64_t kQueueNum = 0x038;
  static constexpr uint64_t kQueueAlign = 0x03c;  // legacy
  static constexpr uint64_t kQueuePfn = 0x040;    // legacy
  static constexpr uint64_t kQueueReady = 0x044;  // modern
  static constexpr uint64_t kQueueNotify = 0x050;
  static constexpr uint64_t kInterruptStatus = 0x060;
  static constexpr uint64_t kInterruptAck = 0x064;
  static constexpr uint64_t kStatus = 0x070;
  static constexpr uint64_t kQueueDescLow = 0x080;
  static constexpr uint64_t kQueueDescHigh = 0x084;
  static constexpr uint64_t kQueueDriverLow = 0x090;
  static constexpr uint64_t kQueueDriverHigh = 0x094;
  static constexpr uint64_t kQueueDeviceLow = 0x0a0;
  static constexpr uint64_t kQueueDeviceHigh = 0x0a4;
  static constexpr uint64_t kConfigGeneration = 0x0fc;  // modern
  static constexpr uint64_t kConfig = 0x100;

  static constexpr uint32_t kMagic = 0x74726976;       // "virt"
  static constexpr uint32_t kVendorQemu = 0x554d4551;  // "QEMU"
  static constexpr uint32_t kLegacyVersion = 1;
  static constexpr uint32_t kModernVersion = 2;

  static constexpr uint32_t kInterruptUsedBuffer = 1;
  static constexpr uint32_t kInterruptConfigChange = 2;

  // The most queues a backend may have (virtio-serial's 31 ports and
  // control: 64).
  static constexpr unsigned kMaxQueues = 64;

  // An empty transport's state: nothing changes, so the section is only a
  // name and version telling the destination an empty transport was there.
  struct State {
    static constexpr VMStateInfo kVMState{"virtio_mmio", 1, 1};
    template <class V>
    void visit_state(V&) {}
  };

  // One queue's registers as the transport keeps them.
  struct QueueState {
    static constexpr VMStateInfo kVMState{"virtio_mmio_queue", 1, 1};
    uint32_t align = 0;  // legacy QueueAlign
    uint32_t pfn = 0;    // legacy QueuePFN
    Virtqueue::State queue;
    template <class V>
    void visit_state(V& v) {
      v.field("align", align);
      v.field("pfn", pfn);
      v.field("queue", queue);
    }
  };

  // The transport's registers with a backend behind it (what QEMU's
  // virtio_mmio and the VirtIODevice core save).
  struct TransportState {
    static constexpr VMStateInfo kVMState{"virtio_mmio_transport", 1, 1};
    uint32_t device_features_sel = 0;
    uint32_t driver_features_sel = 0;
    uint64_t driver_features = 0;  // as written, both halves
    uint64_t guest_features = 0;   // as accepted
    uint32_t guest_page_size = 0;  // legacy
    uint32_t status = 0;
    uint32_t interrupt_status = 0;
    uint32_t queue_sel = 0;
    uint32_t config_generation = 0;
    std::array<QueueState, kMaxQueues> queues{};
    template <class V>
    void visit_state(V& v) {
      v.field("device_features_sel", device_features_sel);
      v.field("driver_features_sel", driver_features_sel);
      v.field("driver_features", driver_features);
      v.field("guest_features", guest_features);
      v.field("guest_page_size", guest_page_size);
      v.field("status", status);
      v.field("interrupt_status", interrupt_status);
      v.field("queue_sel", queue_sel);
      v.field("config_generation", config_generation);
      v.field("queues", queues);
    }
  };

  // An empty transport (DeviceID 0), legacy unless `legacy` is false.
  explicit VirtioMmio(IrqLine irq, bool legacy = true);
  // A transport carrying `backend`; `label` names it in the log
  // ("virtio-mmio@0x10008000").
  VirtioMmio(IrqLine irq, GuestMemory memory, std::unique_ptr<VirtioDevice> backend, bool legacy, std::string label);
  ~VirtioMmio() override;

  std::string_view name() const override { return "virtio-mmio"; }
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  void reset() override;
  void quiesce() override;
  void unquiesce() override;

  // The empty description, for a transport with no backend.
  State snapshot() const { return {}; }
  Status restore(const State&) { return {}; }

  // With a backend: its registers and queues. restore_transport() fails,
  // changing nothing, on values this transport cannot take (a queue past
  // the backend's, a size over a maximum), and re-drives the interrupt.
  TransportState snapshot_transport() const;
  Status check_transport(const TransportState& state) const;
  Status restore_transport(const TransportState& state);

  const IrqLine& irq() const { return irq_; }
  bool legacy() const { return legacy_; }
  VirtioDevice* backend() const { return backend_.get(); }

  // VirtioTransport, for the backend.
  Virtqueue& queue(unsigned index) override { return *queues_.at(index); }
  uint64_t guest_features() const override;
  uint32_t status() const override;
  void notify_config_change() override;
  void mark_broken(std::string_view why) override;

 private:
  uint64_t host_features() const;
  uint64_t read_register(uint64_t offset);
  // Each returns the calls into the backend that must follow (a mask, see
  // the .cpp), made once the lock is released.
  unsigned write_register(uint64_t offset, uint32_t value, unsigned& notify_index);
  unsigned write_status(uint32_t value);
  Virtqueue* selected_queue();
  void update_legacy_rings(unsigned index);
  void reset_registers();
  void apply_ring_features();
  void raise(uint32_t bits);
  void ack(uint32_t bits);

  IrqLine irq_;
  const bool legacy_;
  std::optional<GuestMemory> memory_;
  std::unique_ptr<VirtioDevice> backend_;
  std::string label_;
  std::vector<std::unique_ptr<Virtqueue>> queues_;

  mutable std::mutex mutex_;  // the registers below, and queue register writes
  uint32_t device_features_sel_ = 0;
  uint32_t driver_features_sel_ = 0;
  uint64_t driver_features_ = 0;
  uint64_t guest_features_ = 0;
  uint32_t guest_page_size_ = 0;
  uint32_t status_ = 0;
  uint32_t queue_sel_ = 0;
  std::atomic<uint32_t> config_generation_{0};
  std::array<uint32_t, kMaxQueues> queue_align_{};
  std::array<uint32_t, kMaxQueues> queue_pfn_{};

  // InterruptStatus and the line it drives: raised from any thread, acked
  // by harts; one lock keeps the line's level equal to (status != 0).
  mutable std::mutex interrupt_mutex_;
  uint32_t interrupt_status_ = 0;
};

}  // namespace godwit
