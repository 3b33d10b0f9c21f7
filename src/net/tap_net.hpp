// -netdev tap: the guest's frames through a Linux tap device (/dev/net/tun),
// as QEMU's tap backend. With IFF_VNET_HDR each frame carries virtio's
// header, so checksum and segmentation offloads pass between guest and host
// kernel (TUNSETOFFLOAD follows what the guest agreed to).
//
// The tap is read on the I/O thread, and only while the NIC has receive
// buffers: otherwise frames wait in the kernel's queue, where a cpr-transfer
// or cpr-exec finds them for the new program, which adopts the very same
// descriptor (handover_fd()). Nothing read is dropped for want of room.
//
// Threads: create() and destruction on the main thread; everything else on
// the I/O thread (set_offloads() from a hart thread: an ioctl, no state).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "io/io_loop.hpp"
#include "net/net_backend.hpp"
#include "net/net_config.hpp"

namespace godwit {

class TapNet final : public NetBackend {
 public:
  // Opens (or adopts) the tap and runs the up script. `handed_over_fd`: the
  // old program's descriptor under cpr-transfer and cpr-exec (-1: none);
  // it is adopted as fd= is, and no script runs. Errors in QEMU's words:
  //   could not configure /dev/net/tun (tap0): Operation not permitted
  static Result<std::unique_ptr<TapNet>> create(const NetdevConfig& config, IoLoop& loop, int handed_over_fd = -1);
  ~TapNet() override;

  const std::string& id() const override { return config_.id; }
  void attach(NetReceiver* nic) override;
  void send(std::span<const uint8_t> frame, const VnetHeader& header) override;
  void receive_ready() override;
  bool has_vnet_header() const override { return vnet_header_; }
  void set_offloads(const NetOffloads& offloads) override;
  std::string info() const override;
  int handover_fd() const override { return fd_; }
  void hand_over() override { handed_over_ = true; }
  bool handed_over() const override { return handed_over_; }

  const std::string& ifname() const { return ifname_; }
  uint64_t frames_dropped() const { return dropped_; }
  uint64_t send_errors() const { return send_errors_; }

 private:
  TapNet(const NetdevConfig& config, IoLoop& loop) : config_(config), loop_(loop) {}
  Status open_device();
  Status adopt(int fd, const std::string& what);
  void on_readable();

  NetdevConfig config_;
  IoLoop& loop_;
  int fd_ = -1;
  std::string ifname_;
  bool vnet_header_ = false;
  bool run_scripts_ = false;  // we opened it by name: the downscript is ours to run
  bool paused_ = false;       // not polled: the NIC has no room
  std::atomic<bool> handed_over_ = false;
  NetReceiver* nic_ = nullptr;
  std::vector<uint8_t> buffer_;
  std::atomic<uint64_t> dropped_ = 0;
  std::atomic<uint64_t> send_errors_ = 0;
};

}  // namespace godwit
