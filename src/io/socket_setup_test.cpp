#include "io/socket_setup.hpp"

#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "base/temp_dir_test_util.hpp"

namespace godwit {
namespace {

TEST(SocketSetup, TcpListenOnAnyPortThenConnect) {
  auto listener = listen_socket(InetAddress{"127.0.0.1", 0}, ListenOptions{});
  ASSERT_TRUE(listener);
  const uint16_t port = socket_bound_port(*listener);
  EXPECT_NE(port, 0);
  EXPECT_TRUE(socket_matches(*listener, InetAddress{"127.0.0.1", port}, true));
  EXPECT_TRUE(socket_matches(*listener, InetAddress{"", 0}, true));
  auto client = connect_socket(InetAddress{"127.0.0.1", port});
  ASSERT_TRUE(client);
  EXPECT_TRUE(socket_matches(*client, InetAddress{"127.0.0.1", port}, false));
  EXPECT_FALSE(socket_matches(*client, InetAddress{"127.0.0.1", port}, true));
  close(*client);
  close(*listener);
}

TEST(SocketSetup, FailuresNameTheStep) {
  testing::TempDir temp;
  const std::string& dir = temp.path();
  auto refused = connect_socket(UnixAddress{dir + "/none.sock"});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().step, SocketStep::connect);
  EXPECT_EQ(refused.error().err, ENOENT);

  auto too_long = listen_socket(UnixAddress{dir + "/" + std::string(200, 'x')}, ListenOptions{});
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().step, SocketStep::path_too_long);

  const std::string file = dir + "/plain";
  std::ofstream(file) << "x";
  auto refused_file =
      listen_socket(UnixAddress{file}, ListenOptions{.replace_only_sockets = true});
  ASSERT_FALSE(refused_file);
  EXPECT_EQ(refused_file.error().step, SocketStep::not_a_socket);
  // QEMU's rule replaces whatever lies there.
  auto replaced = listen_socket(UnixAddress{file}, ListenOptions{});
  ASSERT_TRUE(replaced);
  EXPECT_TRUE(socket_matches(*replaced, UnixAddress{file}, true));
  close(*replaced);
}

}  // namespace
}  // namespace godwit
