// What a virtio device backend (entropy, console, block, ...) implements,
// and what it may ask of the transport that carries it (virtio 1.x spec,
// sections 2 and 4.2). The transport (virtio_mmio.hpp) owns the registers,
// the feature negotiation and the queues; the backend owns only its config
// space and what it does with the buffers the driver hands it.
//
// A backend's life: attach() once when plugged; features_accepted() when the
// driver's feature set is final; queue_notify() on every QueueNotify write;
// reset() on a status write of 0 and on system reset; quiesce()/unquiesce()
// around every pause of the guest.
//
// Migratable state: a backend is also a state owner (base/state_description.hpp:
// `using State`, `State snapshot() const`, `Status restore(const State&)`);
// VirtioMmioWith<Backend> (virtio_mmio_with.hpp) puts it in the transport's
// stream section. A backend with nothing of its own has an empty State.
//
// Threads: queue_notify(), read_config() and write_config() come on hart
// threads with no transport lock held, reset()/quiesce()/unquiesce() on the
// main thread with harts parked or from a hart's status write. A backend may
// pop and push its queues from any thread (its own workers included):
// Virtqueue serialises that against the transport's register accesses.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "virtio/virtqueue.hpp"

namespace godwit {

// Device ids (virtio 1.x spec, section 5).
inline constexpr uint32_t kVirtioIdNet = 1;
inline constexpr uint32_t kVirtioIdBlock = 2;
inline constexpr uint32_t kVirtioIdConsole = 3;
inline constexpr uint32_t kVirtioIdEntropy = 4;

// Device-independent feature bits (section 6) the transport handles itself.
inline constexpr uint64_t kVirtioFeatureNotifyOnEmpty = uint64_t{1} << 24;
inline constexpr uint64_t kVirtioFeatureAnyLayout = uint64_t{1} << 27;
inline constexpr uint64_t kVirtioFeatureIndirectDesc = uint64_t{1} << 28;
inline constexpr uint64_t kVirtioFeatureEventIdx = uint64_t{1} << 29;
inline constexpr uint64_t kVirtioFeatureVersion1 = uint64_t{1} << 32;

// Device status bits (section 2.1).
inline constexpr uint32_t kVirtioStatusAcknowledge = 1;
inline constexpr uint32_t kVirtioStatusDriver = 2;
inline constexpr uint32_t kVirtioStatusDriverOk = 4;
inline constexpr uint32_t kVirtioStatusFeaturesOk = 8;
inline constexpr uint32_t kVirtioStatusNeedsReset = 64;
inline constexpr uint32_t kVirtioStatusFailed = 128;

// The transport as a backend sees it.
class VirtioTransport {
 public:
  virtual ~VirtioTransport() = default;
  // Queue `index` (< the backend's queue_count()).
  virtual Virtqueue& queue(unsigned index) = 0;
  // The features the driver accepted (0 until it did).
  virtual uint64_t guest_features() const = 0;
  // The device's status register (DRIVER_OK and friends).
  virtual uint32_t status() const = 0;
  // The config space changed: bumps ConfigGeneration and raises the
  // configuration-change interrupt. Any thread.
  virtual void notify_config_change() = 0;
  // The driver broke the device's rules: DEVICE_NEEDS_RESET, a config
  // interrupt and one line in the log (section 2.1.2). Any thread.
  virtual void mark_broken(std::string_view why) = 0;
};

class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;

  // QEMU's model name ("virtio-rng-device"), for messages.
  virtual std::string_view name() const = 0;
  virtual uint32_t device_id() const = 0;
  // The device-specific feature bits offered (the transport adds VERSION_1
  // and the ring features it implements).
  virtual uint64_t device_features() const = 0;

  virtual unsigned queue_count() const = 0;
  virtual uint16_t queue_max_size(unsigned index) const = 0;

  // Device config space, [0, config_size()). The transport checks bounds and
  // splits the access; the backend copies bytes (little-endian layout as the
  // spec gives it).
  virtual uint32_t config_size() const { return 0; }
  virtual void read_config(uint32_t offset, std::span<uint8_t> out) const {
    (void)offset;
    for (auto& byte : out) byte = 0;
  }
  virtual void write_config(uint32_t offset, std::span<const uint8_t> in) {
    (void)offset;
    (void)in;
  }

  // Called once, before any other call but name()/ids/sizes.
  virtual void attach(VirtioTransport& transport) = 0;
  // The driver's feature set is final (legacy: when written; modern: at
  // FEATURES_OK).
  virtual void features_accepted(uint64_t features) { (void)features; }
  // The driver set DRIVER_OK: queues are live.
  virtual void driver_ok() {}
  // The driver wrote QueueNotify with `index` (< queue_count()).
  virtual void queue_notify(unsigned index) = 0;
  // Back to the state after attach(): drop whatever is in flight without
  // touching guest memory (the queues are being reset too).
  virtual void reset() {}
  // See Device::quiesce(): finish or park in-flight requests so that the
  // queues' indices and guest RAM are the whole state.
  virtual void quiesce() {}
  virtual void unquiesce() {}
};

}  // namespace godwit
