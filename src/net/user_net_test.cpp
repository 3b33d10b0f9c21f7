#include "net/user_net.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace godwit {
namespace {

using namespace std::chrono_literals;

class Collector : public NetReceiver {
 public:
  bool can_receive() override { return true; }
  bool receive(std::span<const uint8_t> frame, const VnetHeader&) override {
    std::lock_guard lock(mutex_);
    frames_.emplace_back(frame.begin(), frame.end());
    changed_.notify_all();
    return true;
  }
  // The first frame `match` accepts, waiting up to 5 s.
  template <class Match>
  std::vector<uint8_t> wait_for(Match match) {
    std::unique_lock lock(mutex_);
    std::vector<uint8_t> found;
    changed_.wait_for(lock, 5s, [&] {
      for (const auto& frame : frames_) {
        if (match(frame)) {
          found = frame;
          return true;
        }
      }
      return false;
    });
    return found;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::vector<uint8_t>> frames_;
};

constexpr std::array<uint8_t, 6> kGuestMac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

// An ARP request from 10.0.2.15 for `target`.
std::vector<uint8_t> arp_request(uint32_t target) {
  std::vector<uint8_t> frame(42, 0);
  std::fill_n(frame.begin(), 6, 0xff);
  std::copy(kGuestMac.begin(), kGuestMac.end(), frame.begin() + 6);
  frame[12] = 0x08, frame[13] = 0x06;          // ARP
  frame[14] = 0x00, frame[15] = 0x01;          // Ethernet
  frame[16] = 0x08, frame[17] = 0x00;          // IPv4
  frame[18] = 6, frame[19] = 4;
  frame[20] = 0x00, frame[21] = 0x01;          // request
  std::copy(kGuestMac.begin(), kGuestMac.end(), frame.begin() + 22);
  const uint8_t sender[4] = {10, 0, 2, 15};
  std::copy(sender, sender + 4, frame.begin() + 28);
  for (int i = 0; i < 4; ++i) frame[38 + i] = static_cast<uint8_t>(target >> (24 - 8 * i));
  return frame;
}

TEST(UserNet, TheGatewayAnswersArp) {
  IoLoop loop;
  loop.start();
  NetdevConfig config;
  config.id = "n0";
  auto net = UserNet::create(config, loop);
  ASSERT_TRUE(net) << net.error().message();
  Collector guest;
  (*net)->attach(&guest);
  const auto request = arp_request(0x0a000202);
  loop.post([&] { (*net)->send(request, VnetHeader{}); });
  const auto reply = guest.wait_for([](const std::vector<uint8_t>& f) {
    return f.size() >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 2;  // ARP reply
  });
  ASSERT_FALSE(reply.empty()) << "no ARP reply from 10.0.2.2";
  EXPECT_TRUE(std::equal(kGuestMac.begin(), kGuestMac.end(), reply.begin()));  // to the guest
  EXPECT_EQ(reply[28], 10);
  EXPECT_EQ(reply[31], 2);  // sender 10.0.2.2
  (*net)->attach(nullptr);
}

TEST(UserNet, AHostForwardOnATakenPortFailsInQemusWords) {
  // Someone else listens on a port first.
  const int holder = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(holder, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(holder, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(holder, 1), 0);
  socklen_t length = sizeof address;
  ASSERT_EQ(getsockname(holder, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const uint16_t port = ntohs(address.sin_port);

  IoLoop loop;
  loop.start();
  NetdevConfig config;
  config.id = "n0";
  const std::string rule = "tcp:127.0.0.1:" + std::to_string(port) + "-:22";
  config.origin = "-netdev user,id=n0,hostfwd=" + rule;
  config.user.forwards.push_back(
      {.udp = false, .host_address = INADDR_LOOPBACK, .host_port = port, .guest_port = 22, .text = rule});
  auto net = UserNet::create(config, loop);
  ASSERT_FALSE(net);
  EXPECT_EQ(net.error().message(), config.origin + ": Could not set up host forwarding rule '" + rule + "'");
  close(holder);
}

}  // namespace
}  // namespace godwit

namespace godwit {
namespace {

TEST(UserNet, ItsStateGoesFromOneLibslirpToAnother) {
  IoLoop loop;
  loop.start();
  NetdevConfig config;
  config.id = "n0";
  auto source = UserNet::create(config, loop);
  auto destination = UserNet::create(config, loop);
  ASSERT_TRUE(source && destination);
  const UserNet::State state = (*source)->snapshot();
  EXPECT_GT(state.slirp_version, 0u);
  EXPECT_FALSE(state.bytes.empty());  // at least the end marker and the IP id
  ASSERT_TRUE((*destination)->restore(state));
  EXPECT_EQ((*destination)->snapshot().bytes, state.bytes);

  UserNet::State newer = state;
  newer.slirp_version += 1;
  auto refused = (*destination)->restore(newer);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("this libslirp reads up to"), std::string::npos);
  loop.stop();
}

}  // namespace
}  // namespace godwit
