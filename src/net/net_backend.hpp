// A host-side network backend (-netdev) as a guest NIC sees it: Ethernet
// frames both ways, one NIC per backend, as QEMU's NetClientState peers.
//
// A backend that carries virtio's per-frame header (tap with IFF_VNET_HDR)
// passes checksum and segmentation offloads through: the NIC then offers
// them to the guest and hands each frame over with its VnetHeader. Other
// backends take and give whole, checksummed frames and ignore the header.
//
// Threads: frames from the backend reach the NIC on the I/O thread; the NIC
// hands its frames to send() on the I/O thread too, so a backend never
// needs a lock of its own for them. attach() on the main thread before the
// I/O loop delivers anything, or on the loop thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace godwit {

// struct virtio_net_hdr (virtio 1.x section 5.1.6), the part before
// num_buffers, in host order.
struct VnetHeader {
  static constexpr uint8_t kNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
  static constexpr uint8_t kDataValid = 2;  // VIRTIO_NET_HDR_F_DATA_VALID
  static constexpr uint8_t kGsoNone = 0;
  static constexpr uint8_t kGsoTcpV4 = 1;
  static constexpr uint8_t kGsoUdp = 3;
  static constexpr uint8_t kGsoTcpV6 = 4;
  static constexpr uint8_t kGsoEcn = 0x80;
  static constexpr size_t kBytes = 10;

  uint8_t flags = 0;
  uint8_t gso_type = kGsoNone;
  uint16_t hdr_len = 0;
  uint16_t gso_size = 0;
  uint16_t csum_start = 0;
  uint16_t csum_offset = 0;

  bool operator==(const VnetHeader&) const = default;
};

// What the guest agreed to take from the backend (its GUEST_* features).
struct NetOffloads {
  bool csum = false;
  bool tso4 = false;
  bool tso6 = false;
  bool ecn = false;
  bool operator==(const NetOffloads&) const = default;
};

class NetReceiver {
 public:
  virtual ~NetReceiver() = default;
  // Whether receive() would find a receive buffer now. A backend that can
  // leave frames in the host's queue (tap) asks first and stops reading
  // until the NIC calls NetBackend::receive_ready().
  virtual bool can_receive() = 0;
  // A frame for the guest. False when the NIC cannot take it now (the guest
  // gave no receive buffers, or is paused): the backend drops it, as
  // libslirp allows (TCP retransmits), and counts it. A frame too large for
  // the buffers the guest has given so far is kept by the NIC until it has
  // more, and counts as taken.
  virtual bool receive(std::span<const uint8_t> frame, const VnetHeader& header) = 0;
};

class NetBackend {
 public:
  virtual ~NetBackend() = default;
  virtual const std::string& id() const = 0;
  // The NIC frames go to; nullptr detaches (frames are then dropped).
  virtual void attach(NetReceiver* nic) = 0;
  // A frame from the guest; the bytes are only borrowed. `header` is the
  // guest's (all zero without offloads).
  virtual void send(std::span<const uint8_t> frame, const VnetHeader& header) = 0;
  // The NIC has receive buffers again (on the I/O thread).
  virtual void receive_ready() {}
  // Whether frames carry a VnetHeader through to the host (tap's vnet header).
  virtual bool has_vnet_header() const { return false; }
  // The offloads the guest takes, for a backend with a vnet header.
  virtual void set_offloads(const NetOffloads&) {}
  // One line for HMP `info network`, as QEMU's: "user.0: index=0,type=user,net=10.0.2.0,restrict=off".
  virtual std::string info() const = 0;
  // The descriptor a cpr-transfer or cpr-exec hands to the new program
  // (tap's), or -1; and, once it has the guest, that it did: this side then
  // leaves the device to it (no downscript, no reading).
  virtual int handover_fd() const { return -1; }
  virtual void hand_over() {}
  virtual bool handed_over() const { return false; }
};

}  // namespace godwit
