// virtio-rng and virtio-serial driven by the fake driver: entropy reaches
// the guest's buffers; the console's MULTIPORT handshake as Linux does it,
// guest output to the chardev and chardev input to the guest.
#include <gtest/gtest.h>

#include "devices/fakes_test_util.hpp"
#include "devices/state_test_util.hpp"
#include "migration/state_section.hpp"
#include "virtio/fake_driver_test_util.hpp"
#include "virtio/virtio_console.hpp"
#include "virtio/virtio_mmio_with.hpp"
#include "virtio/virtio_rng.hpp"

namespace godwit {
namespace {

using testing::FakeCharBackend;
using testing::FakeDriver;
using testing::FakeInterruptController;
using testing::GuestRam;
using testing::kRamBase;
using testing::UsedElement;

class CountingEntropy final : public EntropySource {
 public:
  size_t fill(std::span<uint8_t> out) override {
    for (auto& byte : out) byte = next++;
    return out.size();
  }
  uint8_t next = 1;
};

TEST(VirtioRng, FillsTheGuestsBuffers) {
  FakeInterruptController controller;
  GuestRam ram;
  VirtioMmioWith<VirtioRng> transport(IrqLine(&controller, 8), ram.memory,
                                      std::make_unique<VirtioRng>(std::make_unique<CountingEntropy>()), true, "test");
  FakeDriver driver(transport, ram);
  EXPECT_EQ(driver.reg(VirtioMmio::kDeviceId), kVirtioIdEntropy);
  ASSERT_TRUE(driver.negotiate(0));
  driver.set(VirtioMmio::kQueueSel, 0);
  EXPECT_EQ(driver.reg(VirtioMmio::kQueueNumMax), 8u);
  driver.setup_queue(0, 8, kRamBase + 0x10000);
  driver.driver_ok();
  const uint16_t head = driver.add(0, {{kRamBase + 0x40000, 16, true}});
  driver.kick(0);
  UsedElement used{};
  ASSERT_TRUE(driver.next_used(0, used));
  EXPECT_EQ(used.id, head);
  EXPECT_EQ(used.length, 16u);
  EXPECT_EQ(*ram.at(kRamBase + 0x40000), 1);
  EXPECT_EQ(*ram.at(kRamBase + 0x4000f), 16);
  EXPECT_TRUE(controller.level(8));
  // The state is the transport's alone.
  EXPECT_TRUE(testing::load_bytes(transport, testing::save_bytes(transport)));
}

// Linux writes GuestPageSize once when it finds a legacy transport, then
// resets the device (status 0) before each driver probe: the reset must not
// forget the page size, or every queue's rings would be placed at 0.
TEST(VirtioRng, LegacyDriverResetKeepsTheGuestPageSize) {
  FakeInterruptController controller;
  GuestRam ram;
  VirtioMmioWith<VirtioRng> transport(IrqLine(&controller, 8), ram.memory,
                                      std::make_unique<VirtioRng>(std::make_unique<CountingEntropy>()), true, "test");
  FakeDriver driver(transport, ram);
  driver.set(VirtioMmio::kGuestPageSize, 4096);
  ASSERT_TRUE(driver.negotiate(0));  // writes status 0 first
  driver.set(VirtioMmio::kQueueSel, 0);
  driver.set(VirtioMmio::kQueueNum, 8);
  driver.set(VirtioMmio::kQueueAlign, 4096);
  driver.set(VirtioMmio::kQueuePfn, static_cast<uint32_t>((kRamBase + 0x10000) / 4096));
  EXPECT_EQ(transport.queue(0).desc(), kRamBase + 0x10000);
}

TEST(VirtioRng, BuiltinAndFileSourcesGiveBytes) {
  std::array<uint8_t, 32> bytes{};
  EXPECT_EQ(make_builtin_entropy()->fill(bytes), bytes.size());
  auto file = open_entropy_file("/dev/urandom");
  ASSERT_TRUE(file);
  EXPECT_EQ((*file)->fill(bytes), bytes.size());
  EXPECT_EQ(open_entropy_file("/nonexistent/rng").error().message().find("could not open '/nonexistent/rng'"), 0u);
}

// Queues as Linux's virtio_console lays them out with MULTIPORT.
constexpr unsigned kRx0 = 0, kTx0 = 1, kCtrlRx = 2, kCtrlTx = 3;
constexpr uint64_t kRxBuffer = kRamBase + 0x80000;
constexpr uint64_t kCtrlBuffers = kRamBase + 0x90000;
constexpr uint64_t kOut = kRamBase + 0xa0000;

struct Console {
  explicit Console(bool legacy)
      : transport(IrqLine(&controller, 8), ram.memory,
                  std::make_unique<VirtioConsole>(std::vector<VirtioConsole::PortConfig>{{&chardev, "", true}}), legacy,
                  "test"),
        driver(transport, ram) {}

  void start() {
    ASSERT_TRUE(driver.negotiate(VirtioConsole::kFeatureMultiport));
    for (unsigned q = 0; q < 4; ++q) driver.setup_queue(q, 16, kRamBase + 0x10000 * (q + 1));
    driver.driver_ok();
    for (unsigned i = 0; i < 8; ++i) driver.add(kCtrlRx, {{kCtrlBuffers + 64 * i, 64, true}});
    driver.add(kRx0, {{kRxBuffer, 32, true}});
  }
  void send_control(uint32_t id, uint16_t event, uint16_t value) {
    const uint64_t at = kOut + 0x1000 + 8 * sent++;
    store_le<uint32_t>(ram.at(at), id);
    store_le<uint16_t>(ram.at(at + 4), event);
    store_le<uint16_t>(ram.at(at + 6), value);
    driver.add(kCtrlTx, {{at, 8, false}});
    driver.kick(kCtrlTx);
  }
  // The control messages the device sent since the last call.
  std::vector<std::array<uint32_t, 3>> received() {
    std::vector<std::array<uint32_t, 3>> out;
    UsedElement used{};
    while (driver.next_used(kCtrlRx, used)) {
      const uint64_t at = kCtrlBuffers + 64 * used.id;
      out.push_back({ram.u32(at), ram.u16(at + 4), ram.u16(at + 6)});
    }
    return out;
  }

  FakeInterruptController controller;
  GuestRam ram;
  FakeCharBackend chardev;
  VirtioMmioWith<VirtioConsole> transport;
  FakeDriver driver;
  unsigned sent = 0;
};

using Message = std::array<uint32_t, 3>;

TEST(VirtioConsole, MultiportHandshakeAndDataBothWays) {
  for (bool legacy : {true, false}) {
    Console c(legacy);
    EXPECT_EQ(c.driver.reg(VirtioMmio::kDeviceId), kVirtioIdConsole);
    EXPECT_EQ(c.transport.read(0x104, 4), VirtioConsole::kMaxPorts);  // max_nr_ports
    ASSERT_EQ(c.chardev.frontend != nullptr, true);
    c.chardev.frontend->opened();
    c.start();
    c.send_control(0, VirtioConsole::kDeviceReady, 1);
    EXPECT_EQ(c.received(), (std::vector<Message>{{0, VirtioConsole::kPortAdd, 1}}));
    c.send_control(0, VirtioConsole::kPortReady, 1);
    EXPECT_EQ(c.received(), (std::vector<Message>{{0, VirtioConsole::kConsolePort, 1}, {0, VirtioConsole::kPortOpen, 1}}));
    // Not opened by the guest yet: input waits in the chardev.
    EXPECT_EQ(c.chardev.feed("x"), 0u);
    c.send_control(0, VirtioConsole::kPortOpen, 1);
    EXPECT_EQ(c.chardev.feed("hi there"), 8u);
    UsedElement used{};
    ASSERT_TRUE(c.driver.next_used(kRx0, used));
    EXPECT_EQ(used.length, 8u);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(c.ram.at(kRxBuffer)), 8), "hi there");
    EXPECT_EQ(c.chardev.feed("more"), 0u);  // no buffer left
    c.driver.add(kRx0, {{kRxBuffer + 64, 2, true}});
    const int ready_before = c.chardev.ready_calls;
    c.driver.kick(kRx0);
    EXPECT_GT(c.chardev.ready_calls, ready_before);
    EXPECT_EQ(c.chardev.feed("more"), 2u);

    std::memcpy(c.ram.at(kOut), "login: ", 7);
    c.driver.add(kTx0, {{kOut, 7, false}});
    c.driver.kick(kTx0);
    EXPECT_EQ(c.chardev.output, "login: ");
    ASSERT_TRUE(c.driver.next_used(kTx0, used));
    EXPECT_EQ(used.length, 0u);
  }
}

TEST(VirtioConsole, WithoutMultiportPortZeroIsOpen) {
  Console c(true);
  ASSERT_TRUE(c.driver.negotiate(0));
  c.driver.setup_queue(kRx0, 16, kRamBase + 0x10000);
  c.driver.setup_queue(kTx0, 16, kRamBase + 0x20000);
  c.driver.driver_ok();
  c.driver.add(kRx0, {{kRxBuffer, 32, true}});
  EXPECT_EQ(c.chardev.feed("ok"), 2u);
  std::memcpy(c.ram.at(kOut), "out", 3);
  c.driver.add(kTx0, {{kOut, 3, false}});
  c.driver.kick(kTx0);
  EXPECT_EQ(c.chardev.output, "out");
}

TEST(VirtioConsole, EmergencyWriteGoesToPortZero) {
  Console c(false);
  c.transport.write(0x108, 4, 'E');
  EXPECT_EQ(c.chardev.output, "E");
}

TEST(VirtioConsole, StateKeepsPortFlagsAndPendingControl) {
  Console source(false);
  source.chardev.frontend->opened();
  source.start();
  source.send_control(0, VirtioConsole::kDeviceReady, 1);
  source.send_control(0, VirtioConsole::kPortReady, 1);
  source.send_control(0, VirtioConsole::kPortOpen, 1);
  // The control receive buffers run out: two messages wait in the device.
  for (int i = 0; i < 5; ++i) source.chardev.frontend->closed(), source.chardev.frontend->opened();
  const auto state = source.transport.device().snapshot();
  EXPECT_TRUE(state.ports[0].guest_connected);
  EXPECT_GT(state.pending_count, 0u);
  const auto bytes = testing::save_bytes(source.transport);

  Console destination(false);
  destination.ram.bytes = source.ram.bytes;
  ASSERT_TRUE(testing::load_bytes(destination.transport, bytes));
  const auto loaded = destination.transport.device().snapshot();
  EXPECT_TRUE(loaded.ports[0].guest_connected);
  EXPECT_EQ(loaded.pending_count, state.pending_count);
  // Input flows on the destination at once.
  EXPECT_EQ(destination.chardev.feed("z"), 1u);
}

TEST(VirtioConsole, PortNumbersAsQemu) {
  using Port = VirtioConsole::PortConfig;
  auto ids = VirtioConsole::assign_port_ids({Port{nullptr, "a", false}, Port{nullptr, "", true}, Port{nullptr, "", true}});
  ASSERT_TRUE(ids);
  EXPECT_EQ(*ids, (std::vector<unsigned>{1, 0, 2}));
  std::vector<Port> many(32);
  EXPECT_FALSE(VirtioConsole::assign_port_ids(many));
}

}  // namespace
}  // namespace godwit
