#include "io/socket_address.hpp"

#include <gtest/gtest.h>

namespace godwit {
namespace {

TEST(SocketAddress, PortsAreDecimalUpTo65535) {
  EXPECT_EQ(parse_port("0"), 0);
  EXPECT_EQ(parse_port("4444"), 4444);
  EXPECT_EQ(parse_port("65535"), 65535);
  for (const char* text : {"", "65536", "http", "-1", "+5", "44 ", "99999999999"}) {
    EXPECT_EQ(parse_port(text), std::nullopt) << text;
  }
}

TEST(SocketAddress, SplitsAsInetParse) {
  auto v4 = split_host_port("localhost:4444");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "localhost");
  EXPECT_EQ(v4->port, "4444");
  auto v6 = split_host_port("[::1]:80,ipv4");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, "80");
  EXPECT_EQ(v6->options, ",ipv4");
  auto any = split_host_port(":4444");
  ASSERT_TRUE(any);
  EXPECT_EQ(any->host, "");
}

TEST(SocketAddress, NamesWhatIsMalformed) {
  EXPECT_EQ(split_host_port("foo").error(), HostPortError::address);
  EXPECT_EQ(split_host_port("foo:").error(), HostPortError::address);
  EXPECT_EQ(split_host_port("[::1").error(), HostPortError::ipv6_address);
  EXPECT_EQ(split_host_port("[]:4").error(), HostPortError::ipv6_address);
  EXPECT_EQ(split_host_port(":").error(), HostPortError::port);
}

TEST(SocketAddress, Ipv6HostsAreBracketed) {
  EXPECT_EQ(host_port_text("::1", 4444), "[::1]:4444");
  EXPECT_EQ(host_port_text("127.0.0.1", 80), "127.0.0.1:80");
}

}  // namespace
}  // namespace godwit
