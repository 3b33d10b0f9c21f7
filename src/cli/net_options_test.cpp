// -netdev user, -nic and -device virtio-net-device, read into NetConfig,
// with QEMU's defaults and errors.
#include <gtest/gtest.h>

#include <initializer_list>
#include <vector>

#include "cli/command_line.hpp"
#include "cli/parse_test_util.hpp"

namespace godwit {
namespace {

using testing::parse;
using testing::parse_error;

MachineConfig parse_ok(std::initializer_list<std::string> args) {
  auto result = parse(args);
  EXPECT_TRUE(result.has_value()) << result.error().message();
  return result ? result->config : MachineConfig{};
}

TEST(NetOptions, NetdevUserWithQemusDefaultsAndForwards) {
  const MachineConfig config = parse_ok({"-netdev", "user,id=n0,hostfwd=tcp::5555-:22,hostfwd=udp:127.0.0.1:5353-10.0.2.20:53",
                                         "-device", "virtio-net-device,netdev=n0"});
  ASSERT_EQ(config.net.netdevs.size(), 1u);
  const NetdevConfig& netdev = config.net.netdevs[0];
  EXPECT_EQ(netdev.id, "n0");
  EXPECT_EQ(netdev.user.network, 0x0a000200u);
  EXPECT_EQ(netdev.user.host, 0x0a000202u);
  EXPECT_EQ(netdev.user.dns, 0x0a000203u);
  EXPECT_EQ(netdev.user.dhcp_start, 0x0a00020fu);
  ASSERT_EQ(netdev.user.forwards.size(), 2u);
  EXPECT_FALSE(netdev.user.forwards[0].udp);
  EXPECT_EQ(netdev.user.forwards[0].host_address, 0u);
  EXPECT_EQ(netdev.user.forwards[0].host_port, 5555);
  EXPECT_EQ(netdev.user.forwards[0].guest_port, 22);
  EXPECT_TRUE(netdev.user.forwards[1].udp);
  EXPECT_EQ(netdev.user.forwards[1].host_address, 0x7f000001u);
  EXPECT_EQ(netdev.user.forwards[1].guest_address, 0x0a000214u);
  ASSERT_EQ(config.net.nics.size(), 1u);
  EXPECT_EQ(config.net.nics[0].netdev, "n0");
  const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
  EXPECT_TRUE(std::equal(mac, mac + 6, config.net.nics[0].mac));
}

TEST(NetOptions, AnotherNetworkMovesTheHostDnsAndDhcp) {
  const MachineConfig config = parse_ok({"-netdev", "user,id=n0,net=192.168.76.0/24", "-device",
                                         "virtio-net-device,netdev=n0,mac=02:00:00:00:00:01"});
  const UserNetConfig& user = config.net.netdevs[0].user;
  EXPECT_EQ(user.network, 0xc0a84c00u);
  EXPECT_EQ(user.host, 0xc0a84c02u);
  EXPECT_EQ(user.dhcp_start, 0xc0a84c0fu);
  EXPECT_EQ(config.net.nics[0].mac[0], 0x02);
  EXPECT_EQ(config.net.nics[0].mac[5], 0x01);
}

TEST(NetOptions, NicIsANetdevAndItsDeviceInOne) {
  const MachineConfig config = parse_ok({"-nic", "user,hostfwd=tcp::8080-:80", "-nic", "user,model=virtio-net-device"});
  ASSERT_EQ(config.net.netdevs.size(), 2u);
  EXPECT_EQ(config.net.netdevs[0].id, "__org.qemu.nic0");
  EXPECT_EQ(config.net.netdevs[1].id, "__org.qemu.nic1");
  ASSERT_EQ(config.net.nics.size(), 2u);
  EXPECT_EQ(config.net.nics[0].mac[5], 0x56);
  EXPECT_EQ(config.net.nics[1].mac[5], 0x57);  // QEMU's next default MAC
  ASSERT_EQ(config.devices.size(), 2u);
  EXPECT_EQ(config.devices[0].driver, "virtio-net-device");
}

TEST(NetOptions, NetdevTapByNameOrDescriptor) {
  const MachineConfig config = parse_ok({"-netdev", "tap,id=t0,ifname=tap0,script=no,downscript=/bin/true,vnet_hdr=on",
                                         "-netdev", "tap,id=t1,fd=5", "-nic", "tap,ifname=tap2,mac=52:54:00:00:00:09"});
  ASSERT_EQ(config.net.netdevs.size(), 3u);
  const TapNetConfig& named = config.net.netdevs[0].tap;
  EXPECT_EQ(config.net.netdevs[0].kind, NetdevConfig::Kind::kTap);
  EXPECT_EQ(named.ifname, "tap0");
  EXPECT_EQ(named.fd, -1);
  EXPECT_EQ(named.script, "no");
  EXPECT_EQ(named.downscript, "/bin/true");
  EXPECT_EQ(named.vnet_hdr, TapNetConfig::VnetHeader::kOn);
  const TapNetConfig& inherited = config.net.netdevs[1].tap;
  EXPECT_EQ(inherited.fd, 5);
  EXPECT_EQ(inherited.script, "no");  // a descriptor runs no scripts
  EXPECT_EQ(inherited.vnet_hdr, TapNetConfig::VnetHeader::kAuto);
  // QEMU's default scripts, and -nic's own device.
  EXPECT_EQ(config.net.netdevs[2].tap.script, "/etc/qemu-ifup");
  EXPECT_EQ(config.net.netdevs[2].tap.downscript, "/etc/qemu-ifdown");
  ASSERT_EQ(config.net.nics.size(), 1u);
  EXPECT_EQ(config.net.nics[0].netdev, config.net.netdevs[2].id);
}

TEST(NetOptions, BadInputNamesTheOption) {
  EXPECT_EQ(parse_error({"-netdev", "socket,id=t0"}),
            "-netdev socket,id=t0: Parameter 'type' does not accept value 'socket' (godwit's backends: user, tap)");
  EXPECT_EQ(parse_error({"-netdev", "tap,id=t0,fd=3,ifname=tap0"}),
            "-netdev tap,id=t0,fd=3,ifname=tap0: ifname=, script= and downscript= are invalid with fd=");
  EXPECT_EQ(parse_error({"-netdev", "tap,id=t0,fd=three"}),
            "-netdev tap,id=t0,fd=three: Parameter 'fd' expects a file descriptor number, not 'three'");
  EXPECT_EQ(parse_error({"-netdev", "tap,id=t0,hostfwd=tcp::1-:2"}),
            "-netdev tap,id=t0,hostfwd=tcp::1-:2: invalid parameter 'hostfwd'");
  EXPECT_EQ(parse_error({"-netdev", "tap,id=t0,ifname=averyveryverylongname"}),
            "-netdev tap,id=t0,ifname=averyveryverylongname: Parameter 'ifname': 'averyveryverylongname' is longer "
            "than 15 characters");
  EXPECT_EQ(parse_error({"-netdev", "user"}), "-netdev user: Parameter 'id' is missing");
  EXPECT_EQ(parse_error({"-netdev", "user,id=n0,colour=red"}), "-netdev user,id=n0,colour=red: invalid parameter 'colour'");
  EXPECT_EQ(parse_error({"-netdev", "user,id=n0", "-netdev", "user,id=n0"}),
            "-netdev user,id=n0: Duplicate ID 'n0' for netdev");
  EXPECT_EQ(parse_error({"-netdev", "user,id=n0,hostfwd=tcp::99999-:22"}),
            "-netdev user,id=n0,hostfwd=tcp::99999-:22: Invalid host forwarding rule 'tcp::99999-:22' (Bad port '99999')");
  EXPECT_EQ(parse_error({"-netdev", "user,id=n0,hostfwd=sctp::1-:2"}),
            "-netdev user,id=n0,hostfwd=sctp::1-:2: Invalid host forwarding rule 'sctp::1-:2' (Bad protocol name)");
  EXPECT_EQ(parse_error({"-netdev", "user,id=n0,host=10.0.3.2"}),
            "-netdev user,id=n0,host=10.0.3.2: Parameter 'host': 10.0.3.2 is not in the guest network");
  EXPECT_EQ(parse_error({"-device", "virtio-net-device,netdev=nope"}),
            "-device virtio-net-device,netdev=nope: Property 'virtio-net-device.netdev' can't find value 'nope'");
  EXPECT_EQ(parse_error({"-netdev", "user,id=n0", "-device", "virtio-net-device,netdev=n0", "-device",
                         "virtio-net-device,netdev=n0"}),
            "-device virtio-net-device,netdev=n0: Property 'virtio-net-device.netdev' can't take value 'n0', it's in use");
  EXPECT_EQ(parse_error({"-netdev", "user,id=n0", "-device", "virtio-net-device,netdev=n0,mac=52:54:00"}),
            "-device virtio-net-device,netdev=n0,mac=52:54:00: Property 'virtio-net-device.mac' doesn't take value "
            "'52:54:00'");
  EXPECT_EQ(parse_error({"-nic", "user,model=e1000"}),
            "-nic user,model=e1000: unsupported NIC model 'e1000' (godwit's virt board has virtio-net-device)");
}

}  // namespace
}  // namespace godwit
