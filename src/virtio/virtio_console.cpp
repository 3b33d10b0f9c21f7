#include "virtio/virtio_console.hpp"

#include <algorithm>

#include "base/byte_order.hpp"

namespace godwit {

// One port's side of its chardev: forwards input and connection events.
class VirtioConsole::PortFrontend final : public CharFrontend {
 public:
  PortFrontend(VirtioConsole& console, unsigned id) : console_(console), id_(id) {}
  size_t can_receive() override { return console_.can_receive(id_); }
  void receive(std::span<const uint8_t> bytes) override { console_.receive(id_, bytes); }
  void opened() override { console_.host_event(id_, true); }
  void closed() override { console_.host_event(id_, false); }

 private:
  VirtioConsole& console_;
  unsigned id_;
};

Result<std::vector<unsigned>> VirtioConsole::assign_port_ids(const std::vector<PortConfig>& ports) {
  // QEMU: port 0 is kept for a console; a console takes it when free, every
  // other port the lowest free number from 1.
  std::array<bool, kMaxPorts> used{};
  std::vector<unsigned> ids;
  for (const PortConfig& port : ports) {
    unsigned id = kMaxPorts;
    if (port.console && !used[0]) {
      id = 0;
    } else {
      for (unsigned candidate = 1; candidate < kMaxPorts; ++candidate) {
        if (!used[candidate]) {
          id = candidate;
          break;
        }
      }
    }
    if (id == kMaxPorts) return fail("virtio-serial-device has no free port (at most " + std::to_string(kMaxPorts) + ")");
    used[id] = true;
    ids.push_back(id);
  }
  return ids;
}

VirtioConsole::VirtioConsole(std::vector<PortConfig> ports) {
  auto ids = assign_port_ids(ports);
  const std::vector<unsigned> assigned = ids ? *ids : std::vector<unsigned>{};
  for (size_t i = 0; i < assigned.size(); ++i) {
    ports_.push_back({assigned[i], std::move(ports[i]), nullptr});
  }
  for (Port& port : ports_) port.frontend = std::make_unique<PortFrontend>(*this, port.id);
}

VirtioConsole::~VirtioConsole() {
  for (Port& port : ports_) {
    if (port.config.chardev != nullptr) port.config.chardev->attach(nullptr);
  }
}

void VirtioConsole::attach(VirtioTransport& transport) {
  transport_ = &transport;
  for (Port& port : ports_) {
    if (port.config.chardev != nullptr) port.config.chardev->attach(port.frontend.get());
  }
}

VirtioConsole::Port* VirtioConsole::find_port(unsigned id) {
  for (Port& port : ports_) {
    if (port.id == id) return &port;
  }
  return nullptr;
}

bool VirtioConsole::multiport() const { return features_ & kFeatureMultiport; }

void VirtioConsole::read_config(uint32_t offset, std::span<uint8_t> out) const {
  // struct virtio_console_config: cols, rows (u16), max_nr_ports, emerg_wr (u32).
  std::array<uint8_t, 12> config{};
  store_le<uint32_t>(config.data() + 4, kMaxPorts);
  for (size_t i = 0; i < out.size(); ++i) out[i] = offset + i < config.size() ? config[offset + i] : 0;
}

void VirtioConsole::write_config(uint32_t offset, std::span<const uint8_t> in) {
  // EMERG_WRITE: a character written to emerg_wr goes to port 0 at once.
  if (offset != 8 || in.empty()) return;
  CharBackend* chardev = nullptr;
  {
    std::lock_guard lock(mutex_);
    if (Port* port = find_port(0)) chardev = port->config.chardev;
  }
  if (chardev != nullptr) chardev->write(in.first(1));
}

void VirtioConsole::features_accepted(uint64_t features) {
  std::lock_guard lock(mutex_);
  features_ = features;
}

void VirtioConsole::driver_ok() {
  CharBackend* wake = nullptr;
  {
    std::lock_guard lock(mutex_);
    // Without MULTIPORT, port 0 is the only one and open from the start.
    if (!multiport()) {
      if (Port* port = find_port(0)) {
        state_.ports[0].guest_connected = true;
        wake = port->config.chardev;
      }
    }
  }
  if (wake != nullptr) wake->frontend_ready();
}

void VirtioConsole::queue_control(uint32_t id, uint16_t event, uint16_t value) {
  if (state_.pending_count >= kMaxPendingControl) return;  // a driver that never reads; drop
  state_.pending[state_.pending_count++] = {id, event, value};
}

void VirtioConsole::flush_control() {
  Virtqueue& queue = transport_->queue(kControlReceive);
  bool pushed = false;
  while (state_.pending_count > 0) {
    auto chain = queue.pop();
    if (!chain) break;
    const ControlMessage message = state_.pending[0];
    std::vector<uint8_t> bytes(8);
    store_le<uint32_t>(bytes.data(), message.id);
    store_le<uint16_t>(bytes.data() + 4, message.event);
    store_le<uint16_t>(bytes.data() + 6, message.value);
    if (message.event == kPortName) {
      if (Port* port = find_port(message.id)) bytes.insert(bytes.end(), port->config.name.begin(), port->config.name.end());
    }
    const size_t written = chain->write(0, bytes);
    queue.push(*chain, static_cast<uint32_t>(written));
    pushed = true;
    std::copy(state_.pending.begin() + 1, state_.pending.begin() + state_.pending_count, state_.pending.begin());
    --state_.pending_count;
  }
  if (pushed) queue.notify();
}

void VirtioConsole::port_ready(Port& port) {
  PortState& flags = state_.ports[port.id];
  flags.guest_ready = true;
  // QEMU's order: console, name, then the host side's connection.
  if (port.config.console) queue_control(port.id, kConsolePort, 1);
  if (!port.config.name.empty()) queue_control(port.id, kPortName, 1);
  if (flags.host_connected) queue_control(port.id, kPortOpen, 1);
}

void VirtioConsole::handle_control(const ControlMessage& message, std::vector<CharBackend*>& ready) {
  switch (message.event) {
    case kDeviceReady:
      if (message.value != 1) return;
      state_.device_ready = true;
      for (const Port& port : ports_) queue_control(port.id, kPortAdd, 1);
      return;
    case kPortReady: {
      Port* port = find_port(message.id);
      if (port != nullptr && message.value == 1) port_ready(*port);
      return;
    }
    case kPortOpen: {
      Port* port = find_port(message.id);
      if (port == nullptr) return;
      state_.ports[port->id].guest_connected = message.value != 0;
      if (message.value != 0 && port->config.chardev != nullptr) ready.push_back(port->config.chardev);
      return;
    }
    default:
      return;  // nothing else is the driver's to send
  }
}

void VirtioConsole::queue_notify(unsigned index) {
  std::vector<CharBackend*> ready;
  CharBackend* output_to = nullptr;
  std::vector<uint8_t> output;
  {
    std::lock_guard lock(mutex_);
    if (index == kControlTransmit && multiport()) {
      Virtqueue& queue = transport_->queue(index);
      bool pushed = false;
      while (auto chain = queue.pop()) {
        std::array<uint8_t, 8> raw{};
        if (chain->read(0, raw) == raw.size()) {
          handle_control({load_le<uint32_t>(raw.data()), load_le<uint16_t>(raw.data() + 4), load_le<uint16_t>(raw.data() + 6)},
                         ready);
        }
        queue.push(*chain, 0);
        pushed = true;
      }
      if (pushed) queue.notify();
      flush_control();
    } else if (index == kControlReceive && multiport()) {
      flush_control();
    } else {
      const unsigned id = index < 2 ? 0 : index / 2 - 1;
      Port* port = find_port(id);
      if (port == nullptr || (id != 0 && !multiport())) return;
      Virtqueue& queue = transport_->queue(index);
      if (index == receive_queue(id)) {
        // New receive buffers: the chardev may have input waiting.
        if (port->config.chardev != nullptr) ready.push_back(port->config.chardev);
      } else {
        bool pushed = false;
        while (auto chain = queue.pop()) {
          const size_t start = output.size();
          output.resize(start + std::min<uint64_t>(chain->readable_bytes(), 1 << 20));
          output.resize(start + chain->read(0, std::span(output).subspan(start)));
          queue.push(*chain, 0);
          pushed = true;
        }
        if (pushed) queue.notify();
        output_to = port->config.chardev;
      }
    }
  }
  if (output_to != nullptr && !output.empty()) output_to->write(output);
  for (CharBackend* chardev : ready) chardev->frontend_ready();
}

size_t VirtioConsole::can_receive(unsigned id) {
  std::lock_guard lock(mutex_);
  if (quiesced_ || transport_ == nullptr || !state_.ports[id].guest_connected) return 0;
  Virtqueue& queue = transport_->queue(receive_queue(id));
  auto chain = queue.pop();
  if (!chain) return 0;
  const uint64_t room = chain->writable_bytes();
  queue.unpop();
  return static_cast<size_t>(std::min<uint64_t>(room, 4096));
}

void VirtioConsole::receive(unsigned id, std::span<const uint8_t> bytes) {
  std::lock_guard lock(mutex_);
  if (transport_ == nullptr || !state_.ports[id].guest_connected) return;
  Virtqueue& queue = transport_->queue(receive_queue(id));
  bool pushed = false;
  while (!bytes.empty()) {
    auto chain = queue.pop();
    if (!chain) break;  // only after a reset between can_receive and here
    const size_t written = chain->write(0, bytes);
    queue.push(*chain, static_cast<uint32_t>(written));
    pushed = true;
    bytes = bytes.subspan(written);
    if (written == 0) break;
  }
  if (pushed) queue.notify();
}

void VirtioConsole::host_event(unsigned id, bool connected) {
  std::lock_guard lock(mutex_);
  PortState& flags = state_.ports[id];
  if (flags.host_connected == connected) return;
  flags.host_connected = connected;
  if (transport_ != nullptr && multiport() && flags.guest_ready) {
    queue_control(id, kPortOpen, connected ? 1 : 0);
    flush_control();
  }
}

void VirtioConsole::reset() {
  std::lock_guard lock(mutex_);
  features_ = 0;
  state_.device_ready = false;
  state_.pending_count = 0;
  for (PortState& port : state_.ports) {
    port.guest_ready = false;
    port.guest_connected = false;  // the host side stays as it is
  }
}

void VirtioConsole::quiesce() {
  std::lock_guard lock(mutex_);
  quiesced_ = true;
}

void VirtioConsole::unquiesce() {
  {
    std::lock_guard lock(mutex_);
    quiesced_ = false;
  }
  for (Port& port : ports_) {
    if (port.config.chardev != nullptr) port.config.chardev->frontend_ready();
  }
}

VirtioConsole::State VirtioConsole::snapshot() const {
  std::lock_guard lock(mutex_);
  return state_;
}

Status VirtioConsole::restore(const State& state) {
  if (state.pending_count > kMaxPendingControl) return fail("virtio-serial: pending control messages past the maximum");
  std::lock_guard lock(mutex_);
  const State before = state_;
  state_ = state;
  // Whether the chardev is connected is this host's fact, not the sender's.
  for (unsigned i = 0; i < kMaxPorts; ++i) state_.ports[i].host_connected = before.ports[i].host_connected;
  features_ = transport_ != nullptr ? transport_->guest_features() : 0;
  return {};
}

}  // namespace godwit
