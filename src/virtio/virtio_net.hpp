// virtio-net-device (virtio 1.x spec, section 5.1), as QEMU's: one receive
// and one transmit queue and a control queue, on a -netdev backend.
//
// Features: MAC, STATUS (link up; ANNOUNCE after a migration), MRG_RXBUF (a
// frame may span several receive buffers, as Linux posts them), CTRL_VQ
// with CTRL_RX (promiscuous, all-multicast, ... and the MAC filter table)
// and GUEST_ANNOUNCE (the guest sends its own gratuitous ARPs when asked).
// On a backend with a vnet header (tap) also checksum offload both ways
// (CSUM, GUEST_CSUM) and TCP segmentation offload (HOST_/GUEST_TSO4, TSO6,
// ECN), as QEMU offers them: the guest's header goes to the host and the
// host's to the guest. User networking wants whole, checksummed frames and
// gets no offloads.
//
// Frames go through the I/O thread both ways: a transmit kick (hart
// thread) posts the queue's draining there, where the backend takes each
// frame; the backend's frames come there and go straight into receive
// buffers. A frame larger than the buffers the guest has given so far is
// kept (one at most; can_receive() is false meanwhile) and delivered when
// the guest gives more; it travels in the state, so a migration loses no
// frame the backend handed over. quiesce() runs on the I/O thread, so a
// backend's can_receive() and receive() never straddle it; after it
// nothing touches guest RAM until unquiesce().
//
// Threads: queue_notify() and config access on hart threads; receive() and
// the transmit and control work on the I/O thread; quiesce/unquiesce/reset
// on the main thread. The filter state is guarded by a mutex; the work on
// the queues by another, which quiesce() takes.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "base/state_description.hpp"
#include "io/io_loop.hpp"
#include "net/net_backend.hpp"
#include "virtio/virtio_device.hpp"

namespace godwit {

class VirtioNet final : public VirtioDevice, public NetReceiver {
 public:
  static constexpr uint16_t kQueueSize = 256;      // QEMU's rx_queue_size and tx_queue_size
  static constexpr uint16_t kCtrlQueueSize = 64;   // QEMU's control queue
  static constexpr unsigned kMacTableEntries = 64;  // QEMU's MAC_TABLE_ENTRIES

  static constexpr uint64_t kFeatureCsum = uint64_t{1} << 0;
  static constexpr uint64_t kFeatureGuestCsum = uint64_t{1} << 1;
  static constexpr uint64_t kFeatureMac = uint64_t{1} << 5;
  static constexpr uint64_t kFeatureGuestTso4 = uint64_t{1} << 7;
  static constexpr uint64_t kFeatureGuestTso6 = uint64_t{1} << 8;
  static constexpr uint64_t kFeatureGuestEcn = uint64_t{1} << 9;
  static constexpr uint64_t kFeatureHostTso4 = uint64_t{1} << 11;
  static constexpr uint64_t kFeatureHostTso6 = uint64_t{1} << 12;
  static constexpr uint64_t kFeatureHostEcn = uint64_t{1} << 13;
  static constexpr uint64_t kFeatureMrgRxbuf = uint64_t{1} << 15;
  static constexpr uint64_t kFeatureStatus = uint64_t{1} << 16;
  static constexpr uint64_t kFeatureCtrlVq = uint64_t{1} << 17;
  static constexpr uint64_t kFeatureCtrlRx = uint64_t{1} << 18;
  static constexpr uint64_t kFeatureGuestAnnounce = uint64_t{1} << 21;

  static constexpr uint16_t kStatusLinkUp = 1;
  static constexpr uint16_t kStatusAnnounce = 2;

  // The offloads offered on a backend with a vnet header.
  static constexpr uint64_t kOffloadFeatures = kFeatureCsum | kFeatureGuestCsum | kFeatureGuestTso4 |
                                               kFeatureGuestTso6 | kFeatureGuestEcn | kFeatureHostTso4 |
                                               kFeatureHostTso6 | kFeatureHostEcn;
  // The largest frame taken from a backend: a 64 KiB TSO segment and its
  // Ethernet header.
  static constexpr uint32_t kMaxReceiveFrameBytes = 65536 + 64;

  struct State {
    static constexpr VMStateInfo kVMState{"virtio-net", 1, 1};
    std::array<uint8_t, 6> mac{};
    uint16_t status = kStatusLinkUp;
    bool promisc = true;  // QEMU's default until the driver says otherwise
    bool allmulti = false;
    bool alluni = false;
    bool nomulti = false;
    bool nouni = false;
    bool nobcast = false;
    uint32_t mac_table_entries = 0;
    uint32_t mac_table_first_multi = 0;  // entries before it are unicast
    std::array<std::array<uint8_t, 6>, kMacTableEntries> mac_table{};
    // A frame waiting for receive buffers, with its vnet header.
    std::vector<uint8_t> pending_frame;
    std::array<uint16_t, 6> pending_header{};  // flags, gso_type, hdr_len, gso_size, csum_start, csum_offset
    template <class V>
    void visit_state(V& v) {
      v.field("mac", mac);
      v.field("status", status);
      v.field("promisc", promisc);
      v.field("allmulti", allmulti);
      v.field("alluni", alluni);
      v.field("nomulti", nomulti);
      v.field("nouni", nouni);
      v.field("nobcast", nobcast);
      v.field("mac_table_entries", mac_table_entries);
      v.field("mac_table_first_multi", mac_table_first_multi);
      v.field("mac_table", mac_table);
      v.validate(mac_table_entries <= kMacTableEntries && mac_table_first_multi <= mac_table_entries,
                 "the MAC table holds more entries than it has room for");
      // Only while a frame waits, so streams without one are QEMU's layout.
      if constexpr (V::loading()) pending_frame.clear();
      uint32_t pending_length = static_cast<uint32_t>(pending_frame.size());
      v.subsection("virtio-net/rx_pending", 1, !pending_frame.empty(), [&](auto& sub) {
        sub.field("length", pending_length);
        sub.validate(pending_length >= 14 && pending_length <= kMaxReceiveFrameBytes,
                     "a waiting frame of " + std::to_string(pending_length) + " bytes");
        if constexpr (V::loading()) pending_frame.resize(std::min(pending_length, kMaxReceiveFrameBytes));
        sub.buffer("frame", pending_frame);
        sub.field("header", pending_header);
      });
    }
  };

  // `backend` must outlive the device; the device attaches itself to it.
  VirtioNet(NetBackend& backend, IoLoop& loop, std::array<uint8_t, 6> mac);
  ~VirtioNet() override;

  std::string_view name() const override { return "virtio-net-device"; }
  uint32_t device_id() const override { return kVirtioIdNet; }
  uint64_t device_features() const override {
    return kFeatureMac | kFeatureMrgRxbuf | kFeatureStatus | kFeatureCtrlVq | kFeatureCtrlRx | kFeatureGuestAnnounce |
           (backend_.has_vnet_header() ? kOffloadFeatures : 0);
  }
  unsigned queue_count() const override { return 3; }
  uint16_t queue_max_size(unsigned index) const override { return index == 2 ? kCtrlQueueSize : kQueueSize; }
  uint32_t config_size() const override { return 8; }  // mac, status, max_virtqueue_pairs
  void read_config(uint32_t offset, std::span<uint8_t> out) const override;
  void write_config(uint32_t offset, std::span<const uint8_t> in) override;

  void attach(VirtioTransport& transport) override { transport_ = &transport; }
  void features_accepted(uint64_t features) override;
  void driver_ok() override;
  void queue_notify(unsigned index) override;
  void reset() override;
  void quiesce() override;
  void unquiesce() override;

  // NetReceiver, on the I/O thread.
  bool can_receive() override;
  bool receive(std::span<const uint8_t> frame, const VnetHeader& header) override;

  // After a migration: sets ANNOUNCE in the status (when GUEST_ANNOUNCE was
  // negotiated), so that the guest announces itself (section 5.1.6.5.4).
  void request_guest_announce();
  // One RARP self-announcement frame out through the backend, as QEMU's
  // announce timer sends them; on the I/O thread.
  void send_self_announce();

  State snapshot() const;
  Status restore(const State& state);

  uint64_t frames_received() const { return received_; }
  uint64_t frames_sent() const { return sent_; }
  // Frames taken from the backend and not given to the guest: offloads it
  // did not agree to, or no receive buffers.
  uint64_t frames_dropped() const { return dropped_; }

 private:
  enum class Delivery { kDelivered, kNoRoom, kBroken };
  size_t header_bytes() const;
  // Into the receive buffers; under work_mutex_.
  Delivery deliver(std::span<const uint8_t> frame, const VnetHeader& header);
  // The waiting frame, then the backend told it may send (I/O thread).
  void resume_receive();
  void post_resume_receive() { loop_.post([this] { resume_receive(); }); }
  bool accepts(std::span<const uint8_t> frame) const;  // the receive filter
  void drain_tx();       // I/O thread
  void drain_ctrl();     // I/O thread
  uint8_t control(uint8_t cls, uint8_t command, std::span<const uint8_t> data);

  NetBackend& backend_;
  IoLoop& loop_;
  VirtioTransport* transport_ = nullptr;
  const std::array<uint8_t, 6> default_mac_;
  std::atomic<uint64_t> features_ = 0;
  std::atomic<bool> quiesced_ = false;
  std::atomic<bool> tx_pending_ = false;  // a kick came while quiesced
  // Held while a frame or command is worked on, and by quiesce(): once
  // quiesce() has it, no work is half done.
  mutable std::mutex work_mutex_;
  mutable std::mutex mutex_;              // guards state_
  State state_;
  std::atomic<uint64_t> received_ = 0;
  std::atomic<uint64_t> sent_ = 0;
  std::atomic<uint64_t> dropped_ = 0;
  // The frame waiting for buffers; guarded by work_mutex_.
  std::vector<uint8_t> pending_frame_;
  VnetHeader pending_header_;
};

}  // namespace godwit
