// virtio-serial-device with its ports (virtio 1.x spec, section 5.3), as
// QEMU's `-device virtio-serial-device -device virtconsole,chardev=ID`:
// VIRTIO_CONSOLE_F_MULTIPORT with control queues, 31 ports at most (QEMU's
// max_ports), EMERG_WRITE, and a chardev per port. A virtconsole takes port 0
// when it is free (Linux's /dev/hvc0), a virtserialport the next free one
// from 1.
//
// Queues: port 0 receive/transmit are 0 and 1, the control receive/transmit
// queues 2 and 3, port N >= 1 uses 2N+2 and 2N+3.
//
// Control handshake (section 5.3.6.2), as Linux's virtio_console drives it:
// driver DEVICE_READY -> device PORT_ADD per port; driver PORT_READY ->
// device CONSOLE_PORT (console), PORT_NAME (named port), PORT_OPEN (chardev
// connected); driver PORT_OPEN when a program opens the port. Without
// MULTIPORT only port 0 exists and counts as open.
//
// Input from a chardev goes straight into the port's receive buffers: the
// device tells the chardev how much room the first buffer has, so nothing
// waits in the device (no pending input to save); a port the guest has not
// opened takes nothing and the chardev holds its bytes.
//
// Threads: queue_notify() and config accesses on hart threads; chardev
// input and events on the I/O thread; one mutex guards the port flags and
// the control messages waiting for a buffer. Chardev writes and
// frontend_ready() are called with it released.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/state_description.hpp"
#include "chardev/char_backend.hpp"
#include "virtio/virtio_device.hpp"

namespace godwit {

class VirtioConsole final : public VirtioDevice {
 public:
  static constexpr unsigned kMaxPorts = 31;    // QEMU's max_ports default
  static constexpr uint16_t kQueueSize = 128;  // QEMU's for every virtio-serial queue
  static constexpr uint64_t kFeatureSize = uint64_t{1} << 0;
  static constexpr uint64_t kFeatureMultiport = uint64_t{1} << 1;
  static constexpr uint64_t kFeatureEmergencyWrite = uint64_t{1} << 2;
  static constexpr unsigned kMaxPendingControl = 4 * (kMaxPorts + 1);

  // Control events (struct virtio_console_control).
  enum ControlEvent : uint16_t {
    kDeviceReady = 0,
    kPortAdd = 1,
    kPortRemove = 2,
    kPortReady = 3,
    kConsolePort = 4,
    kResize = 5,
    kPortOpen = 6,
    kPortName = 7,
  };

  struct PortConfig {
    CharBackend* chardev = nullptr;  // none: output is dropped, no input
    std::string name;                // name=, shown as /sys/class/virtio-ports/*/name
    bool console = false;            // virtconsole (else virtserialport)
  };

  struct PortState {
    static constexpr VMStateInfo kVMState{"virtio_serial_port", 1, 1};
    bool guest_ready = false;      // the driver sent PORT_READY
    bool guest_connected = false;  // the driver opened it (PORT_OPEN 1)
    bool host_connected = false;   // the chardev is open
    template <class V>
    void visit_state(V& v) {
      v.field("guest_ready", guest_ready);
      v.field("guest_connected", guest_connected);
      v.field("host_connected", host_connected);
    }
  };

  struct ControlMessage {
    static constexpr VMStateInfo kVMState{"virtio_serial_control", 1, 1};
    uint32_t id = 0;
    uint16_t event = 0;
    uint16_t value = 0;
    template <class V>
    void visit_state(V& v) {
      v.field("id", id);
      v.field("event", event);
      v.field("value", value);
    }
  };

  struct State {
    static constexpr VMStateInfo kVMState{"virtio-serial", 1, 1};
    bool device_ready = false;
    std::array<PortState, kMaxPorts> ports{};
    uint16_t pending_count = 0;  // control messages waiting for a buffer
    std::array<ControlMessage, kMaxPendingControl> pending{};
    template <class V>
    void visit_state(V& v) {
      v.field("device_ready", device_ready);
      v.field("ports", ports);
      v.field("pending_count", pending_count);
      v.field("pending", pending);
      v.validate(pending_count <= kMaxPendingControl, "pending control messages past the maximum");
    }
  };

  // Ports in `-device` order; fails (see make_console_ports) are the
  // caller's to check first.
  explicit VirtioConsole(std::vector<PortConfig> ports);
  ~VirtioConsole() override;

  // The port number each of `ports` gets, QEMU's rule; fails when two
  // consoles want port 0 is not a failure (the second gets the next free
  // one), only more than kMaxPorts ports are.
  static Result<std::vector<unsigned>> assign_port_ids(const std::vector<PortConfig>& ports);

  std::string_view name() const override { return "virtio-serial-device"; }
  uint32_t device_id() const override { return kVirtioIdConsole; }
  uint64_t device_features() const override { return kFeatureMultiport | kFeatureEmergencyWrite; }
  unsigned queue_count() const override { return 2 * (kMaxPorts + 1); }
  uint16_t queue_max_size(unsigned) const override { return kQueueSize; }
  uint32_t config_size() const override { return 12; }
  void read_config(uint32_t offset, std::span<uint8_t> out) const override;
  void write_config(uint32_t offset, std::span<const uint8_t> in) override;
  void attach(VirtioTransport& transport) override;
  void features_accepted(uint64_t features) override;
  void driver_ok() override;
  void queue_notify(unsigned index) override;
  void reset() override;
  void quiesce() override;
  void unquiesce() override;

  State snapshot() const;
  Status restore(const State& state);

  // The receive/transmit queue of port `id`.
  static unsigned receive_queue(unsigned id) { return id == 0 ? 0 : 2 * id + 2; }
  static unsigned transmit_queue(unsigned id) { return receive_queue(id) + 1; }
  static constexpr unsigned kControlReceive = 2;
  static constexpr unsigned kControlTransmit = 3;

 private:
  class PortFrontend;
  struct Port {
    unsigned id = 0;
    PortConfig config;
    std::unique_ptr<PortFrontend> frontend;
  };

  bool multiport() const;
  Port* find_port(unsigned id);
  // Called with mutex_ held.
  void queue_control(uint32_t id, uint16_t event, uint16_t value);
  void flush_control();
  void handle_control(const ControlMessage& message, std::vector<CharBackend*>& ready);
  void port_ready(Port& port);

  // PortFrontend's calls, I/O thread.
  size_t can_receive(unsigned id);
  void receive(unsigned id, std::span<const uint8_t> bytes);
  void host_event(unsigned id, bool connected);

  std::vector<Port> ports_;
  VirtioTransport* transport_ = nullptr;
  mutable std::mutex mutex_;
  State state_;
  uint64_t features_ = 0;
  bool quiesced_ = false;
};

}  // namespace godwit
