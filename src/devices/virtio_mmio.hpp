// A virtio-mmio transport with no device behind it, as QEMU's virt machine
// exposes eight of them (0x10001000 + 0x1000*i, PLIC sources 1..8).
//
// With no backend QEMU answers MagicValue ("virt"), Version and VendorID
// ("QEMU") and reads every other register as zero: Linux probes the slot,
// sees DeviceID 0 and leaves it alone. Writes are ignored. QEMU's virt keeps
// the transport's `force-legacy` property at its default (on), so Version
// reads 1 (legacy).
//
// Threads: read()/write() on hart threads; the device has no mutable state.
#pragma once

#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "devices/irq_line.hpp"
#include "memory/mmio_device.hpp"
#include "migration/stream_reader.hpp"
#include "migration/stream_writer.hpp"
#include "migration/vmstate.hpp"

namespace godwit {

class VirtioMmio final : public MmioDevice {
 public:
  static constexpr uint64_t kWindowBytes = 0x1000;

  // Register offsets from the virtio 1.x spec, section 4.2.2.
  static constexpr uint64_t kMagicValue = 0x000;
  static constexpr uint64_t kVersion = 0x004;
  static constexpr uint64_t kDeviceId = 0x008;
  static constexpr uint64_t kVendorId = 0x00c;

  static constexpr uint32_t kMagic = 0x74726976;   // "virt"
  static constexpr uint32_t kVendorQemu = 0x554d4551;  // "QEMU"
  static constexpr uint32_t kLegacyVersion = 1;

  // Nothing changes without a backend: the description has no fields, so
  // the section is only a name and version that tells the destination a
  // transport with nothing behind it was there. A backend brings its state
  // (status, features, queues) in its own fields.
  struct State {
    static constexpr VMStateInfo kVMState{"virtio_mmio", 1, 1};
    template <class V>
    void visit_state(V&) {}
  };

  explicit VirtioMmio(IrqLine irq) : irq_(irq) {}

  std::string_view name() const override { return "virtio-mmio"; }
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  // Migration of the empty description: a version check and nothing else.
  void save(StreamWriter& out) const {
    State copy = state_;
    save_state(out, copy);
  }
  Status load(StreamReader& in, uint32_t version_id) {
    State loaded = state_;
    return load_state(in, loaded, version_id);
  }
  nlohmann::json describe() const {
    State copy = state_;
    return describe_state(copy);
  }

  void reset() { irq_.set(false); }

  const IrqLine& irq() const { return irq_; }

 private:
  IrqLine irq_;
  State state_;
};

}  // namespace godwit
