// null, file and stdio backends, and the factory.
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/temp_dir_test_util.hpp"
#include "chardev/chardev_factory.hpp"
#include "chardev/fake_frontend_test_util.hpp"
#include "chardev/file_chardev.hpp"
#include "chardev/mux_escape.hpp"
#include "chardev/stdio_chardev.hpp"

namespace godwit {
namespace {

using namespace std::chrono_literals;
using testing::FakeFrontend;
using testing::TempDir;

std::span<const uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::unique_ptr<IoLoop> started_loop() {
  auto loop = std::make_unique<IoLoop>();
  loop->start();
  return loop;
}

ChardevConfig chardev(ChardevKind kind, std::string id = "c0") {
  ChardevConfig config;
  config.id = std::move(id);
  config.kind = kind;
  return config;
}

TEST(Chardev, NullSwallowsOutput) {
  auto loop = started_loop();
  ChardevContext context{*loop, nullptr};
  auto backend = create_chardev(chardev(ChardevKind::kNull, "n"), context);
  ASSERT_TRUE(backend.has_value()) << backend.error().message();
  EXPECT_EQ((*backend)->id(), "n");
  EXPECT_EQ((*backend)->kind(), "null");
  (*backend)->write(as_bytes("gone"));
}

TEST(Chardev, FileTruncatesByDefault) {
  TempDir dir;
  const std::string path = dir.path() + "/out.log";
  { std::ofstream(path) << "old contents\n"; }
  auto config = chardev(ChardevKind::kFile, "f");
  config.path = path;
  auto loop = started_loop();
  ChardevContext context{*loop, nullptr};
  auto backend = create_chardev(config, context);
  ASSERT_TRUE(backend.has_value()) << backend.error().message();
  EXPECT_EQ((*backend)->kind(), "file");
  (*backend)->write(as_bytes("hello "));
  (*backend)->write(as_bytes("world\n"));
  EXPECT_EQ(slurp(path), "hello world\n");
}

TEST(Chardev, FileAppendKeepsContents) {
  TempDir dir;
  const std::string path = dir.path() + "/out.log";
  { std::ofstream(path) << "old\n"; }
  auto config = chardev(ChardevKind::kFile, "f");
  config.path = path;
  config.append = true;
  auto backend = FileChardev::create(config);
  ASSERT_TRUE(backend.has_value()) << backend.error().message();
  (*backend)->write(as_bytes("new\n"));
  EXPECT_EQ(slurp(path), "old\nnew\n");
}

TEST(Chardev, FileInMissingDirectoryNamesChardevAndPath) {
  TempDir dir;
  auto config = chardev(ChardevKind::kFile, "ser0");
  config.path = dir.path() + "/missing/out.log";
  auto backend = FileChardev::create(config);
  ASSERT_FALSE(backend.has_value());
  EXPECT_EQ(backend.error().message(),
            "chardev 'ser0': file " + config.path + ": No such file or directory");
}

TEST(Chardev, SocketWithoutAddressIsAnError) {
  auto loop = started_loop();
  ChardevContext context{*loop, nullptr};
  auto backend = create_chardev(chardev(ChardevKind::kSocket, "s"), context);
  ASSERT_FALSE(backend.has_value());
  EXPECT_EQ(backend.error().message(), "chardev 's': socket: no path or port given");
}

// stdio over pipes: the same code path as a non-terminal stdin/stdout.
struct StdioPipes {
  StdioPipes() {
    EXPECT_EQ(pipe(in), 0);
    EXPECT_EQ(pipe(out), 0);
  }
  ~StdioPipes() {
    for (int fd : {in[0], in[1], out[0], out[1]}) close(fd);
  }
  void type(std::string_view text) {
    ASSERT_EQ(::write(in[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
  std::string read_output(size_t size) {
    std::string text;
    while (text.size() < size) {
      pollfd p{out[0], POLLIN, 0};
      if (poll(&p, 1, 5000) <= 0) break;
      char buffer[256];
      const ssize_t n = ::read(out[0], buffer, sizeof buffer);
      if (n <= 0) break;
      text.append(buffer, n);
    }
    return text;
  }
  int in[2];
  int out[2];
};

TEST(Chardev, StdioDeliversInputAndWritesOutput) {
  auto loop = started_loop();
  StdioPipes pipes;
  auto backend =
      StdioChardev::create(chardev(ChardevKind::kStdio), *loop, nullptr, pipes.in[0], pipes.out[1]);
  ASSERT_TRUE(backend.has_value()) << backend.error().message();
  FakeFrontend frontend(64);
  pipes.type("before attach ");  // held until a front end is attached
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(frontend.received(), "");
  (*backend)->attach(&frontend);
  pipes.type("after");
  EXPECT_EQ(frontend.wait_for(19), "before attach after");
  (*backend)->write(as_bytes("guest says hi"));
  EXPECT_EQ(pipes.read_output(13), "guest says hi");
  (*backend)->attach(nullptr);
}

TEST(Chardev, StdioHonoursCanReceive) {
  auto loop = started_loop();
  StdioPipes pipes;
  auto backend =
      StdioChardev::create(chardev(ChardevKind::kStdio), *loop, nullptr, pipes.in[0], pipes.out[1]);
  ASSERT_TRUE(backend.has_value()) << backend.error().message();
  FakeFrontend frontend(3);
  (*backend)->attach(&frontend);
  pipes.type("abcdefgh");
  EXPECT_EQ(frontend.wait_for(3), "abc");
  std::this_thread::sleep_for(100ms);
  // Full: the backend stopped polling rather than spinning on can_receive().
  const int calls = frontend.can_receive_calls();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(frontend.can_receive_calls(), calls);
  EXPECT_EQ(frontend.received(), "abc");
  frontend.set_room(100);
  (*backend)->frontend_ready();
  EXPECT_EQ(frontend.wait_for(8), "abcdefgh");
  EXPECT_FALSE(frontend.overrun());
  (*backend)->attach(nullptr);
}

TEST(Chardev, StdioMuxEscapes) {
  auto loop = started_loop();
  StdioPipes pipes;
  std::atomic<int> quits = 0;
  auto config = chardev(ChardevKind::kStdio);
  config.mux = true;
  auto backend = StdioChardev::create(
      config, *loop, [&] { ++quits; }, pipes.in[0], pipes.out[1]);
  ASSERT_TRUE(backend.has_value()) << backend.error().message();
  FakeFrontend frontend(64);
  (*backend)->attach(&frontend);
  pipes.type(
      "a\x01\x01"
      "b\x01h");
  EXPECT_EQ(frontend.wait_for(3),
            "a\x01"
            "b");
  const std::string help = MuxEscape::help_text();
  EXPECT_EQ(pipes.read_output(help.size()), help);
  pipes.type("\x01x");
  for (int i = 0; i < 500 && quits.load() == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(quits.load(), 1);
  EXPECT_EQ(frontend.received(),
            "a\x01"
            "b");
  (*backend)->attach(nullptr);
}

TEST(Chardev, StdioOutputToAStalledPipeDoesNotHang) {
  auto loop = started_loop();
  StdioPipes pipes;
  auto backend =
      StdioChardev::create(chardev(ChardevKind::kStdio), *loop, nullptr, pipes.in[0], pipes.out[1]);
  ASSERT_TRUE(backend.has_value()) << backend.error().message();
  const std::string block(1 << 20, 'x');  // far more than a pipe holds
  const auto start = std::chrono::steady_clock::now();
  (*backend)->write(as_bytes(block));
  (*backend)->write(as_bytes(block));  // stalled: gives up at once
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
}

TEST(Chardev, StdioTerminalIsRawWhileInUseAndRestoredAfter) {
  int master = -1;
  int terminal = -1;
  ASSERT_EQ(openpty(&master, &terminal, nullptr, nullptr, nullptr), 0);
  termios before{};
  ASSERT_EQ(tcgetattr(terminal, &before), 0);
  ASSERT_TRUE(before.c_lflag & ICANON);
  {
    auto loop = started_loop();
    auto config = chardev(ChardevKind::kStdio);
    config.signal = false;
    auto backend = StdioChardev::create(config, *loop, nullptr, terminal, terminal);
    ASSERT_TRUE(backend.has_value()) << backend.error().message();
    termios during{};
    ASSERT_EQ(tcgetattr(terminal, &during), 0);
    EXPECT_FALSE(during.c_lflag & ICANON);
    EXPECT_FALSE(during.c_lflag & ECHO);
    EXPECT_FALSE(during.c_lflag & ISIG);  // signal=off: Ctrl-C goes to the guest
    EXPECT_FALSE(during.c_iflag & ICRNL);
  }
  termios after{};
  ASSERT_EQ(tcgetattr(terminal, &after), 0);
  EXPECT_EQ(after.c_lflag, before.c_lflag);
  EXPECT_EQ(after.c_iflag, before.c_iflag);
  close(terminal);
  close(master);
}

TEST(Chardev, StdioSignalOnKeepsCtrlCForTheHost) {
  int master = -1;
  int terminal = -1;
  ASSERT_EQ(openpty(&master, &terminal, nullptr, nullptr, nullptr), 0);
  {
    auto loop = started_loop();
    auto backend =
        StdioChardev::create(chardev(ChardevKind::kStdio), *loop, nullptr, terminal, terminal);
    ASSERT_TRUE(backend.has_value()) << backend.error().message();
    termios during{};
    ASSERT_EQ(tcgetattr(terminal, &during), 0);
    EXPECT_FALSE(during.c_lflag & ICANON);
    EXPECT_TRUE(during.c_lflag & ISIG);
  }
  close(terminal);
  close(master);
}

}  // namespace
}  // namespace godwit
