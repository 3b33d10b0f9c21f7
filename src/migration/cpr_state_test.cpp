#include "migration/cpr_state.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <future>

#include "base/temp_dir_test_util.hpp"

namespace godwit {
namespace {

using namespace std::chrono_literals;

// One directory for the test program's sockets, removed at its end.
std::string socket_path(const char* name) {
  static const testing::TempDir dir;
  return dir / (std::string(name) + ".sock");
}

int memfd_with(uint8_t value) {
  const int fd = memfd_create("cpr-test", MFD_CLOEXEC);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(ftruncate(fd, 4096), 0);
  void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  static_cast<uint8_t*>(p)[0] = value;
  munmap(p, 4096);
  return fd;
}

uint8_t first_byte(int fd) {
  void* p = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
  EXPECT_NE(p, MAP_FAILED);
  const uint8_t value = static_cast<uint8_t*>(p)[0];
  munmap(p, 4096);
  return value;
}

TEST(CprState, DescriptorsArriveByNameAndTheSenderWaitsForTheClose) {
  const UnixAddress address{socket_path("ok")};
  auto receiver = CprReceiver::listen(address);
  ASSERT_TRUE(receiver.has_value()) << receiver.error().message();
  auto received = std::async(std::launch::async, [&] { return (*receiver)->receive(); });

  const int ram = memfd_with(0x5a);
  const int other = memfd_with(0x33);
  auto sender = CprSender::connect(address);
  ASSERT_TRUE(sender.has_value()) << sender.error().message();
  ASSERT_TRUE((*sender)->send(MigrationMode::kCprTransfer, {{cpr_fd_name("ram0"), 0, ram}, {"other", 7, other}}));
  ASSERT_EQ(received.wait_for(10s), std::future_status::ready);
  auto state = received.get();
  ASSERT_TRUE(state.has_value()) << state.error().message();
  EXPECT_EQ(state->mode, MigrationMode::kCprTransfer);
  ASSERT_EQ(state->fds.size(), 2u);
  CprFd* got = state->find("memory-backend:ram0");
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(first_byte(got->fd()), 0x5a);  // the same memory, through a new descriptor
  EXPECT_NE(got->fd(), ram);
  EXPECT_EQ(state->find("other")->id(), 7u);
  EXPECT_EQ(first_byte(state->find("other")->fd()), 0x33);
  EXPECT_EQ(state->find("missing"), nullptr);
  // The socket file goes once the one connection is made.
  EXPECT_FALSE(std::filesystem::exists(address.path));

  CancelToken cancel;
  auto waited = std::async(std::launch::async, [&] { return (*sender)->wait_for_close(cancel); });
  EXPECT_EQ(waited.wait_for(100ms), std::future_status::timeout);  // still open: keep waiting
  (*receiver)->close_channel();
  ASSERT_EQ(waited.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(waited.get().has_value());
  close(ram);
  close(other);
}

TEST(CprState, WaitingForTheCloseCanBeCancelled) {
  const UnixAddress address{socket_path("cancel")};
  auto receiver = CprReceiver::listen(address);
  ASSERT_TRUE(receiver.has_value());
  auto received = std::async(std::launch::async, [&] { return (*receiver)->receive(); });
  auto sender = CprSender::connect(address);
  ASSERT_TRUE(sender.has_value());
  ASSERT_TRUE((*sender)->send(MigrationMode::kCprTransfer, {}));
  ASSERT_TRUE(received.get().has_value());
  CancelToken cancel;
  cancel.cancel();
  auto status = (*sender)->wait_for_close(cancel);
  ASSERT_FALSE(status.has_value());
  EXPECT_NE(status.error().message().find("cancelled"), std::string::npos);
}

// Writes raw bytes to a receiver and returns its error.
std::string receive_error(const char* name, std::vector<uint8_t> bytes) {
  const UnixAddress address{socket_path(name)};
  auto receiver = CprReceiver::listen(address);
  EXPECT_TRUE(receiver.has_value());
  auto received = std::async(std::launch::async, [&] { return (*receiver)->receive(); });
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::strcpy(sun.sun_path, address.path.c_str());
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&sun), sizeof sun), 0);
  EXPECT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  close(fd);
  auto state = received.get();
  EXPECT_FALSE(state.has_value());
  return state ? "" : state.error().message();
}

TEST(CprState, BadInputIsRefusedWithTheReason) {
  EXPECT_NE(receive_error("magic", {'N', 'O', 'P', 'E', 0, 0, 0, 1}).find("bad magic"), std::string::npos);
  EXPECT_NE(receive_error("version", {'Q', 'C', 'P', 'R', 0, 0, 0, 9}).find("Unsupported migration stream version 9"),
            std::string::npos);
  EXPECT_NE(receive_error("short", {'Q', 'C', 'P', 'R', 0, 0}).find("closed early"), std::string::npos);
  EXPECT_NE(receive_error("many", {'Q', 'C', 'P', 'R', 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 1, 0}).find("too many"),
            std::string::npos);
  // One record announced, named, but its descriptor never sent.
  EXPECT_NE(receive_error("nofd", {'Q', 'C', 'P', 'R', 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 'a', 0, 0, 0,
                                   0, 0})
                .find("closed before descriptor 'a'"),
            std::string::npos);
}

TEST(CprState, OnlyAUnixSocketCarriesDescriptors) {
  EXPECT_TRUE(cpr_channel_address(UnixAddress{"/tmp/x"}).has_value());
  auto inet = cpr_channel_address(InetAddress{"127.0.0.1", 4444});
  ASSERT_FALSE(inet.has_value());
  EXPECT_NE(inet.error().message().find("must be a UNIX socket"), std::string::npos);
}

}  // namespace
}  // namespace godwit
