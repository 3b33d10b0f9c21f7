#include "virtio/virtio_mmio.hpp"

#include <cstdio>

#include "base/byte_order.hpp"

namespace godwit {

namespace {

// Follow-up calls into the backend, made once the transport's lock is free.
constexpr unsigned kCallNotify = 1;
constexpr unsigned kCallReset = 2;
constexpr unsigned kCallFeatures = 4;
constexpr unsigned kCallDriverOk = 8;

uint64_t low_bytes(uint64_t value, unsigned size) {
  return size < 8 ? value & ((uint64_t{1} << (8 * size)) - 1) : value;
}

uint64_t set_half(uint64_t value, bool high, uint32_t half) {
  return high ? (value & 0xffffffffu) | (uint64_t{half} << 32) : (value & ~uint64_t{0xffffffffu}) | half;
}

}  // namespace

VirtioMmio::VirtioMmio(IrqLine irq, bool legacy) : irq_(irq), legacy_(legacy) {}

VirtioMmio::VirtioMmio(IrqLine irq, GuestMemory memory, std::unique_ptr<VirtioDevice> backend, bool legacy,
                       std::string label)
    : irq_(irq), legacy_(legacy), memory_(memory), backend_(std::move(backend)), label_(std::move(label)) {
  const unsigned count = std::min(backend_->queue_count(), kMaxQueues);
  for (unsigned i = 0; i < count; ++i) {
    auto queue = std::make_unique<Virtqueue>(memory, backend_->queue_max_size(i));
    queue->set_interrupt_handler([this] { raise(kInterruptUsedBuffer); });
    queue->set_broken_handler([this](const std::string& why) { mark_broken(why); });
    queues_.push_back(std::move(queue));
  }
  backend_->attach(*this);
}

VirtioMmio::~VirtioMmio() = default;

uint64_t VirtioMmio::host_features() const {
  uint64_t features = backend_->device_features() | kVirtioFeatureIndirectDesc | kVirtioFeatureEventIdx;
  // QEMU offers VERSION_1 only on a modern transport; a legacy one has 32 bits.
  if (legacy_) return features & 0xffffffffu;
  return features | kVirtioFeatureVersion1;
}

uint64_t VirtioMmio::guest_features() const {
  std::lock_guard lock(mutex_);
  return guest_features_;
}

uint32_t VirtioMmio::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

Virtqueue* VirtioMmio::selected_queue() { return queue_sel_ < queues_.size() ? queues_[queue_sel_].get() : nullptr; }

// --- interrupts ---

void VirtioMmio::raise(uint32_t bits) {
  std::lock_guard lock(interrupt_mutex_);
  interrupt_status_ |= bits;
  irq_.set(true);
}

void VirtioMmio::ack(uint32_t bits) {
  std::lock_guard lock(interrupt_mutex_);
  interrupt_status_ &= ~bits;
  irq_.set(interrupt_status_ != 0);
}

void VirtioMmio::notify_config_change() {
  config_generation_.fetch_add(1, std::memory_order_relaxed);
  raise(kInterruptConfigChange);
}

void VirtioMmio::mark_broken(std::string_view why) {
  {
    std::lock_guard lock(mutex_);
    if (status_ & kVirtioStatusNeedsReset) return;  // said once until the driver resets
    status_ |= kVirtioStatusNeedsReset;
  }
  std::fprintf(stderr, "godwit: %s (%.*s): %.*s; device needs reset\n", label_.c_str(),
               static_cast<int>(backend_->name().size()), backend_->name().data(), static_cast<int>(why.size()),
               why.data());
  notify_config_change();
}

// --- registers ---

uint64_t VirtioMmio::read(uint64_t offset, unsigned size) {
  if (!backend_) {
    // QEMU matches the exact offset whatever the access size and the memory
    // core keeps the low `size` bytes: a byte read at 0 gives 0x76, at 1 gives 0.
    uint64_t value = 0;
    if (offset == kMagicValue) value = kMagic;
    if (offset == kVersion) value = legacy_ ? kLegacyVersion : kModernVersion;
    if (offset == kVendorId) value = kVendorQemu;
    return low_bytes(value, size);
  }
  if (offset >= kConfig) {
    const uint64_t at = offset - kConfig;
    if ((size != 1 && size != 2 && size != 4) || at + size > backend_->config_size()) return 0;
    std::array<uint8_t, 8> bytes{};
    backend_->read_config(static_cast<uint32_t>(at), std::span(bytes).first(size));
    return load_le_sized(bytes.data(), size);
  }
  if (size != 4) return 0;  // QEMU: "wrong size access to register"
  std::lock_guard lock(mutex_);
  return read_register(offset);
}

uint64_t VirtioMmio::read_register(uint64_t offset) {
  Virtqueue* queue = selected_queue();
  switch (offset) {
    case kMagicValue: return kMagic;
    case kVersion: return legacy_ ? kLegacyVersion : kModernVersion;
    case kDeviceId: return backend_->device_id();
    case kVendorId: return kVendorQemu;
    case kDeviceFeatures:
      if (device_features_sel_ > 1 || (legacy_ && device_features_sel_ != 0)) return 0;
      return static_cast<uint32_t>(host_features() >> (32 * device_features_sel_));
    case kQueueNumMax: return queue ? queue->max_size() : 0;
    case kQueuePfn: return legacy_ && queue ? queue_pfn_[queue_sel_] : 0;
    case kQueueReady: return !legacy_ && queue && queue->ready() ? 1 : 0;
    case kInterruptStatus: {
      std::lock_guard interrupt_lock(interrupt_mutex_);
      return interrupt_status_;
    }
    case kStatus: return status_;
    case kConfigGeneration: return legacy_ ? 0 : config_generation_.load(std::memory_order_relaxed);
    case kQueueDescLow: return !legacy_ && queue ? static_cast<uint32_t>(queue->desc()) : 0;
    case kQueueDescHigh: return !legacy_ && queue ? static_cast<uint32_t>(queue->desc() >> 32) : 0;
    case kQueueDriverLow: return !legacy_ && queue ? static_cast<uint32_t>(queue->avail()) : 0;
    case kQueueDriverHigh: return !legacy_ && queue ? static_cast<uint32_t>(queue->avail() >> 32) : 0;
    case kQueueDeviceLow: return !legacy_ && queue ? static_cast<uint32_t>(queue->used()) : 0;
    case kQueueDeviceHigh: return !legacy_ && queue ? static_cast<uint32_t>(queue->used() >> 32) : 0;
    default: return 0;  // write-only or reserved
  }
}

void VirtioMmio::write(uint64_t offset, unsigned size, uint64_t value) {
  if (!backend_) return;
  if (offset >= kConfig) {
    const uint64_t at = offset - kConfig;
    if ((size != 1 && size != 2 && size != 4) || at + size > backend_->config_size()) return;
    std::array<uint8_t, 8> bytes{};
    store_le_sized(bytes.data(), size, value);
    backend_->write_config(static_cast<uint32_t>(at), std::span<const uint8_t>(bytes).first(size));
    return;
  }
  if (size != 4) return;
  unsigned calls = 0;
  unsigned notify_index = 0;
  uint64_t features = 0;
  {
    std::lock_guard lock(mutex_);
    calls = write_register(offset, static_cast<uint32_t>(value), notify_index);
    features = guest_features_;
  }
  if (calls & kCallReset) backend_->reset();
  if (calls & kCallFeatures) backend_->features_accepted(features);
  if (calls & kCallDriverOk) backend_->driver_ok();
  if (calls & kCallNotify) backend_->queue_notify(notify_index);
}

void VirtioMmio::update_legacy_rings(unsigned index) {
  Virtqueue& queue = *queues_[index];
  const uint64_t num = queue.num();
  const uint64_t align = queue_align_[index] != 0 ? queue_align_[index] : 4096;
  const uint64_t desc = uint64_t{queue_pfn_[index]} * guest_page_size_;
  const uint64_t avail = desc + 16 * num;
  // The legacy layout (virtio 0.9.5, Linux's vring_size): the used ring
  // starts at the next `align` boundary after the available ring.
  const uint64_t avail_end = avail + 2 * (3 + num);
  const uint64_t used = (avail_end + align - 1) / align * align;
  queue.set_addresses(desc, avail, used);
  queue.set_ready(queue_pfn_[index] != 0);
}

unsigned VirtioMmio::write_register(uint64_t offset, uint32_t value, unsigned& notify_index) {
  Virtqueue* queue = selected_queue();
  switch (offset) {
    case kDeviceFeaturesSel: device_features_sel_ = value; return 0;
    case kDriverFeatures:
      if (legacy_) {
        // Legacy features take effect when written (sel 0 only).
        if (driver_features_sel_ != 0) return 0;
        driver_features_ = value;
        guest_features_ = value & host_features();
        apply_ring_features();
        return kCallFeatures;
      }
      if (driver_features_sel_ <= 1) driver_features_ = set_half(driver_features_, driver_features_sel_ == 1, value);
      return 0;
    case kDriverFeaturesSel: driver_features_sel_ = value; return 0;
    case kGuestPageSize:
      if (legacy_) guest_page_size_ = value;
      return 0;
    case kQueueSel: queue_sel_ = value; return 0;
    case kQueueNum:
      if (!queue || value > queue->max_size()) return 0;
      queue->set_num(static_cast<uint16_t>(value));
      if (legacy_) update_legacy_rings(queue_sel_);
      return 0;
    case kQueueAlign:
      if (legacy_ && queue) {
        queue_align_[queue_sel_] = value;
        update_legacy_rings(queue_sel_);
      }
      return 0;
    case kQueuePfn:
      if (legacy_ && queue) {
        queue_pfn_[queue_sel_] = value;
        update_legacy_rings(queue_sel_);
      }
      return 0;
    case kQueueReady:
      if (!legacy_ && queue) queue->set_ready(value & 1);
      return 0;
    case kQueueDescLow:
    case kQueueDescHigh:
      if (!legacy_ && queue) queue->set_desc(set_half(queue->desc(), offset == kQueueDescHigh, value));
      return 0;
    case kQueueDriverLow:
    case kQueueDriverHigh:
      if (!legacy_ && queue) queue->set_avail(set_half(queue->avail(), offset == kQueueDriverHigh, value));
      return 0;
    case kQueueDeviceLow:
    case kQueueDeviceHigh:
      if (!legacy_ && queue) queue->set_used(set_half(queue->used(), offset == kQueueDeviceHigh, value));
      return 0;
    case kQueueNotify:
      if (value >= queues_.size() || !queues_[value]->ready()) return 0;
      notify_index = value;
      return kCallNotify;
    case kInterruptAck: ack(value); return 0;
    case kStatus: return write_status(value);
    default: return 0;  // read-only or reserved
  }
}

unsigned VirtioMmio::write_status(uint32_t value) {
  if (value == 0) {
    // A driver's reset keeps GuestPageSize: Linux writes it once when it
    // finds the transport, before the virtio core resets the device for
    // each driver probe (QEMU keeps it too, clearing it only on system reset).
    const uint32_t page_size = guest_page_size_;
    reset_registers();
    guest_page_size_ = page_size;
    return kCallReset;
  }
  unsigned calls = 0;
  if (!legacy_ && (value & kVirtioStatusFeaturesOk) && !(status_ & kVirtioStatusFeaturesOk)) {
    // Section 3.1.1: the device refuses FEATURES_OK for a set it did not
    // offer; a modern transport also needs VERSION_1 accepted.
    const bool subset = (driver_features_ & ~host_features()) == 0;
    if (subset && (driver_features_ & kVirtioFeatureVersion1)) {
      guest_features_ = driver_features_;
      apply_ring_features();
      calls |= kCallFeatures;
    } else {
      value &= ~kVirtioStatusFeaturesOk;
    }
  }
  if ((value & kVirtioStatusDriverOk) && !(status_ & kVirtioStatusDriverOk)) calls |= kCallDriverOk;
  status_ = value | (status_ & kVirtioStatusNeedsReset);
  return calls;
}

void VirtioMmio::apply_ring_features() {
  for (auto& queue : queues_) {
    queue->set_features(guest_features_ & kVirtioFeatureEventIdx, guest_features_ & kVirtioFeatureIndirectDesc);
  }
}

void VirtioMmio::reset_registers() {
  device_features_sel_ = 0;
  driver_features_sel_ = 0;
  driver_features_ = 0;
  guest_features_ = 0;
  guest_page_size_ = 0;
  status_ = 0;
  queue_sel_ = 0;
  queue_align_ = {};
  queue_pfn_ = {};
  for (auto& queue : queues_) queue->reset();
  ack(~uint32_t{0});
}

void VirtioMmio::reset() {
  if (!backend_) {
    irq_.set(false);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    reset_registers();
    config_generation_.store(0, std::memory_order_relaxed);
  }
  backend_->reset();
}

void VirtioMmio::quiesce() {
  if (backend_) backend_->quiesce();
}

void VirtioMmio::unquiesce() {
  if (backend_) backend_->unquiesce();
}

// --- migration ---

VirtioMmio::TransportState VirtioMmio::snapshot_transport() const {
  std::lock_guard lock(mutex_);
  TransportState state;
  state.device_features_sel = device_features_sel_;
  state.driver_features_sel = driver_features_sel_;
  state.driver_features = driver_features_;
  state.guest_features = guest_features_;
  state.guest_page_size = guest_page_size_;
  state.status = status_;
  {
    std::lock_guard interrupt_lock(interrupt_mutex_);
    state.interrupt_status = interrupt_status_;
  }
  state.queue_sel = queue_sel_;
  state.config_generation = config_generation_.load(std::memory_order_relaxed);
  for (unsigned i = 0; i < queues_.size(); ++i) {
    state.queues[i].align = queue_align_[i];
    state.queues[i].pfn = queue_pfn_[i];
    state.queues[i].queue = queues_[i]->snapshot();
  }
  return state;
}

Status VirtioMmio::check_transport(const TransportState& state) const {
  // A guest that agreed to features this device does not offer here (the
  // source's NIC had a tap with offloads, this one user networking) would
  // go on using them.
  if (const uint64_t extra = state.guest_features & ~host_features(); extra != 0) {
    char text[64];
    std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(extra));
    return fail("the guest uses features " + std::string(text) + " that this machine's " +
                std::string(backend_->name()) + " does not offer");
  }
  for (unsigned i = 0; i < kMaxQueues; ++i) {
    const Virtqueue::State& queue = state.queues[i].queue;
    if (i >= queues_.size()) {
      if (queue.num != 0 || queue.ready || state.queues[i].pfn != 0) {
        return fail("queue " + std::to_string(i) + " is set up but " + std::string(backend_->name()) + " has " +
                    std::to_string(queues_.size()) + " queues");
      }
    } else if (queue.num > queues_[i]->max_size()) {
      return fail("queue " + std::to_string(i) + ": size " + std::to_string(queue.num) + " exceeds the maximum " +
                  std::to_string(queues_[i]->max_size()));
    }
  }
  return {};
}

Status VirtioMmio::restore_transport(const TransportState& state) {
  if (Status status = check_transport(state); !status) return status;
  {
    std::lock_guard lock(mutex_);
    device_features_sel_ = state.device_features_sel;
    driver_features_sel_ = state.driver_features_sel;
    driver_features_ = state.driver_features;
    guest_features_ = state.guest_features;
    guest_page_size_ = state.guest_page_size;
    status_ = state.status;
    queue_sel_ = state.queue_sel;
    config_generation_.store(state.config_generation, std::memory_order_relaxed);
    for (unsigned i = 0; i < queues_.size(); ++i) {
      queue_align_[i] = state.queues[i].align;
      queue_pfn_[i] = state.queues[i].pfn;
      (void)queues_[i]->restore(state.queues[i].queue);  // checked above
    }
    apply_ring_features();
  }
  std::lock_guard interrupt_lock(interrupt_mutex_);
  interrupt_status_ = state.interrupt_status;
  irq_.set(interrupt_status_ != 0);
  return {};
}

}  // namespace godwit
