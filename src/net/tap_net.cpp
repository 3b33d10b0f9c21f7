#include "net/tap_net.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/byte_order.hpp"

extern char** environ;

namespace godwit {
namespace {

// The header the tap carries: virtio_net_hdr and num_buffers (12 bytes),
// the layout every virtio 1.x driver uses, so frames pass without moving.
constexpr int kTapHeaderBytes = 12;
constexpr size_t kReadBytes = kTapHeaderBytes + 65536 + 64;  // a 64 KiB TSO segment and its headers
// Frames read per wake-up before the loop serves others.
constexpr int kReadBurst = 64;

// Runs `script IFNAME` and waits for it, as QEMU's launch_script.
Status run_script(const std::string& script, const std::string& ifname) {
  char* argv[] = {const_cast<char*>(script.c_str()), const_cast<char*>(ifname.c_str()), nullptr};
  pid_t pid = 0;
  const int error = posix_spawn(&pid, script.c_str(), nullptr, nullptr, argv, environ);
  if (error != 0) return fail("network script " + script + " failed: " + std::strerror(error));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return fail("network script " + script + " failed with status " + std::to_string(status));
  }
  return {};
}

std::unexpected<Error> errno_error(const std::string& what, int error) {
  return fail(what + ": " + std::strerror(error));
}

bool runs(const std::string& script) { return !script.empty() && script != "no"; }

}  // namespace

Result<std::unique_ptr<TapNet>> TapNet::create(const NetdevConfig& config, IoLoop& loop, int handed_over_fd) {
  std::unique_ptr<TapNet> tap(new TapNet(config, loop));
  tap->buffer_.resize(kReadBytes);
  if (handed_over_fd >= 0) {
    if (auto status = tap->adopt(handed_over_fd, "the descriptor the old program handed over"); !status) {
      return std::unexpected(std::move(status.error()).context(config.origin));
    }
  } else if (config.tap.fd >= 0) {
    if (auto status = tap->adopt(config.tap.fd, "fd=" + std::to_string(config.tap.fd)); !status) {
      return std::unexpected(std::move(status.error()).context(config.origin));
    }
  } else {
    if (auto status = tap->open_device(); !status) return std::unexpected(std::move(status.error()).context(config.origin));
    if (runs(config.tap.script)) {
      if (auto status = run_script(config.tap.script, tap->ifname_); !status) {
        return std::unexpected(std::move(status.error()).context(config.origin));
      }
    }
    tap->run_scripts_ = true;
  }
  TapNet* raw = tap.get();
  loop.add_fd(tap->fd_, POLLIN, [raw](short) { raw->on_readable(); });
  return tap;
}

Status TapNet::open_device() {
  const int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return errno_error("could not open /dev/net/tun", errno);
  fd_ = fd;
  unsigned features = 0;
  if (ioctl(fd, TUNGETFEATURES, &features) != 0) features = 0;
  const bool want_vnet = config_.tap.vnet_hdr != TapNetConfig::VnetHeader::kOff && (features & IFF_VNET_HDR) != 0;
  if (config_.tap.vnet_hdr == TapNetConfig::VnetHeader::kOn && !want_vnet) {
    return fail("vnet_hdr=1 requested, but no kernel support for IFF_VNET_HDR available");
  }
  ifreq request{};
  request.ifr_flags = static_cast<short>(IFF_TAP | IFF_NO_PI | (want_vnet ? IFF_VNET_HDR : 0));
  if (config_.tap.ifname.size() >= IFNAMSIZ) return fail("ifname '" + config_.tap.ifname + "' is too long");
  std::strncpy(request.ifr_name, config_.tap.ifname.c_str(), IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &request) != 0) {
    const int error = errno;
    return fail("could not configure /dev/net/tun (" + config_.tap.ifname + "): " + std::strerror(error));
  }
  ifname_ = request.ifr_name;
  vnet_header_ = want_vnet;
  if (vnet_header_) {
    int bytes = kTapHeaderBytes;
    if (ioctl(fd, TUNSETVNETHDRSZ, &bytes) != 0) return errno_error("TUNSETVNETHDRSZ", errno);
    set_offloads(NetOffloads{});
  }
  return {};
}

Status TapNet::adopt(int fd, const std::string& what) {
  ifreq request{};
  if (ioctl(fd, TUNGETIFF, &request) != 0) {
    const int error = errno;
    return fail(what + " is not a tap device: " + std::strerror(error));
  }
  if ((request.ifr_flags & IFF_TAP) == 0) return fail(what + " is a tun device, not a tap device");
  if ((request.ifr_flags & IFF_NO_PI) == 0) return fail(what + " carries packet information (no IFF_NO_PI)");
  fd_ = fd;
  ifname_ = request.ifr_name;
  vnet_header_ = (request.ifr_flags & IFF_VNET_HDR) != 0;
  if (config_.tap.vnet_hdr == TapNetConfig::VnetHeader::kOn && !vnet_header_) {
    return fail("vnet_hdr=1 requested, but " + what + " has no vnet header");
  }
  if (config_.tap.vnet_hdr == TapNetConfig::VnetHeader::kOff && vnet_header_) {
    return fail("vnet_hdr=0 requested, but " + what + " carries vnet headers");
  }
  if (::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) return errno_error("fcntl O_NONBLOCK", errno);
  (void)::fcntl(fd, F_SETFD, FD_CLOEXEC);
  if (vnet_header_) {
    int bytes = kTapHeaderBytes;
    if (ioctl(fd, TUNSETVNETHDRSZ, &bytes) != 0) return errno_error("TUNSETVNETHDRSZ", errno);
    // Offloads stay as the old program left them until this guest's NIC
    // says what it takes (its state's features, at the load).
  }
  return {};
}

TapNet::~TapNet() {
  if (fd_ < 0) return;
  loop_.run_and_wait([this] { loop_.remove_fd(fd_); });
  if (run_scripts_ && !handed_over_ && runs(config_.tap.downscript)) {
    if (auto status = run_script(config_.tap.downscript, ifname_); !status) {
      std::fprintf(stderr, "godwit: netdev %s: %s\n", config_.id.c_str(), status.error().message().c_str());
    }
  }
  ::close(fd_);
}

void TapNet::attach(NetReceiver* nic) {
  nic_ = nic;
  if (nic_ != nullptr) loop_.post([this] { receive_ready(); });
}

void TapNet::on_readable() {
  for (int i = 0; i < kReadBurst; ++i) {
    // Read only what the NIC can take now; the rest waits in the kernel.
    if (nic_ == nullptr || handed_over_ || !nic_->can_receive()) {
      paused_ = true;
      loop_.modify_fd(fd_, 0);
      return;
    }
    const ssize_t n = ::read(fd_, buffer_.data(), buffer_.size());
    if (n < 0) {
      if (errno != EAGAIN && errno != EINTR) {
        // The interface went away (EBADFD): nothing more will come.
        std::fprintf(stderr, "godwit: netdev %s: reading %s: %s\n", config_.id.c_str(), ifname_.c_str(),
                     std::strerror(errno));
        paused_ = true;
        loop_.modify_fd(fd_, 0);
      }
      return;
    }
    const size_t header_bytes = vnet_header_ ? kTapHeaderBytes : 0;
    if (static_cast<size_t>(n) < header_bytes + 14) continue;
    VnetHeader header;
    if (vnet_header_) {
      const uint8_t* raw = buffer_.data();
      header = VnetHeader{raw[0], raw[1], load_le<uint16_t>(raw + 2), load_le<uint16_t>(raw + 4),
                          load_le<uint16_t>(raw + 6), load_le<uint16_t>(raw + 8)};
    }
    const std::span<const uint8_t> frame(buffer_.data() + header_bytes, static_cast<size_t>(n) - header_bytes);
    if (!nic_->receive(frame, header)) ++dropped_;
  }
}

void TapNet::receive_ready() {
  if (!paused_ || handed_over_) return;
  paused_ = false;
  loop_.modify_fd(fd_, POLLIN);
}

void TapNet::send(std::span<const uint8_t> frame, const VnetHeader& header) {
  if (handed_over_) return;
  uint8_t raw[kTapHeaderBytes] = {header.flags, header.gso_type};
  store_le<uint16_t>(raw + 2, header.hdr_len);
  store_le<uint16_t>(raw + 4, header.gso_size);
  store_le<uint16_t>(raw + 6, header.csum_start);
  store_le<uint16_t>(raw + 8, header.csum_offset);
  iovec parts[2] = {{raw, kTapHeaderBytes}, {const_cast<uint8_t*>(frame.data()), frame.size()}};
  const ssize_t n = vnet_header_ ? ::writev(fd_, parts, 2) : ::writev(fd_, parts + 1, 1);
  // A full queue (EAGAIN), an interface that is down (EIO) or a header the
  // kernel refuses (EINVAL, from a guest that breaks the rules): the frame
  // is lost, as on a wire, and godwit goes on.
  if (n < 0) ++send_errors_;
}

void TapNet::set_offloads(const NetOffloads& offloads) {
  if (!vnet_header_ || fd_ < 0) return;
  unsigned flags = 0;
  if (offloads.csum) {
    flags |= TUN_F_CSUM;
    if (offloads.tso4) flags |= TUN_F_TSO4;
    if (offloads.tso6) flags |= TUN_F_TSO6;
    if ((offloads.tso4 || offloads.tso6) && offloads.ecn) flags |= TUN_F_TSO_ECN;
  }
  if (ioctl(fd_, TUNSETOFFLOAD, flags) != 0) {
    std::fprintf(stderr, "godwit: netdev %s: TUNSETOFFLOAD: %s\n", config_.id.c_str(), std::strerror(errno));
  }
}

std::string TapNet::info() const {
  std::string line = config_.id + ": index=0,type=tap,";
  if (config_.tap.fd >= 0) return line + "fd=" + std::to_string(config_.tap.fd);
  return line + "ifname=" + ifname_ + ",script=" + (runs(config_.tap.script) ? config_.tap.script : "no") +
         ",downscript=" + (runs(config_.tap.downscript) ? config_.tap.downscript : "no");
}

}  // namespace godwit
