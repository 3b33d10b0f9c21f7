// The transport and split virtqueues driven by a fake driver: legacy and
// modern setup, indirect descriptors, event index, every hostile ring the
// queue must survive, and state saved mid-queue.
#include <gtest/gtest.h>

#include <deque>

#include "devices/fakes_test_util.hpp"
#include "devices/state_test_util.hpp"
#include "migration/state_section.hpp"
#include "virtio/fake_driver_test_util.hpp"
#include "virtio/virtio_mmio_with.hpp"

namespace godwit {
namespace {

using testing::Buffer;
using testing::FakeDriver;
using testing::FakeInterruptController;
using testing::GuestRam;
using testing::kRamBase;
using testing::UsedElement;

constexpr unsigned kIrq = 8;
constexpr uint64_t kRing0 = kRamBase + 0x10000;
constexpr uint64_t kData = kRamBase + 0x40000;

// Two queues of 16; pops what the driver makes available into `chains`
// and leaves pushing to the test. Config space: four bytes 0x11 0x22 0x33 0x44.
class RecordingDevice final : public VirtioDevice {
 public:
  struct State {
    static constexpr VMStateInfo kVMState{"recording", 1, 1};
    uint32_t notifies = 0;
    template <class V>
    void visit_state(V& v) {
      v.field("notifies", notifies);
    }
  };
  std::string_view name() const override { return "recording"; }
  uint32_t device_id() const override { return 42; }
  uint64_t device_features() const override { return 0x5; }
  unsigned queue_count() const override { return 2; }
  uint16_t queue_max_size(unsigned) const override { return 16; }
  uint32_t config_size() const override { return 4; }
  void read_config(uint32_t offset, std::span<uint8_t> out) const override {
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(0x11 * (offset + i + 1));
  }
  void attach(VirtioTransport& transport) override { this->transport = &transport; }
  void queue_notify(unsigned index) override {
    ++state.notifies;
    while (auto chain = transport->queue(index).pop()) chains.push_back(std::move(*chain));
  }
  void reset() override { chains.clear(); }
  State snapshot() const { return state; }
  Status restore(const State& s) {
    state = s;
    return {};
  }
  VirtioTransport* transport = nullptr;
  std::deque<DescriptorChain> chains;
  State state;
};

using Transport = VirtioMmioWith<RecordingDevice>;

struct Bench {
  explicit Bench(bool legacy)
      : transport(IrqLine(&controller, kIrq), ram.memory, std::make_unique<RecordingDevice>(), legacy, "virtio-mmio@test"),
        driver(transport, ram) {}
  RecordingDevice& device() { return transport.device(); }
  Virtqueue& queue(unsigned i) { return device().transport->queue(i); }
  bool line() { return controller.level(kIrq); }
  uint32_t status() { return driver.reg(VirtioMmio::kStatus); }

  FakeInterruptController controller;
  GuestRam ram;
  Transport transport;
  FakeDriver driver;
};

TEST(VirtioLegacy, SetsUpAQueueAndCompletesAChain) {
  Bench b(true);
  EXPECT_EQ(b.driver.reg(VirtioMmio::kVersion), 1u);
  EXPECT_EQ(b.driver.reg(VirtioMmio::kDeviceId), 42u);
  ASSERT_TRUE(b.driver.negotiate(~uint64_t{0}));
  // Legacy offers 32 bits: no VERSION_1, the ring features and the device's.
  EXPECT_EQ(b.driver.features, 0x5 | kVirtioFeatureIndirectDesc | kVirtioFeatureEventIdx);
  b.driver.setup_queue(0, 8, kRing0);
  EXPECT_EQ(b.driver.reg(VirtioMmio::kQueuePfn), kRing0 / 4096);
  EXPECT_EQ(b.queue(0).used(), kRing0 + 4096);
  b.driver.driver_ok();

  std::memcpy(b.ram.at(kData), "hello", 5);
  const uint16_t head = b.driver.add(0, {{kData, 5, false}, {kData + 0x100, 3, true}, {kData + 0x200, 7, true}});
  b.driver.kick(0);
  ASSERT_EQ(b.device().chains.size(), 1u);
  const DescriptorChain chain = b.device().chains.front();
  EXPECT_EQ(chain.head(), head);
  EXPECT_EQ(chain.readable_bytes(), 5u);
  EXPECT_EQ(chain.writable_bytes(), 10u);
  std::array<uint8_t, 8> got{};
  EXPECT_EQ(chain.read(1, got), 4u);
  EXPECT_EQ(std::string(got.begin(), got.begin() + 4), "ello");
  const std::string reply = "0123456789AB";
  EXPECT_EQ(chain.write(0, std::span(reinterpret_cast<const uint8_t*>(reply.data()), reply.size())), 10u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(b.ram.at(kData + 0x100)), 3), "012");
  EXPECT_EQ(std::string(reinterpret_cast<char*>(b.ram.at(kData + 0x200)), 7), "3456789");

  b.queue(0).push(chain, 10);
  EXPECT_FALSE(b.line());
  b.queue(0).notify();
  EXPECT_TRUE(b.line());
  EXPECT_EQ(b.driver.interrupt_status(), VirtioMmio::kInterruptUsedBuffer);
  UsedElement used{};
  ASSERT_TRUE(b.driver.next_used(0, used));
  EXPECT_EQ(used.id, head);
  EXPECT_EQ(used.length, 10u);
  b.driver.ack(VirtioMmio::kInterruptUsedBuffer);
  EXPECT_FALSE(b.line());
  EXPECT_EQ(b.driver.interrupt_status(), 0u);
}

TEST(VirtioLegacy, ConfigSpaceReadsByteByByte) {
  Bench b(true);
  EXPECT_EQ(b.transport.read(0x100, 1), 0x11u);
  EXPECT_EQ(b.transport.read(0x103, 1), 0x44u);
  EXPECT_EQ(b.transport.read(0x100, 4), 0x44332211u);
  EXPECT_EQ(b.transport.read(0x104, 1), 0u);  // past the config: 0
  EXPECT_EQ(b.transport.read(0x70, 2), 0u);   // registers: 32-bit only
  EXPECT_EQ(b.driver.reg(VirtioMmio::kConfigGeneration), 0u);
}

TEST(VirtioModern, RequiresVersion1AndFeaturesOk) {
  Bench b(false);
  EXPECT_EQ(b.driver.reg(VirtioMmio::kVersion), 2u);
  b.driver.set(VirtioMmio::kDeviceFeaturesSel, 1);
  EXPECT_EQ(b.driver.reg(VirtioMmio::kDeviceFeatures), 1u);  // VERSION_1 offered
  // A driver that does not take VERSION_1 is refused FEATURES_OK.
  b.driver.set(VirtioMmio::kStatus, 3);
  b.driver.set(VirtioMmio::kDriverFeaturesSel, 0);
  b.driver.set(VirtioMmio::kDriverFeatures, 1);
  b.driver.set(VirtioMmio::kStatus, 3 | kVirtioStatusFeaturesOk);
  EXPECT_EQ(b.status() & kVirtioStatusFeaturesOk, 0u);
  // Nor may it take what was not offered.
  b.driver.set(VirtioMmio::kDriverFeatures, 0x2);
  b.driver.set(VirtioMmio::kDriverFeaturesSel, 1);
  b.driver.set(VirtioMmio::kDriverFeatures, 1);
  b.driver.set(VirtioMmio::kStatus, 3 | kVirtioStatusFeaturesOk);
  EXPECT_EQ(b.status() & kVirtioStatusFeaturesOk, 0u);
  ASSERT_TRUE(b.driver.negotiate(0x1));
  EXPECT_EQ(b.transport.guest_features(), 0x1 | kVirtioFeatureVersion1);
}

TEST(VirtioModern, QueueReadyAndSeparateRingAddresses) {
  Bench b(false);
  ASSERT_TRUE(b.driver.negotiate(0));
  b.driver.set(VirtioMmio::kQueueSel, 1);
  EXPECT_EQ(b.driver.reg(VirtioMmio::kQueueReady), 0u);
  b.driver.setup_queue(1, 16, kRing0);
  EXPECT_EQ(b.driver.reg(VirtioMmio::kQueueReady), 1u);
  EXPECT_EQ(b.driver.reg(VirtioMmio::kQueueDeviceLow), static_cast<uint32_t>(b.driver.ring(1).used));
  EXPECT_EQ(b.driver.reg(VirtioMmio::kQueuePfn), 0u);  // legacy only
  b.driver.set(VirtioMmio::kQueueSel, 2);
  EXPECT_EQ(b.driver.reg(VirtioMmio::kQueueNumMax), 0u);  // no such queue
  b.driver.driver_ok();
  b.driver.add(1, {{kData, 16, true}});
  b.driver.kick(1);
  EXPECT_EQ(b.device().chains.size(), 1u);
}

TEST(VirtioModern, ConfigAccessesAndConfigGeneration) {
  Bench b(false);
  EXPECT_EQ(b.transport.read(0x102, 2), 0x4433u);
  EXPECT_EQ(b.transport.read(0x100, 4), 0x44332211u);
  const uint32_t before = b.driver.reg(VirtioMmio::kConfigGeneration);
  b.device().transport->notify_config_change();
  EXPECT_EQ(b.driver.reg(VirtioMmio::kConfigGeneration), before + 1);
  EXPECT_EQ(b.driver.interrupt_status(), VirtioMmio::kInterruptConfigChange);
  EXPECT_TRUE(b.line());
}

TEST(VirtioModern, StatusZeroResetsEverything) {
  Bench b(false);
  ASSERT_TRUE(b.driver.negotiate(0));
  b.driver.setup_queue(0, 8, kRing0);
  b.device().transport->notify_config_change();
  b.driver.set(VirtioMmio::kStatus, 0);
  EXPECT_EQ(b.status(), 0u);
  EXPECT_EQ(b.driver.interrupt_status(), 0u);
  EXPECT_FALSE(b.line());
  b.driver.set(VirtioMmio::kQueueSel, 0);
  EXPECT_EQ(b.driver.reg(VirtioMmio::kQueueReady), 0u);
  EXPECT_EQ(b.transport.guest_features(), 0u);
}

TEST(Virtqueue, IndirectDescriptors) {
  for (bool legacy : {true, false}) {
    Bench b(legacy);
    ASSERT_TRUE(b.driver.negotiate(kVirtioFeatureIndirectDesc));
    b.driver.setup_queue(0, 8, kRing0);
    b.driver.driver_ok();
    const uint16_t head =
        b.driver.add(0, {{kData, 4, false}, {kData + 16, 4, false}, {kData + 32, 8, true}}, kRamBase + 0x30000);
    b.driver.kick(0);
    ASSERT_EQ(b.device().chains.size(), 1u);
    const DescriptorChain& chain = b.device().chains.front();
    EXPECT_EQ(chain.head(), head);
    ASSERT_EQ(chain.readable().size(), 2u);
    EXPECT_EQ(chain.readable()[1].address, kData + 16);
    ASSERT_EQ(chain.writable().size(), 1u);
    EXPECT_EQ(chain.writable()[0].length, 8u);
  }
}

TEST(Virtqueue, EventIndexSuppressesInterruptsAndPublishesAvailEvent) {
  Bench b(false);
  ASSERT_TRUE(b.driver.negotiate(kVirtioFeatureEventIdx));
  b.driver.setup_queue(0, 8, kRing0);
  b.driver.driver_ok();
  for (int i = 0; i < 3; ++i) b.driver.add(0, {{kData + 64 * i, 8, true}});
  b.driver.kick(0);
  ASSERT_EQ(b.device().chains.size(), 3u);
  EXPECT_EQ(b.driver.avail_event(0), 3u);  // kick me once you pass 3
  // The driver wants an interrupt only once used.idx passes 2.
  b.driver.set_used_event(0, 2);
  b.queue(0).push(b.device().chains[0], 0);
  b.queue(0).notify();
  EXPECT_TRUE(b.line());  // the first notify always interrupts
  b.driver.ack(1);
  b.queue(0).push(b.device().chains[1], 0);
  b.queue(0).notify();
  EXPECT_FALSE(b.line());  // used.idx 2: event 2 not passed yet
  b.queue(0).push(b.device().chains[2], 0);
  b.queue(0).notify();
  EXPECT_TRUE(b.line());  // used.idx 3 passed 2
}

TEST(Virtqueue, NoInterruptFlagWithoutEventIndex) {
  Bench b(true);
  ASSERT_TRUE(b.driver.negotiate(0));
  b.driver.setup_queue(0, 8, kRing0);
  b.driver.driver_ok();
  b.driver.set_avail_flags(0, Virtqueue::kAvailNoInterrupt);
  b.driver.add(0, {{kData, 8, true}});
  b.driver.kick(0);
  b.queue(0).push(b.device().chains[0], 8);
  b.queue(0).notify();
  EXPECT_FALSE(b.line());
  EXPECT_EQ(b.driver.used_idx(0), 1u);
}

// --- hostile drivers: the device marks itself broken and carries on ---

class Hostile : public ::testing::TestWithParam<bool> {
 protected:
  Hostile() : b(GetParam()) {
    EXPECT_TRUE(b.driver.negotiate(kVirtioFeatureIndirectDesc | kVirtioFeatureEventIdx));
    b.driver.setup_queue(0, 8, kRing0);
    b.driver.driver_ok();
  }
  // Kicks and checks the device refused the ring: nothing popped,
  // DEVICE_NEEDS_RESET, a config interrupt; a second kick changes nothing.
  void expect_broken() {
    b.driver.kick(0);
    EXPECT_TRUE(b.device().chains.empty());
    EXPECT_TRUE(b.status() & kVirtioStatusNeedsReset);
    EXPECT_EQ(b.driver.interrupt_status(), VirtioMmio::kInterruptConfigChange);
    EXPECT_TRUE(b.line());
    b.driver.kick(0);
    EXPECT_TRUE(b.device().chains.empty());
    EXPECT_EQ(b.driver.used_idx(0), 0u);
    // A reset brings it back.
    ASSERT_TRUE(b.driver.negotiate(0));
    EXPECT_FALSE(b.status() & kVirtioStatusNeedsReset);
    b.driver.setup_queue(0, 8, kRing0);
    b.driver.driver_ok();
    b.driver.add(0, {{kData, 8, true}});
    b.driver.kick(0);
    EXPECT_EQ(b.device().chains.size(), 1u);
  }
  Bench b;
};

TEST_P(Hostile, DescriptorLoop) {
  auto& ring = b.driver.ring(0);
  b.driver.write_descriptor(ring.desc, 0, kData, 8, Virtqueue::kDescNext, 1);
  b.driver.write_descriptor(ring.desc, 1, kData, 8, Virtqueue::kDescNext, 0);
  b.driver.publish(0, 0);
  expect_broken();
}

TEST_P(Hostile, HeadPastTheQueue) {
  b.driver.publish(0, 9);
  expect_broken();
}

TEST_P(Hostile, NextPastTheQueue) {
  b.driver.write_descriptor(b.driver.ring(0).desc, 0, kData, 8, Virtqueue::kDescNext, 200);
  b.driver.publish(0, 0);
  expect_broken();
}

TEST_P(Hostile, BufferOutsideRam) {
  b.driver.add(0, {{0x1000, 8, true}});
  expect_broken();
}

TEST_P(Hostile, LengthPastTheEndOfRam) {
  b.driver.add(0, {{kRamBase + testing::kRamBytes - 16, 32, true}});
  expect_broken();
}

TEST_P(Hostile, LengthThatWrapsTheAddress) {
  b.driver.add(0, {{~uint64_t{0} - 4, 0xffffffff, false}});
  expect_broken();
}

TEST_P(Hostile, AvailIndexJumpsPastQueueSize) {
  b.ram.set_u16(b.driver.ring(0).avail + 2, 9);
  expect_broken();
}

TEST_P(Hostile, IndirectInsideIndirect) {
  const uint64_t table = kRamBase + 0x30000;
  b.driver.write_descriptor(table, 0, table, 16, Virtqueue::kDescIndirect, 0);
  b.driver.write_descriptor(b.driver.ring(0).desc, 0, table, 16, Virtqueue::kDescIndirect, 0);
  b.driver.publish(0, 0);
  expect_broken();
}

TEST_P(Hostile, IndirectLoop) {
  const uint64_t table = kRamBase + 0x30000;
  b.driver.write_descriptor(table, 0, kData, 8, Virtqueue::kDescNext, 1);
  b.driver.write_descriptor(table, 1, kData, 8, Virtqueue::kDescNext, 0);
  b.driver.write_descriptor(b.driver.ring(0).desc, 0, table, 32, Virtqueue::kDescIndirect, 0);
  b.driver.publish(0, 0);
  expect_broken();
}

TEST_P(Hostile, IndirectTableOfAPartialDescriptor) {
  b.driver.write_descriptor(b.driver.ring(0).desc, 0, kRamBase + 0x30000, 20, Virtqueue::kDescIndirect, 0);
  b.driver.publish(0, 0);
  expect_broken();
}

TEST_P(Hostile, IndirectTableOutsideRam) {
  b.driver.write_descriptor(b.driver.ring(0).desc, 0, 0x2000, 32, Virtqueue::kDescIndirect, 0);
  b.driver.publish(0, 0);
  expect_broken();
}

TEST_P(Hostile, ReadableAfterWritable) {
  b.driver.add(0, {{kData, 8, true}, {kData + 8, 8, false}});
  expect_broken();
}

TEST_P(Hostile, RingsOutsideRam) {
  if (GetParam()) {
    b.driver.set(VirtioMmio::kQueuePfn, 0x10);  // 0x10000: not RAM
  } else {
    b.driver.set(VirtioMmio::kQueueReady, 0);
    b.driver.set(VirtioMmio::kQueueDescLow, 0x1000);
    b.driver.set(VirtioMmio::kQueueDescHigh, 0);
    b.driver.set(VirtioMmio::kQueueReady, 1);
  }
  expect_broken();
}

INSTANTIATE_TEST_SUITE_P(LegacyAndModern, Hostile, ::testing::Bool());

// --- migration ---

TEST(VirtioState, RoundTripMidQueue) {
  for (bool legacy : {true, false}) {
    Bench source(legacy);
    ASSERT_TRUE(source.driver.negotiate(kVirtioFeatureEventIdx));
    source.driver.setup_queue(0, 8, kRing0);
    source.driver.driver_ok();
    source.driver.add(0, {{kData, 8, true}});
    source.driver.kick(0);
    source.queue(0).push(source.device().chains[0], 8);
    source.queue(0).notify();
    // A second chain made available but not yet kicked when the guest stops.
    const uint16_t second = source.driver.add(0, {{kData + 64, 4, true}});
    const auto bytes = testing::save_bytes(source.transport);

    Bench destination(legacy);
    destination.ram.bytes = source.ram.bytes;  // RAM travels on its own
    ASSERT_TRUE(testing::load_bytes(destination.transport, bytes));
    EXPECT_EQ(destination.status(), source.status());
    EXPECT_EQ(destination.driver.interrupt_status(), VirtioMmio::kInterruptUsedBuffer);
    EXPECT_TRUE(destination.line());  // re-driven from the interrupt status
    EXPECT_EQ(destination.device().snapshot().notifies, 1u);
    EXPECT_EQ(destination.transport.guest_features(), source.transport.guest_features());
    destination.driver.kick(0);
    ASSERT_EQ(destination.device().chains.size(), 1u);
    EXPECT_EQ(destination.device().chains[0].head(), second);
    destination.queue(0).push(destination.device().chains[0], 4);
    EXPECT_EQ(destination.ram.u16(source.driver.ring(0).used + 2), 2u);
    EXPECT_EQ(testing::save_bytes(source.transport).size(), bytes.size());
  }
}

TEST(VirtioState, EmptyTransportAndDeviceRefuseEachOther) {
  Bench with(true);
  FakeInterruptController controller;
  VirtioMmio empty(IrqLine(&controller, 1));
  EXPECT_NE(testing::error_of(testing::load_bytes(empty, testing::save_bytes(with.transport))).find("unknown subsection"),
            std::string::npos);
  EXPECT_NE(testing::error_of(testing::load_bytes(with.transport, testing::save_bytes(empty))).find("empty transport"),
            std::string::npos);
}

TEST(VirtioState, RefusesAQueueLargerThanTheMaximum) {
  Bench b(false);
  auto state = b.transport.snapshot();
  state.transport.queues[0].queue.num = 17;
  EXPECT_FALSE(b.transport.restore(state));
  state.transport.queues[0].queue.num = 0;
  state.transport.queues[5].queue.ready = true;  // the device has two queues
  EXPECT_FALSE(b.transport.restore(state));
}

TEST(VirtioState, DescribesTransportAndDeviceInASubsection) {
  Bench b(true);
  const auto description = testing::describe(b.transport);
  EXPECT_EQ(description["vmsd_name"], "virtio_mmio");
  EXPECT_EQ(description["version"], 1);
  EXPECT_EQ(description["subsections"][0]["vmsd_name"], "virtio_mmio/device");
}

}  // namespace
}  // namespace godwit
