#include "chardev/socket_chardev.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "base/temp_dir_test_util.hpp"
#include "chardev/chardev_factory.hpp"
#include "chardev/fake_frontend_test_util.hpp"

namespace godwit {
namespace {

using namespace std::chrono_literals;
using testing::FakeFrontend;
using testing::TempDir;

std::span<const uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::unique_ptr<IoLoop> started_loop() {
  auto loop = std::make_unique<IoLoop>();
  loop->start();
  return loop;
}

// A blocking test-side peer.
class Peer {
 public:
  explicit Peer(int fd) : fd_(fd) {}
  ~Peer() { close(); }
  Peer(Peer&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

  static Peer connect_unix(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0)
        << std::strerror(errno);
    return Peer(fd);
  }
  static Peer connect_tcp4(uint16_t port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0)
        << std::strerror(errno);
    return Peer(fd);
  }

  void send(std::string_view text) {
    ASSERT_EQ(::send(fd_, text.data(), text.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(text.size()));
  }
  // Reads until `size` bytes arrived or nothing came for a while.
  std::string receive(size_t size, int timeout_ms = 5000) {
    std::string text;
    while (text.size() < size) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, timeout_ms) <= 0) break;
      char buffer[4096];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      text.append(buffer, n);
    }
    return text;
  }
  void close() {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  }

 private:
  int fd_;
};

bool wait_until(const std::function<bool()>& condition) {
  for (int i = 0; i < 500; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

ChardevConfig unix_server(const std::string& path, bool wait) {
  ChardevConfig config;
  config.id = "ser0";
  config.kind = ChardevKind::kSocket;
  config.path = path;
  config.server = true;
  config.wait = wait;
  return config;
}

TEST(SocketChardev, UnixServerServesOneClientAfterAnother) {
  auto loop = started_loop();
  TempDir dir;
  const std::string path = dir.path() + "/serial.sock";
  auto backend = SocketChardev::create(unix_server(path, /*wait=*/false), *loop);
  ASSERT_TRUE(backend.has_value()) << backend.error().message();
  auto& socket = **backend;
  EXPECT_EQ(socket.kind(), "socket");
  EXPECT_EQ(socket.filename(), "disconnected:unix:" + path + ",server=on");
  EXPECT_EQ(socket.bound_port(), 0);
  FakeFrontend frontend(1024);
  socket.attach(&frontend);

  socket.write(as_bytes("lost: nobody listens"));
  {
    Peer first = Peer::connect_unix(path);
    ASSERT_TRUE(wait_until([&] { return socket.connected(); }));
    EXPECT_EQ(socket.filename(), "unix:" + path + ",server=on");
    first.send("hello");
    EXPECT_EQ(frontend.wait_for(5), "hello");
    socket.write(as_bytes("login: "));
    EXPECT_EQ(first.receive(7), "login: ");
  }
  ASSERT_TRUE(wait_until([&] { return !socket.connected(); }));
  socket.write(as_bytes("dropped between clients"));

  Peer second = Peer::connect_unix(path);
  ASSERT_TRUE(wait_until([&] { return socket.connected(); }));
  second.send(" again");
  EXPECT_EQ(frontend.wait_for(11), "hello again");
  socket.write(as_bytes("#"));
  EXPECT_EQ(second.receive(1), "#");  // nothing written earlier came through
  socket.attach(nullptr);
  backend->reset();
  EXPECT_FALSE(std::filesystem::exists(path));  // the listening path is removed
}

TEST(SocketChardev, InputRespectsCanReceive) {
  auto loop = started_loop();
  TempDir dir;
  const std::string path = dir.path() + "/serial.sock";
  auto backend = SocketChardev::create(unix_server(path, false), *loop);
  ASSERT_TRUE(backend.has_value()) << backend.error().message();
  auto& socket = **backend;
  FakeFrontend frontend(4);
  socket.attach(&frontend);
  Peer peer = Peer::connect_unix(path);
  peer.send("0123456789");
  EXPECT_EQ(frontend.wait_for(4), "0123");
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(frontend.received(), "0123");
  const int calls = frontend.can_receive_calls();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(frontend.can_receive_calls(), calls);  // not polling while full
  frontend.set_room(3);
  socket.frontend_ready();
  EXPECT_EQ(frontend.wait_for(7), "0123456");
  frontend.set_room(100);
  socket.frontend_ready();
  EXPECT_EQ(frontend.wait_for(10), "0123456789");
  EXPECT_FALSE(frontend.overrun());
  socket.attach(nullptr);
}

TEST(SocketChardev, InputWaitsForAFrontend) {
  auto loop = started_loop();
  TempDir dir;
  const std::string path = dir.path() + "/serial.sock";
  auto backend = SocketChardev::create(unix_server(path, false), *loop);
  ASSERT_TRUE(backend.has_value()) << backend.error().message();
  Peer peer = Peer::connect_unix(path);
  ASSERT_TRUE(wait_until([&] { return (*backend)->connected(); }));
  peer.send("early");
  std::this_thread::sleep_for(50ms);
  FakeFrontend frontend(100);
  (*backend)->attach(&frontend);
  EXPECT_EQ(frontend.wait_for(5), "early");
  (*backend)->attach(nullptr);
}

TEST(SocketChardev, SlowClientLosesOutputButNeverBlocksTheWriter) {
  auto loop = started_loop();
  TempDir dir;
  const std::string path = dir.path() + "/serial.sock";
  auto backend = SocketChardev::create(unix_server(path, false), *loop);
  ASSERT_TRUE(backend.has_value()) << backend.error().message();
  Peer peer = Peer::connect_unix(path);
  ASSERT_TRUE(wait_until([&] { return (*backend)->connected(); }));
  const std::string chunk(64 * 1024, 'x');
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 64; ++i) (*backend)->write(as_bytes(chunk));  // 4 MiB, nobody reads
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  const std::string got = peer.receive(64 * chunk.size(), 500);
  EXPECT_GT(got.size(), SocketChardev::kOutputBufferBytes);  // socket buffer + queue
  EXPECT_LT(got.size(), 64 * chunk.size());                  // the rest was dropped
}

TEST(SocketChardev, QueuedOutputIsFlushedInOrder) {
  auto loop = started_loop();
  TempDir dir;
  const std::string path = dir.path() + "/serial.sock";
  auto backend = SocketChardev::create(unix_server(path, false), *loop);
  ASSERT_TRUE(backend.has_value()) << backend.error().message();
  Peer peer = Peer::connect_unix(path);
  ASSERT_TRUE(wait_until([&] { return (*backend)->connected(); }));
  // Fill the socket, then a little more: the extra is queued and must follow
  // in order once the reader drains the socket.
  std::string sent;
  for (int i = 0; sent.size() < 300 * 1024; ++i) {
    std::string line = "line " + std::to_string(i) + "\n";
    (*backend)->write(as_bytes(line));
    sent += line;
  }
  const std::string got = peer.receive(sent.size(), 1000);
  ASSERT_LE(got.size(), sent.size());
  EXPECT_EQ(got, sent.substr(0, got.size()));  // a prefix: only the tail may be dropped
}

TEST(SocketChardev, WaitOnBlocksUntilAClientConnects) {
  auto loop = started_loop();
  TempDir dir;
  const std::string path = dir.path() + "/serial.sock";
  std::atomic<bool> created = false;
  std::jthread client([&] {
    while (!std::filesystem::exists(path)) std::this_thread::sleep_for(5ms);
    std::this_thread::sleep_for(50ms);
    EXPECT_FALSE(created.load());
    Peer peer = Peer::connect_unix(path);
    peer.send("x");
    std::this_thread::sleep_for(200ms);
  });
  auto backend = SocketChardev::create(unix_server(path, /*wait=*/true), *loop);
  created = true;
  ASSERT_TRUE(backend.has_value()) << backend.error().message();
  EXPECT_TRUE((*backend)->connected());
  FakeFrontend frontend(10);
  (*backend)->attach(&frontend);
  EXPECT_EQ(frontend.wait_for(1), "x");
  (*backend)->attach(nullptr);
}

TEST(SocketChardev, TcpServerOnAKernelChosenPort) {
  auto loop = started_loop();
  ChardevConfig config;
  config.id = "tcp0";
  config.kind = ChardevKind::kSocket;
  config.host = "127.0.0.1";
  config.port = 0;
  config.server = true;
  config.wait = false;
  auto backend = SocketChardev::create(config, *loop);
  ASSERT_TRUE(backend.has_value()) << backend.error().message();
  const uint16_t port = (*backend)->bound_port();
  ASSERT_NE(port, 0);
  EXPECT_EQ((*backend)->filename(),
            "disconnected:tcp:127.0.0.1:" + std::to_string(port) + ",server=on");
  FakeFrontend frontend(10);
  (*backend)->attach(&frontend);
  Peer peer = Peer::connect_tcp4(port);
  peer.send("tcp");
  EXPECT_EQ(frontend.wait_for(3), "tcp");
  (*backend)->write(as_bytes("ok"));
  EXPECT_EQ(peer.receive(2), "ok");
  (*backend)->attach(nullptr);
}

TEST(SocketChardev, Ipv6LiteralHost) {
  auto loop = started_loop();
  ChardevConfig config;
  config.id = "tcp6";
  config.kind = ChardevKind::kSocket;
  config.host = "::1";
  config.server = true;
  config.wait = false;
  auto backend = SocketChardev::create(config, *loop);
  if (!backend) GTEST_SKIP() << "no IPv6 loopback: " << backend.error().message();
  EXPECT_NE((*backend)->bound_port(), 0);
  EXPECT_EQ((*backend)->filename(),
            "disconnected:tcp:[::1]:" + std::to_string((*backend)->bound_port()) + ",server=on");
}

TEST(SocketChardev, ClientModeConnectsToAServer) {
  auto loop = started_loop();
  TempDir dir;
  const std::string path = dir.path() + "/peer.sock";
  const int listener = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(listener, 1), 0);

  ChardevConfig config;
  config.id = "cl";
  config.kind = ChardevKind::kSocket;
  config.path = path;
  config.server = false;
  auto backend = SocketChardev::create(config, *loop);
  ASSERT_TRUE(backend.has_value()) << backend.error().message();
  EXPECT_EQ((*backend)->filename(), "unix:" + path);
  Peer server(accept(listener, nullptr, nullptr));
  (*backend)->write(as_bytes("from guest"));
  EXPECT_EQ(server.receive(10), "from guest");
  FakeFrontend frontend(10);
  (*backend)->attach(&frontend);
  server.send("to guest");
  EXPECT_EQ(frontend.wait_for(8), "to guest");
  server.close();
  EXPECT_TRUE(wait_until([&] { return !(*backend)->connected(); }));
  (*backend)->attach(nullptr);
  close(listener);
}

TEST(SocketChardev, ErrorsNameTheChardevAndThePath) {
  auto loop = started_loop();
  TempDir dir;
  const std::string path = dir.path() + "/no/such/dir.sock";
  auto server = SocketChardev::create(unix_server(path, false), *loop);
  ASSERT_FALSE(server.has_value());
  EXPECT_EQ(server.error().message(),
            "chardev 'ser0': unix socket " + path + ": bind: No such file or directory");

  ChardevConfig client = unix_server(dir.path() + "/absent.sock", false);
  client.server = false;
  auto connected = SocketChardev::create(client, *loop);
  ASSERT_FALSE(connected.has_value());
  EXPECT_EQ(connected.error().message(), "chardev 'ser0': unix socket " + dir.path() +
                                             "/absent.sock: connect: No such file or directory");
}

TEST(SocketChardev, ARegularFileAtThePathIsNotReplaced) {
  auto loop = started_loop();
  TempDir dir;
  const std::string path = dir.path() + "/precious";
  { std::ofstream(path) << "data"; }
  auto server = SocketChardev::create(unix_server(path, false), *loop);
  ASSERT_FALSE(server.has_value());
  EXPECT_EQ(server.error().message(),
            "chardev 'ser0': unix socket " + path + ": exists and is not a socket");
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST(SocketChardev, ThroughTheFactory) {
  auto loop = started_loop();
  TempDir dir;
  ChardevContext context{*loop, nullptr};
  auto backend = create_chardev(unix_server(dir.path() + "/f.sock", false), context);
  ASSERT_TRUE(backend.has_value()) << backend.error().message();
  EXPECT_EQ((*backend)->kind(), "socket");
  EXPECT_EQ((*backend)->id(), "ser0");
}

}  // namespace
}  // namespace godwit

namespace godwit {
namespace {

// The descriptors of `backend`, duplicated as a new program receives them.
TakeHandedOverFd handed_over(const CharBackend& backend) {
  auto fds = std::make_shared<std::map<std::string, int>>();
  for (const ChardevFd& fd : backend.connection_fds()) (*fds)[fd.name] = dup(fd.fd);
  return [fds](const std::string& name) {
    auto it = fds->find(name);
    if (it == fds->end()) return -1;
    return std::exchange(it->second, -1);
  };
}

TEST(SocketChardevHandover, ClientKeepsItsConnectionWithoutALostOrRepeatedByte) {
  auto old_loop = started_loop();
  auto new_loop = started_loop();
  TempDir dir;
  const std::string path = dir.path() + "/serial.sock";
  auto old_backend = SocketChardev::create(unix_server(path, false), *old_loop);
  ASSERT_TRUE(old_backend.has_value());
  FakeFrontend old_frontend(1024);
  (*old_backend)->attach(&old_frontend);
  Peer client = Peer::connect_unix(path);
  ASSERT_TRUE(wait_until([&] { return (*old_backend)->connected(); }));

  // The client reads nothing for now: output piles up in the socket, then
  // in the backend's queue (and past that is dropped).
  std::string written;
  for (int i = 0; i < 40000; ++i) {
    const std::string line = std::to_string(i) + "\n";
    (*old_backend)->write(as_bytes(line));
    written += line;
  }
  ConnectionState state;
  old_loop->run_and_wait([&] {
    (*old_backend)->quiesce_connection();
    state = (*old_backend)->freeze_connection();
  });
  EXPECT_FALSE(state.unsent_output.empty());
  EXPECT_NE(state.client_inode, 0u);
  (*old_backend)->write(as_bytes("never sent by the old program"));

  auto new_backend = SocketChardev::create(unix_server(path, false), *new_loop, handed_over(**old_backend));
  ASSERT_TRUE(new_backend.has_value()) << new_backend.error().message();
  EXPECT_TRUE((*new_backend)->adopted());
  FakeFrontend new_frontend(1024);
  (*new_backend)->attach(&new_frontend);
  (*new_backend)->write(as_bytes("<dormant>"));  // queued behind the old program's output

  old_loop->run_and_wait([&] { (*old_backend)->release_connection(); });
  old_backend->reset();
  EXPECT_TRUE(std::filesystem::exists(path)) << "the old program removed the socket the new one listens on";

  new_loop->run_and_wait([&] { (*new_backend)->resume_connection(&state); });
  (*new_backend)->write(as_bytes("<after>"));
  std::string received;
  while (received.find("<after>") == std::string::npos) {
    const std::string more = client.receive(1, 5000);
    if (more.empty()) break;
    received += more;
  }
  const size_t cut = received.find("<dormant><after>");
  ASSERT_NE(cut, std::string::npos) << received.substr(received.size() > 80 ? received.size() - 80 : 0);
  EXPECT_EQ(received.size(), cut + 16);
  // What arrived before is exactly the start of what was written: dropped
  // output is the tail only, and nothing came twice.
  ASSERT_GE(cut, state.unsent_output.size());
  EXPECT_EQ(received.substr(0, cut), written.substr(0, cut));
  EXPECT_EQ(received.substr(cut - state.unsent_output.size(), state.unsent_output.size()),
            std::string(state.unsent_output.begin(), state.unsent_output.end()));

  client.send("typed");
  EXPECT_EQ(new_frontend.wait_for(5), "typed");
  EXPECT_EQ(old_frontend.received(), "");
  (*new_backend)->attach(nullptr);
  new_loop->run_and_wait([] {});
}

TEST(SocketChardevHandover, AThawedConnectionIsServedAgain) {
  auto loop = started_loop();
  TempDir dir;
  const std::string path = dir.path() + "/serial.sock";
  auto backend = SocketChardev::create(unix_server(path, false), *loop);
  ASSERT_TRUE(backend.has_value());
  FakeFrontend frontend(1024);
  (*backend)->attach(&frontend);
  Peer client = Peer::connect_unix(path);
  ASSERT_TRUE(wait_until([&] { return (*backend)->connected(); }));
  loop->run_and_wait([&] {
    (*backend)->quiesce_connection();
    (void)(*backend)->freeze_connection();
  });
  client.send("while frozen");
  (*backend)->write(as_bytes("dropped while frozen"));
  loop->run_and_wait([&] { (*backend)->thaw_connection(); });
  EXPECT_EQ(frontend.wait_for(12), "while frozen");
  (*backend)->write(as_bytes("again"));
  EXPECT_EQ(client.receive(5), "again");
  (*backend)->attach(nullptr);
  loop->run_and_wait([] {});
}

TEST(SocketChardevHandover, ADifferentAddressIsNotAdopted) {
  auto loop = started_loop();
  TempDir dir;
  auto old_backend = SocketChardev::create(unix_server(dir.path() + "/a.sock", false), *loop);
  ASSERT_TRUE(old_backend.has_value());
  auto new_backend = SocketChardev::create(unix_server(dir.path() + "/b.sock", false), *loop, handed_over(**old_backend));
  ASSERT_TRUE(new_backend.has_value()) << new_backend.error().message();
  EXPECT_FALSE((*new_backend)->adopted());
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/b.sock"));
  Peer client = Peer::connect_unix(dir.path() + "/b.sock");
  EXPECT_TRUE(wait_until([&] { return (*new_backend)->connected(); }));
}

}  // namespace
}  // namespace godwit
