// virtio-net driven by the fake driver over a fake backend: frames both
// ways through the I/O loop, mergeable receive buffers, the receive filter
// the control queue sets, the state, and a driver that breaks the rules.
#include "virtio/virtio_net.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "devices/fakes_test_util.hpp"
#include "devices/state_test_util.hpp"
#include "migration/state_section.hpp"
#include "virtio/fake_driver_test_util.hpp"
#include "virtio/virtio_mmio_with.hpp"

namespace godwit {
namespace {

using namespace std::chrono_literals;
using testing::FakeDriver;
using testing::FakeInterruptController;
using testing::GuestRam;
using testing::kRamBase;
using testing::UsedElement;

constexpr std::array<uint8_t, 6> kMac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

class FakeBackend final : public NetBackend {
 public:
  const std::string& id() const override { return id_; }
  void attach(NetReceiver* nic) override { nic_ = nic; }
  void send(std::span<const uint8_t> frame, const VnetHeader& header) override {
    std::lock_guard lock(mutex_);
    sent_.emplace_back(frame.begin(), frame.end());
    headers_.push_back(header);
    changed_.notify_all();
  }
  std::string info() const override { return "fake"; }
  bool has_vnet_header() const override { return vnet_header_; }
  void set_offloads(const NetOffloads& offloads) override { offloads_ = offloads; }
  void receive_ready() override { ++ready_calls_; }

  std::vector<std::vector<uint8_t>> wait_sent(size_t count) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, 5s, [&] { return sent_.size() >= count; });
    return sent_;
  }
  std::vector<VnetHeader> headers() {
    std::lock_guard lock(mutex_);
    return headers_;
  }
  NetReceiver* nic_ = nullptr;
  bool vnet_header_ = false;
  NetOffloads offloads_;
  std::atomic<int> ready_calls_ = 0;

 private:
  std::string id_ = "n0";
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::vector<uint8_t>> sent_;
  std::vector<VnetHeader> headers_;
};

std::vector<uint8_t> frame_to(std::array<uint8_t, 6> destination, size_t size, uint8_t fill) {
  std::vector<uint8_t> frame(size, fill);
  std::copy(destination.begin(), destination.end(), frame.begin());
  frame[12] = 0x08;
  frame[13] = 0x00;
  return frame;
}

struct NetRig {
  NetRig() { loop.start(); }
  ~NetRig() { loop.stop(); }
  // Negotiates `features`, sets up the three queues, DRIVER_OK.
  void start(uint64_t features) {
    ASSERT_TRUE(driver.negotiate(features));
    driver.setup_queue(0, 16, kRamBase + 0x10000);
    driver.setup_queue(1, 16, kRamBase + 0x20000);
    driver.setup_queue(2, 16, kRamBase + 0x30000);
    driver.driver_ok();
  }
  // Runs a receive on the I/O thread, as a backend does.
  bool deliver(const std::vector<uint8_t>& frame, const VnetHeader& header = {}) {
    bool taken = false;
    loop.run_and_wait([&] { taken = backend.nic_->receive(frame, header); });
    return taken;
  }
  // A control command; returns the ack byte.
  uint8_t command(uint8_t cls, uint8_t cmd, const std::vector<uint8_t>& data) {
    const uint64_t request = kRamBase + 0x60000;
    const uint64_t ack = kRamBase + 0x61000;
    *ram.at(request) = cls;
    *ram.at(request + 1) = cmd;
    std::copy(data.begin(), data.end(), ram.at(request + 2));
    *ram.at(ack) = 0xee;
    driver.add(2, {{request, static_cast<uint32_t>(2 + data.size()), false}, {ack, 1, true}});
    driver.kick(2);
    UsedElement used{};
    for (int i = 0; i < 500 && !driver.next_used(2, used); ++i) std::this_thread::sleep_for(2ms);
    return *ram.at(ack);
  }

  IoLoop loop;
  FakeBackend backend;
  FakeInterruptController controller;
  GuestRam ram;
  VirtioMmioWith<VirtioNet> transport{IrqLine(&controller, 8), ram.memory,
                                      std::make_unique<VirtioNet>(backend, loop, kMac), true, "test"};
  FakeDriver driver{transport, ram};
};

TEST(VirtioNet, OffersWhatQemuOffersAndShowsItsMacAndLink) {
  NetRig rig;
  EXPECT_EQ(rig.driver.reg(VirtioMmio::kDeviceId), kVirtioIdNet);
  rig.start(VirtioNet::kFeatureMac | VirtioNet::kFeatureStatus);
  for (unsigned i = 0; i < 6; ++i) EXPECT_EQ(rig.transport.read(VirtioMmio::kConfig + i, 1), kMac[i]);
  EXPECT_EQ(rig.transport.read(VirtioMmio::kConfig + 6, 2), VirtioNet::kStatusLinkUp);
}

TEST(VirtioNet, TransmittedFramesReachTheBackendWithoutTheirHeader) {
  NetRig rig;
  rig.start(VirtioNet::kFeatureMac | VirtioNet::kFeatureMrgRxbuf);
  const auto frame = frame_to({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 60, 0x5a);
  const uint64_t buffer = kRamBase + 0x40000;
  std::fill_n(rig.ram.at(buffer), 12, 0);  // virtio_net_hdr with num_buffers
  std::copy(frame.begin(), frame.end(), rig.ram.at(buffer + 12));
  rig.driver.add(1, {{buffer, 12 + 60, false}});
  rig.driver.kick(1);
  const auto sent = rig.backend.wait_sent(1);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0], frame);
  UsedElement used{};
  for (int i = 0; i < 500 && !rig.driver.next_used(1, used); ++i) std::this_thread::sleep_for(2ms);
  EXPECT_EQ(used.length, 0u);
}

TEST(VirtioNet, AFrameSpansMergeableBuffersAndSaysHowMany) {
  NetRig rig;
  rig.start(VirtioNet::kFeatureMac | VirtioNet::kFeatureMrgRxbuf);
  rig.driver.add(0, {{kRamBase + 0x40000, 1000, true}});
  rig.driver.add(0, {{kRamBase + 0x41000, 1000, true}});
  const auto frame = frame_to(kMac, 1500, 0x77);
  ASSERT_TRUE(rig.deliver(frame));
  UsedElement first{}, second{};
  ASSERT_TRUE(rig.driver.next_used(0, first));
  ASSERT_TRUE(rig.driver.next_used(0, second));
  EXPECT_EQ(first.length, 1000u);
  EXPECT_EQ(second.length, 12u + 1500 - 1000);
  EXPECT_EQ(rig.ram.u16(kRamBase + 0x40000 + 10), 2);  // num_buffers
  EXPECT_TRUE(std::equal(frame.begin(), frame.begin() + 988, rig.ram.at(kRamBase + 0x40000 + 12)));
  EXPECT_TRUE(std::equal(frame.begin() + 988, frame.end(), rig.ram.at(kRamBase + 0x41000)));
  // No buffers left: the frame waits, and the next is refused.
  EXPECT_TRUE(rig.deliver(frame));
  bool can = true;
  rig.loop.run_and_wait([&] { can = rig.backend.nic_->can_receive(); });
  EXPECT_FALSE(can);
  EXPECT_FALSE(rig.deliver(frame_to(kMac, 60, 1)));
  // A buffer and its kick: the waiting frame goes in, and the backend hears
  // it may send again.
  rig.driver.add(0, {{kRamBase + 0x42000, 2048, true}});
  rig.driver.kick(0);
  rig.loop.run_and_wait([] {});
  UsedElement third{};
  ASSERT_TRUE(rig.driver.next_used(0, third));
  EXPECT_EQ(third.length, 12u + 1500);
  EXPECT_TRUE(std::equal(frame.begin(), frame.end(), rig.ram.at(kRamBase + 0x42000 + 12)));
  EXPECT_GE(rig.backend.ready_calls_.load(), 1);
}

TEST(VirtioNet, OffloadsAreOfferedOnlyOverAVnetHeaderAndPassBothWays) {
  {
    NetRig plain;
    EXPECT_EQ(plain.transport.device().device_features() & VirtioNet::kOffloadFeatures, 0u);
  }
  NetRig rig;
  rig.backend.vnet_header_ = true;
  EXPECT_EQ(rig.transport.device().device_features() & VirtioNet::kOffloadFeatures, VirtioNet::kOffloadFeatures);
  rig.start(VirtioNet::kFeatureMac | VirtioNet::kFeatureMrgRxbuf | VirtioNet::kFeatureCsum |
            VirtioNet::kFeatureGuestCsum | VirtioNet::kFeatureGuestTso4 | VirtioNet::kFeatureHostTso4);
  EXPECT_EQ(rig.backend.offloads_, (NetOffloads{.csum = true, .tso4 = true}));

  // Transmit: the guest's header reaches the backend as it wrote it.
  const auto frame = frame_to({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 60, 0x5a);
  const uint64_t buffer = kRamBase + 0x40000;
  const uint8_t header[12] = {1, 1, 54, 0, 0xa8, 0x05, 34, 0, 16, 0, 0, 0};
  std::copy(header, header + 12, rig.ram.at(buffer));
  std::copy(frame.begin(), frame.end(), rig.ram.at(buffer + 12));
  rig.driver.add(1, {{buffer, 12 + 60, false}});
  rig.driver.kick(1);
  ASSERT_EQ(rig.backend.wait_sent(1).size(), 1u);
  EXPECT_EQ(rig.backend.headers()[0], (VnetHeader{1, 1, 54, 1448, 34, 16}));

  // Receive: a TSO4 segment with a partial checksum goes in with its header;
  // a TSO6 one, which the guest did not agree to, is dropped.
  rig.driver.add(0, {{kRamBase + 0x50000, 4096, true}});
  const VnetHeader tso4{VnetHeader::kNeedsCsum, VnetHeader::kGsoTcpV4, 66, 1448, 34, 16};
  ASSERT_TRUE(rig.deliver(frame_to(kMac, 3000, 7), tso4));
  UsedElement used{};
  ASSERT_TRUE(rig.driver.next_used(0, used));
  EXPECT_EQ(*rig.ram.at(kRamBase + 0x50000), VnetHeader::kNeedsCsum);
  EXPECT_EQ(*rig.ram.at(kRamBase + 0x50001), VnetHeader::kGsoTcpV4);
  EXPECT_EQ(rig.ram.u16(kRamBase + 0x50004), 1448);
  EXPECT_TRUE(rig.deliver(frame_to(kMac, 3000, 8), VnetHeader{0, VnetHeader::kGsoTcpV6, 0, 1448, 0, 0}));
  EXPECT_EQ(rig.transport.device().frames_dropped(), 1u);
  EXPECT_FALSE(rig.driver.next_used(0, used));

  // A reset takes the offloads back from the host.
  rig.transport.write(VirtioMmio::kStatus, 4, 0);
  EXPECT_EQ(rig.backend.offloads_, NetOffloads{});
}

TEST(VirtioNet, AWaitingFrameTravelsInTheStateAndArrivesAfterTheLoad) {
  NetRig source;
  source.start(VirtioNet::kFeatureMac | VirtioNet::kFeatureMrgRxbuf);
  source.driver.add(0, {{kRamBase + 0x40000, 500, true}});
  const auto frame = frame_to(kMac, 1400, 0x3c);
  ASSERT_TRUE(source.deliver(frame));  // too big for one 500-byte buffer: it waits
  source.transport.device().quiesce();
  EXPECT_EQ(source.transport.device().snapshot().pending_frame, frame);

  NetRig destination;
  std::copy(source.ram.at(kRamBase), source.ram.at(kRamBase) + 0x80000, destination.ram.at(kRamBase));
  ASSERT_TRUE(testing::load_bytes(destination.transport, testing::save_bytes(source.transport)));
  destination.loop.run_and_wait([] {});
  for (unsigned i = 0; i < 3; ++i) destination.driver.ring(i) = source.driver.ring(i);  // the same guest
  destination.driver.add(0, {{kRamBase + 0x41000, 2048, true}});
  destination.driver.kick(0);
  destination.loop.run_and_wait([] {});
  UsedElement used{};
  // The driver's view: the used ring in RAM the destination now writes.
  ASSERT_TRUE(destination.driver.next_used(0, used));
  EXPECT_EQ(used.length, 500u);
  ASSERT_TRUE(destination.driver.next_used(0, used));
  EXPECT_EQ(used.length, 12u + 1400 - 500);
  EXPECT_TRUE(std::equal(frame.begin(), frame.begin() + 488, destination.ram.at(kRamBase + 0x40000 + 12)));
  EXPECT_TRUE(std::equal(frame.begin() + 488, frame.end(), destination.ram.at(kRamBase + 0x41000)));
  EXPECT_TRUE(destination.transport.device().snapshot().pending_frame.empty());
}

TEST(VirtioNet, TheControlQueueSetsTheReceiveFilter) {
  NetRig rig;
  rig.start(VirtioNet::kFeatureMac | VirtioNet::kFeatureMrgRxbuf | VirtioNet::kFeatureCtrlVq |
            VirtioNet::kFeatureCtrlRx);
  EXPECT_EQ(rig.command(0, 0, {0}), 0);  // promiscuous off
  EXPECT_EQ(rig.command(9, 9, {}), 1);   // unknown: error
  for (int i = 0; i < 3; ++i) rig.driver.add(0, {{kRamBase + 0x40000 + 0x1000 * static_cast<uint64_t>(i), 2048, true}});
  // Someone else's unicast frame is filtered out (taken, not delivered);
  // ours and a broadcast go in.
  EXPECT_TRUE(rig.deliver(frame_to({0x52, 0x54, 0, 0, 0, 1}, 64, 1)));
  EXPECT_TRUE(rig.deliver(frame_to(kMac, 64, 2)));
  EXPECT_TRUE(rig.deliver(frame_to({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 64, 3)));
  UsedElement used{};
  ASSERT_TRUE(rig.driver.next_used(0, used));
  EXPECT_EQ(*rig.ram.at(kRamBase + 0x40000 + 12 + 20), 2);
  ASSERT_TRUE(rig.driver.next_used(0, used));
  EXPECT_EQ(*rig.ram.at(kRamBase + 0x41000 + 12 + 20), 3);
  EXPECT_FALSE(rig.driver.next_used(0, used));
  EXPECT_EQ(rig.transport.device().frames_received(), 2u);

  // The state keeps the filter and the MAC.
  auto state = rig.transport.device().snapshot();
  EXPECT_FALSE(state.promisc);
  EXPECT_TRUE(testing::load_bytes(rig.transport, testing::save_bytes(rig.transport)));
}

TEST(VirtioNet, AGuestAnnounceIsAskedAndAcknowledged) {
  NetRig rig;
  rig.start(VirtioNet::kFeatureMac | VirtioNet::kFeatureStatus | VirtioNet::kFeatureCtrlVq |
            VirtioNet::kFeatureGuestAnnounce);
  rig.transport.device().request_guest_announce();
  EXPECT_EQ(rig.transport.read(VirtioMmio::kConfig + 6, 2), VirtioNet::kStatusLinkUp | VirtioNet::kStatusAnnounce);
  EXPECT_EQ(rig.command(3, 0, {}), 0);  // ANNOUNCE_ACK
  EXPECT_EQ(rig.transport.read(VirtioMmio::kConfig + 6, 2), VirtioNet::kStatusLinkUp);
  // The host-side announcement: a RARP from our MAC.
  rig.loop.run_and_wait([&] { rig.transport.device().send_self_announce(); });
  const auto sent = rig.backend.wait_sent(1);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0][12], 0x80);
  EXPECT_EQ(sent[0][13], 0x35);
  EXPECT_TRUE(std::equal(kMac.begin(), kMac.end(), sent[0].begin() + 6));
}

TEST(VirtioNet, ASmallBufferWithoutMergeableBuffersBreaksTheDeviceNotGodwit) {
  NetRig rig;
  rig.start(VirtioNet::kFeatureMac);
  rig.driver.add(0, {{kRamBase + 0x40000, 100, true}});
  EXPECT_TRUE(rig.deliver(frame_to(kMac, 1000, 1)));
  EXPECT_TRUE(rig.driver.reg(VirtioMmio::kStatus) & kVirtioStatusNeedsReset);
}

TEST(VirtioNet, HostileTransmitDescriptorsBreakTheDeviceNotGodwit) {
  NetRig rig;
  rig.backend.vnet_header_ = true;
  rig.start(VirtioNet::kFeatureMac | VirtioNet::kFeatureMrgRxbuf | VirtioNet::kFeatureCsum);
  // A header claiming a checksum far past the frame goes to the backend as
  // written (the host kernel judges it); a buffer outside guest RAM breaks
  // the queue: NEEDS_RESET, nothing sent from it, and the device still
  // answers its registers.
  const uint64_t buffer = kRamBase + 0x40000;
  const uint8_t header[12] = {1, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0};
  std::copy(header, header + 12, rig.ram.at(buffer));
  std::fill_n(rig.ram.at(buffer + 12), 60, 0x42);
  rig.driver.add(1, {{buffer, 12 + 60, false}});
  rig.driver.add(1, {{0x7000'0000'0000, 4096, false}});
  rig.driver.kick(1);
  ASSERT_EQ(rig.backend.wait_sent(1).size(), 1u);
  EXPECT_EQ(rig.backend.headers()[0].csum_start, 0xffff);
  rig.loop.run_and_wait([] {});
  EXPECT_TRUE(rig.driver.reg(VirtioMmio::kStatus) & kVirtioStatusNeedsReset);
  EXPECT_EQ(rig.backend.wait_sent(1).size(), 1u);
  EXPECT_EQ(rig.driver.reg(VirtioMmio::kDeviceId), kVirtioIdNet);
}

TEST(VirtioNet, APausedDeviceTakesNothingAndSendsOnceItGoesOn) {
  NetRig rig;
  rig.start(VirtioNet::kFeatureMac | VirtioNet::kFeatureMrgRxbuf);
  rig.driver.add(0, {{kRamBase + 0x40000, 2048, true}});
  rig.transport.device().quiesce();
  EXPECT_FALSE(rig.deliver(frame_to(kMac, 64, 1)));
  const uint64_t buffer = kRamBase + 0x50000;
  std::fill_n(rig.ram.at(buffer), 12 + 60, 0x11);
  std::fill_n(rig.ram.at(buffer), 12, 0);
  rig.driver.add(1, {{buffer, 12 + 60, false}});
  rig.driver.kick(1);
  rig.loop.run_and_wait([] {});
  EXPECT_TRUE(rig.backend.wait_sent(0).empty());
  rig.transport.device().unquiesce();
  EXPECT_EQ(rig.backend.wait_sent(1).size(), 1u);
  EXPECT_TRUE(rig.deliver(frame_to(kMac, 64, 1)));
}

}  // namespace
}  // namespace godwit
