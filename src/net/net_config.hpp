// What -netdev and -nic describe, as the command line and QMP netdev_add
// fill it in: the backend's kind and options. The CLI checks syntax; the
// backend checks what only it can (addresses that do not fit the network,
// a port already taken) when it is built.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace godwit {

// hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT
struct HostForward {
  bool udp = false;
  uint32_t host_address = 0;   // IPv4, host byte order; 0: any
  uint16_t host_port = 0;
  uint32_t guest_address = 0;  // 0: the DHCP start address
  uint16_t guest_port = 0;
  std::string text;            // as given, for messages
};

// -netdev user: QEMU's defaults, 10.0.2.0/24 with the host at .2, DNS at .3
// and DHCP handing out .15 upwards.
struct UserNetConfig {
  uint32_t network = 0x0a000200;  // 10.0.2.0
  uint32_t netmask = 0xffffff00;  // /24
  uint32_t host = 0x0a000202;     // 10.0.2.2
  uint32_t dns = 0x0a000203;      // 10.0.2.3
  uint32_t dhcp_start = 0x0a00020f;  // 10.0.2.15
  bool restricted = false;
  std::string hostname;
  std::vector<HostForward> forwards;
};

// -netdev tap: a tap device opened by name (created when missing, which
// needs CAP_NET_ADMIN) or one inherited as a descriptor (fd=N). The
// scripts run with the interface's name once it is open and when it
// closes, as QEMU's; "no" (or fd=) runs none.
struct TapNetConfig {
  std::string ifname;  // empty: the kernel picks tapN
  int fd = -1;
  std::string script = "/etc/qemu-ifup";
  std::string downscript = "/etc/qemu-ifdown";
  enum class VnetHeader { kAuto, kOn, kOff };
  VnetHeader vnet_hdr = VnetHeader::kAuto;
};

struct NetdevConfig {
  enum class Kind { kUser, kTap };
  Kind kind = Kind::kUser;
  std::string id;
  UserNetConfig user;
  TapNetConfig tap;
  std::string origin;  // the option as typed, for errors
};

// -device virtio-net-device,netdev=ID[,mac=52:54:00:12:34:56]
struct NicConfig {
  std::string netdev;
  uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
  bool mac_given = false;
  std::string origin;
};

struct NetConfig {
  std::vector<NetdevConfig> netdevs;
  std::vector<NicConfig> nics;
};

}  // namespace godwit
