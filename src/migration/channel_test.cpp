#include "migration/channel.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "base/temp_dir_test_util.hpp"

namespace godwit {
namespace {

using testing::TempDir;

using namespace std::chrono_literals;
constexpr size_t kStreamBytes = 64 << 20;
constexpr size_t kChunkBytes = 1 << 20;
constexpr auto kAcceptTimeout = std::chrono::milliseconds(10'000);

// Deterministic bytes: chunk i of the stream is fill_chunk(i).
void fill_chunk(std::vector<uint8_t>& chunk, uint64_t index) {
  uint64_t x = index * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i + 8 <= chunk.size(); i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(&chunk[i], &x, 8);
  }
}

struct Digest {
  uint64_t bytes = 0;
  uint64_t hash = 1469598103934665603ull;
  void add(std::span<const uint8_t> data) {
    for (uint8_t b : data) hash = (hash ^ b) * 1099511628211ull;
    bytes += data.size();
  }
  bool operator==(const Digest&) const = default;
};

Result<Digest> send_pattern(ByteSink& sink, size_t total) {
  Digest digest;
  std::vector<uint8_t> chunk(kChunkBytes);
  for (size_t sent = 0, index = 0; sent < total; sent += chunk.size(), ++index) {
    fill_chunk(chunk, index);
    if (auto r = sink.write_all(chunk); !r) return std::unexpected(r.error());
    digest.add(chunk);
  }
  return digest;
}

Result<Digest> read_all(ByteSource& source) {
  Digest digest;
  std::vector<uint8_t> buffer(300 * 1024);
  while (true) {
    auto n = source.read_some(buffer);
    if (!n) return std::unexpected(n.error());
    if (*n == 0) return digest;
    digest.add(std::span(buffer).first(*n));
  }
}

// Calls `cancel` if the test has not finished within `limit`, so that a
// broken transport fails the test instead of hanging it.
class Watchdog {
 public:
  Watchdog(std::chrono::seconds limit, std::function<void()> cancel)
      : thread_([this, limit, cancel = std::move(cancel)](std::stop_token) {
          std::unique_lock lock(mutex_);
          if (!done_cv_.wait_for(lock, limit, [this] { return done_; })) cancel();
        }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::jthread thread_;
};

MigrationAddress parse(const std::string& uri, MigrationDirection direction) {
  auto parsed = parse_migration_uri(uri, direction);
  EXPECT_TRUE(parsed.has_value()) << uri;
  return *parsed;
}

// Listens on `uri`, connects to the bound address, and streams
// kStreamBytes across, checking what arrives.
void stream_through_socket(const std::string& uri) {
  auto listener = listen_incoming(parse(uri, MigrationDirection::incoming), {});
  ASSERT_TRUE(listener.has_value()) << listener.error().message();
  const MigrationAddress bound = (*listener)->bound_address();
  if (auto* inet = std::get_if<InetAddress>(&bound)) {
    EXPECT_NE(inet->port, 0);
  }

  auto received = std::async(std::launch::async, [&]() -> Result<Digest> {
    auto channel = (*listener)->accept_one(kAcceptTimeout);
    if (!channel) return std::unexpected(channel.error());
    EXPECT_NE((*channel)->return_path(), nullptr);
    Watchdog watchdog(60s, [&] { (*channel)->shutdown(); });
    auto digest = read_all((*channel)->source());
    EXPECT_TRUE((*channel)->close().has_value());
    return digest;
  });
  auto out = connect_outgoing(bound, {});
  ASSERT_TRUE(out.has_value()) << out.error().message();
  EXPECT_NE((*out)->return_path(), nullptr);
  Result<Digest> sent = fail("not sent");
  {
    Watchdog watchdog(60s, [&] { (*out)->shutdown(); });
    sent = send_pattern((*out)->sink(), kStreamBytes);
  }
  ASSERT_TRUE(sent.has_value()) << sent.error().message();
  ASSERT_TRUE((*out)->close().has_value());
  auto got = received.get();
  ASSERT_TRUE(got.has_value()) << got.error().message();
  EXPECT_EQ(got->bytes, kStreamBytes);
  EXPECT_EQ(*got, *sent);
}

TEST(Channel, StreamsOverTcpIpv4) { stream_through_socket("tcp:127.0.0.1:0"); }

TEST(Channel, StreamsOverTcpIpv6) { stream_through_socket("tcp:[::1]:0"); }

TEST(Channel, StreamsOverUnixSocketAndRemovesIt) {
  TempDir dir;
  const std::string path = dir / "mig.sock";
  stream_through_socket("unix:" + path);
  EXPECT_FALSE(std::filesystem::exists(path));
}

// Writes through `out_uri`, reads back through `in_uri`.
void round_trip(const std::string& out_uri, const std::string& in_uri, size_t bytes) {
  auto out = connect_outgoing(parse(out_uri, MigrationDirection::outgoing), {});
  ASSERT_TRUE(out.has_value()) << out.error().message();
  EXPECT_EQ((*out)->return_path(), nullptr);
  Result<Digest> sent = fail("not sent");
  {
    Watchdog watchdog(60s, [&] { (*out)->shutdown(); });
    sent = send_pattern((*out)->sink(), bytes);
  }
  ASSERT_TRUE(sent.has_value()) << sent.error().message();
  auto closed = (*out)->close();
  ASSERT_TRUE(closed.has_value()) << closed.error().message();

  auto listener = listen_incoming(parse(in_uri, MigrationDirection::incoming), {});
  ASSERT_TRUE(listener.has_value()) << listener.error().message();
  auto in = (*listener)->accept_one(kAcceptTimeout);
  ASSERT_TRUE(in.has_value()) << in.error().message();
  Result<Digest> got = fail("not read");
  {
    Watchdog watchdog(60s, [&] { (*in)->shutdown(); });
    got = read_all((*in)->source());
  }
  ASSERT_TRUE(got.has_value()) << got.error().message();
  EXPECT_TRUE((*in)->close().has_value());
  EXPECT_EQ(got->bytes, bytes);
  EXPECT_EQ(*got, *sent);
  auto again = (*listener)->accept_one(kAcceptTimeout);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().message(), in_uri + ": already accepted");
}

TEST(Channel, StreamsThroughExecCat) {
  TempDir dir;
  const std::string file = dir / "stream";
  round_trip("exec:cat > " + file, "exec:cat " + file, kStreamBytes);
  EXPECT_EQ(std::filesystem::file_size(file), kStreamBytes);
}

TEST(Channel, StreamsThroughExecGzip) {
  TempDir dir;
  const std::string file = dir / "stream.gz";
  round_trip("exec:gzip -c > " + file, "exec:gzip -dc " + file, kStreamBytes);
  std::ifstream in(file, std::ios::binary);
  unsigned char magic[2] = {};
  in.read(reinterpret_cast<char*>(magic), 2);
  EXPECT_EQ(magic[0], 0x1f);
  EXPECT_EQ(magic[1], 0x8b);
}

TEST(Channel, StreamsThroughFileAtOffset) {
  TempDir dir;
  const std::string file = dir / "image";
  {
    std::ofstream old(file);
    old << std::string(10000, 'x');  // bytes before the offset stay; the rest is cut
  }
  round_trip("file:" + file + ",offset=4096", "file:" + file + ",offset=4096", kStreamBytes);
  EXPECT_EQ(std::filesystem::file_size(file), 4096 + kStreamBytes);
  std::ifstream in(file, std::ios::binary);
  std::string head(4096, '?');
  in.read(head.data(), 4096);
  EXPECT_EQ(head, std::string(4096, 'x'));
  // A file the source creates is private to its owner (mode 0600).
  const std::string fresh = dir / "fresh";
  auto out = connect_outgoing(FileAddress{fresh, 0}, {});
  ASSERT_TRUE(out.has_value());
  ASSERT_TRUE((*out)->close().has_value());
  struct stat st {};
  ASSERT_EQ(stat(fresh.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(Channel, StreamsOverPassedFdsAndNumbers) {
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  std::string looked_up;
  FdLookup lookup = [&](const std::string& name) -> Result<int> {
    looked_up = name;
    return pair[0];
  };
  auto out = connect_outgoing(FdAddress{"migfd"}, lookup);
  ASSERT_TRUE(out.has_value()) << out.error().message();
  EXPECT_EQ(looked_up, "migfd");
  EXPECT_NE((*out)->return_path(), nullptr);
  auto listener = listen_incoming(FdAddress{std::to_string(pair[1])}, {});
  ASSERT_TRUE(listener.has_value()) << listener.error().message();
  auto in = (*listener)->accept_one(kAcceptTimeout);
  ASSERT_TRUE(in.has_value());
  auto received = std::async(std::launch::async, [&] { return read_all((*in)->source()); });
  auto sent = send_pattern((*out)->sink(), kStreamBytes);
  ASSERT_TRUE(sent.has_value()) << sent.error().message();
  ASSERT_TRUE((*out)->close().has_value());
  auto got = received.get();
  ASSERT_TRUE(got.has_value()) << got.error().message();
  EXPECT_EQ(*got, *sent);
  EXPECT_TRUE((*in)->close().has_value());
}

TEST(Channel, FdErrorsNameTheDescriptor) {
  auto unknown = connect_outgoing(FdAddress{"nosuch"}, {});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().message(), "fd:nosuch: File descriptor named 'nosuch' has not been found");
  auto bad_number = connect_outgoing(FdAddress{"12x"}, {});
  ASSERT_FALSE(bad_number.has_value());
  EXPECT_EQ(bad_number.error().message(), "fd:12x: Invalid file descriptor number '12x'");
  FdLookup refusing = [](const std::string& name) -> Result<int> {
    return fail("File descriptor named '" + name + "' has not been found");
  };
  auto refused = listen_incoming(FdAddress{"gone"}, refusing);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().message(), "fd:gone: File descriptor named 'gone' has not been found");
  int pipe_fds[2];
  ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
  auto wrong_end = connect_outgoing(FdAddress{std::to_string(pipe_fds[0])}, {});
  ASSERT_FALSE(wrong_end.has_value());
  EXPECT_EQ(wrong_end.error().message(),
            "fd:" + std::to_string(pipe_fds[0]) + ": descriptor is not open for writing");
  close(pipe_fds[1]);
}

TEST(Channel, PipeWithoutReaderIsBrokenPipeNotSigpipe) {
  int pipe_fds[2];
  ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
  close(pipe_fds[0]);
  auto out = connect_outgoing(FdAddress{std::to_string(pipe_fds[1])}, {});
  ASSERT_TRUE(out.has_value()) << out.error().message();
  auto sent = send_pattern((*out)->sink(), kChunkBytes);
  ASSERT_FALSE(sent.has_value());
  EXPECT_EQ(sent.error().message(),
            "fd:" + std::to_string(pipe_fds[1]) + ": Unable to write to file: Broken pipe");
}

TEST(Channel, PeerClosingMidStreamIsAnError) {
  auto listener = listen_incoming(InetAddress{"127.0.0.1", 0}, {});
  ASSERT_TRUE(listener.has_value());
  auto reader = std::async(std::launch::async, [&] {
    auto channel = (*listener)->accept_one(kAcceptTimeout);
    ASSERT_TRUE(channel.has_value());
    std::vector<uint8_t> buffer(kChunkBytes);
    size_t total = 0;
    while (total < kChunkBytes) {
      auto n = (*channel)->source().read_some(buffer);
      ASSERT_TRUE(n.has_value());
      ASSERT_NE(*n, 0u);
      total += *n;
    }
    (void)(*channel)->close();  // with unread data: the kernel sends RST
  });
  auto out = connect_outgoing((*listener)->bound_address(), {});
  ASSERT_TRUE(out.has_value());
  Result<Digest> sent = fail("not sent");
  {
    Watchdog watchdog(60s, [&] { (*out)->shutdown(); });
    sent = send_pattern((*out)->sink(), 1024 * kChunkBytes);
  }
  reader.get();
  ASSERT_FALSE(sent.has_value());
  const std::string& message = sent.error().message();
  const std::string prefix = to_string((*listener)->bound_address()) + ": Unable to write to socket: ";
  EXPECT_TRUE(message == prefix + "Broken pipe" || message == prefix + "Connection reset by peer")
      << message;
}

TEST(Channel, ConnectRefusedNamesTheAddress) {
  uint16_t port;
  {
    auto listener = listen_incoming(InetAddress{"127.0.0.1", 0}, {});
    ASSERT_TRUE(listener.has_value());
    port = std::get<InetAddress>((*listener)->bound_address()).port;
  }
  auto out = connect_outgoing(InetAddress{"127.0.0.1", port}, {});
  ASSERT_FALSE(out.has_value());
  const std::string where = "127.0.0.1:" + std::to_string(port);
  EXPECT_EQ(out.error().message(),
            "tcp:" + where + ": Failed to connect to '" + where + "': Connection refused");
  TempDir dir;
  auto unix_out = connect_outgoing(UnixAddress{dir / "none.sock"}, {});
  ASSERT_FALSE(unix_out.has_value());
  EXPECT_EQ(unix_out.error().message(), "unix:" + (dir / "none.sock") + ": Failed to connect to '" +
                                            (dir / "none.sock") +
                                            "': No such file or directory");
}

TEST(Channel, FullDeviceReportsEnospc) {
  auto out = connect_outgoing(FileAddress{"/dev/full", 0}, {});
  ASSERT_TRUE(out.has_value()) << out.error().message();
  auto sent = send_pattern((*out)->sink(), kChunkBytes);
  ASSERT_FALSE(sent.has_value());
  EXPECT_EQ(sent.error().message(),
            "file:/dev/full: Unable to write to file: No space left on device");
}

TEST(Channel, MissingFileNamesTheAddress) {
  auto in = listen_incoming(FileAddress{"/nonexistent/godwit", 0}, {});
  ASSERT_FALSE(in.has_value());
  EXPECT_EQ(in.error().message(),
            "file:/nonexistent/godwit: Unable to open /nonexistent/godwit: No such file or directory");
}

TEST(Channel, ExecFailureIsReportedOnClose) {
  auto out = connect_outgoing(parse("exec:exit 1", MigrationDirection::outgoing), {});
  ASSERT_TRUE(out.has_value());
  (void)send_pattern((*out)->sink(), 4 * kChunkBytes);  // may fail once the command is gone
  auto closed = (*out)->close();
  ASSERT_FALSE(closed.has_value());
  EXPECT_EQ(closed.error().message(), "exec:exit 1: command exited with status 1");
  // close() is idempotent.
  EXPECT_EQ((*out)->close().error().message(), "exec:exit 1: command exited with status 1");

  auto listener = listen_incoming(parse("exec:echo hi; exit 3", MigrationDirection::incoming), {});
  ASSERT_TRUE(listener.has_value());
  auto in = (*listener)->accept_one(kAcceptTimeout);
  ASSERT_TRUE(in.has_value());
  auto got = read_all((*in)->source());
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->bytes, 3u);
  EXPECT_EQ((*in)->close().error().message(), "exec:echo hi; exit 3: command exited with status 3");

  auto missing = connect_outgoing(ExecAddress{{"/nonexistent/godwit-tool"}}, {});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().message(),
            "exec:/nonexistent/godwit-tool: Unable to spawn /nonexistent/godwit-tool: No such file "
            "or directory");
}

TEST(Channel, ShutdownWakesABlockedAccept) {
  auto listener = listen_incoming(InetAddress{"127.0.0.1", 0}, {});
  ASSERT_TRUE(listener.has_value());
  auto accepted = std::async(std::launch::async, [&] { return (*listener)->accept_one(std::nullopt); });
  EXPECT_EQ(accepted.wait_for(100ms), std::future_status::timeout);
  (*listener)->shutdown();
  ASSERT_EQ(accepted.wait_for(10s), std::future_status::ready);
  auto result = accepted.get();
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().message(), to_string((*listener)->bound_address()) + ": cancelled");
}

TEST(Channel, AcceptTimesOut) {
  TempDir dir;
  auto listener = listen_incoming(UnixAddress{dir / "t.sock"}, {});
  ASSERT_TRUE(listener.has_value());
  const auto start = std::chrono::steady_clock::now();
  auto result = (*listener)->accept_one(50ms);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().message(), "unix:" + (dir / "t.sock") + ": timed out waiting for a connection");
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
  (*listener)->close();
  EXPECT_FALSE(std::filesystem::exists(dir / "t.sock"));
}

TEST(Channel, ShutdownWakesABlockedReadAndWrite) {
  auto listener = listen_incoming(InetAddress{"::1", 0}, {});
  ASSERT_TRUE(listener.has_value());
  auto out = connect_outgoing((*listener)->bound_address(), {});
  ASSERT_TRUE(out.has_value());
  auto in = (*listener)->accept_one(kAcceptTimeout);
  ASSERT_TRUE(in.has_value());
  const std::string name = to_string((*listener)->bound_address());

  // Nobody writes: the read blocks until shutdown.
  auto read = std::async(std::launch::async, [&] { return read_all((*in)->source()); });
  EXPECT_EQ(read.wait_for(100ms), std::future_status::timeout);
  (*in)->shutdown();
  ASSERT_EQ(read.wait_for(10s), std::future_status::ready);
  auto got = read.get();
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().message(), name + ": cancelled");

  // Nobody reads: the write blocks once the socket buffers fill.
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  auto writer = connect_outgoing(FdAddress{std::to_string(pair[0])}, {});
  ASSERT_TRUE(writer.has_value());
  auto written = std::async(std::launch::async,
                            [&] { return send_pattern((*writer)->sink(), kStreamBytes); });
  EXPECT_EQ(written.wait_for(100ms), std::future_status::timeout);
  (*writer)->shutdown();
  ASSERT_EQ(written.wait_for(10s), std::future_status::ready);
  auto result = written.get();
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().message(), "fd:" + std::to_string(pair[0]) + ": cancelled");
  close(pair[1]);
}

TEST(Channel, ManyPartsGoInOrderThroughShortWrites) {
  // 3000 parts of 1 to 8 KiB: more than IOV_MAX and far more than a socket
  // buffer, so sendmsg returns short and resumes mid-part.
  std::vector<std::vector<uint8_t>> parts;
  std::vector<iovec> iov;
  std::vector<uint8_t> expected;
  for (size_t i = 0; i < 3000; ++i) {
    parts.emplace_back(1024 * (1 + i % 8), static_cast<uint8_t>(i * 7));
    parts.back()[0] = static_cast<uint8_t>(i);
  }
  for (auto& part : parts) {
    iov.push_back({part.data(), part.size()});
    expected.insert(expected.end(), part.begin(), part.end());
  }
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  auto writer = connect_outgoing(FdAddress{std::to_string(pair[0])}, {});
  ASSERT_TRUE(writer.has_value());
  auto received = std::async(std::launch::async, [&] {
    std::vector<uint8_t> got;
    uint8_t buffer[3000];
    for (;;) {
      const ssize_t n = ::read(pair[1], buffer, sizeof buffer);
      if (n <= 0) return got;
      got.insert(got.end(), buffer, buffer + n);
    }
  });
  ASSERT_TRUE((*writer)->sink().write_all_parts(iov).has_value());
  ASSERT_TRUE((*writer)->close().has_value());
  ASSERT_EQ(received.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(received.get(), expected);
  close(pair[1]);
}

TEST(Channel, CancelKillsAnExecCommand) {
  auto listener = listen_incoming(parse("exec:sleep 60", MigrationDirection::incoming), {});
  ASSERT_TRUE(listener.has_value());
  auto in = (*listener)->accept_one(kAcceptTimeout);
  ASSERT_TRUE(in.has_value());
  auto read = std::async(std::launch::async, [&] { return read_all((*in)->source()); });
  EXPECT_EQ(read.wait_for(100ms), std::future_status::timeout);
  const auto start = std::chrono::steady_clock::now();
  (*in)->shutdown();
  ASSERT_EQ(read.wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(read.get().has_value());
  EXPECT_TRUE((*in)->close().has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

}  // namespace
}  // namespace godwit
