// A host-side network backend (-netdev) as a guest NIC sees it: Ethernet
// frames both ways, one NIC per backend, as QEMU's NetClientState peers.
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

class NetReceiver {
 public:
  virtual ~NetReceiver() = default;
  // A frame for the guest. False when the NIC cannot take it now (the guest
  // gave no receive buffers, or is paused): the backend drops it, as
  // libslirp allows (TCP retransmits), or leaves it in the host's queue
  // (tap), and counts it.
  virtual bool receive(std::span<const uint8_t> frame) = 0;
};

class NetBackend {
 public:
  virtual ~NetBackend() = default;
  virtual const std::string& id() const = 0;
  // The NIC frames go to; nullptr detaches (frames are then dropped).
  virtual void attach(NetReceiver* nic) = 0;
  // A frame from the guest; the bytes are only borrowed.
  virtual void send(std::span<const uint8_t> frame) = 0;
  // One line for HMP `info network`, as QEMU's: "user.0: index=0,type=user,net=10.0.2.0,restrict=off".
  virtual std::string info() const = 0;
};

}  // namespace godwit
