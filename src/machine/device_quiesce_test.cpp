// The board's quiesce step with a device that has work in flight: a doorbell
// write starts a request that a worker thread completes ~30 ms later by
// writing guest RAM and counting it in the device's state. Pausing the
// machine (stop, a migration's switchover, every CPR save) must quiesce the
// device after the harts are parked and before its state is saved, so the
// saved state and RAM hold the completed request; a failed migration lets
// the device take new work again.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "machine/spin_machine_test_util.hpp"
#include "machine/virt_machine.hpp"
#include "migration/byte_channel.hpp"
#include "migration/stream_writer.hpp"

namespace godwit {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kDeviceBase = 0x30000000;  // free on the virt board
constexpr uint64_t kCompletionAddress = 0x80800000;
constexpr uint32_t kCompletionMagic = 0x600d600d;

class InFlightDevice final : public Device {
 public:
  struct State {
    uint32_t started = 0;
    uint32_t completed = 0;
    static constexpr VMStateInfo kVMState{"test-in-flight", 1, 1};
    template <class V>
    void visit_state(V& v) {
      v.field("started", started);
      v.field("completed", completed);
    }
  };

  InFlightDevice(GuestMemory memory, std::function<bool()> harts_parked)
      : memory_(memory), harts_parked_(std::move(harts_parked)) {}
  ~InFlightDevice() override {
    if (worker_.joinable()) worker_.join();
  }

  std::string_view name() const override { return "in-flight"; }
  uint64_t read(uint64_t, unsigned) override { return 0; }
  // Any write rings the doorbell: one request, completed by a worker.
  void write(uint64_t, unsigned, uint64_t) override {
    std::lock_guard lock(mutex_);
    if (quiesced_) {
      ++refused_while_quiesced;
      return;
    }
    if (worker_.joinable()) worker_.join();
    ++state_.started;
    worker_ = std::thread([this] {
      std::this_thread::sleep_for(30ms);
      const uint32_t magic = kCompletionMagic;
      EXPECT_TRUE(memory_.write(kCompletionAddress, {reinterpret_cast<const uint8_t*>(&magic), sizeof magic}));
      std::lock_guard lock(mutex_);
      ++state_.completed;
    });
  }

  void quiesce() override {
    harts_parked_at_quiesce = harts_parked_();
    std::thread worker;
    {
      std::lock_guard lock(mutex_);
      quiesced_ = true;
      worker = std::move(worker_);
    }
    if (worker.joinable()) worker.join();
    ++quiesces;
  }
  void unquiesce() override {
    std::lock_guard lock(mutex_);
    quiesced_ = false;
    ++unquiesces;
  }

  State snapshot() const {
    std::lock_guard lock(mutex_);
    return state_;
  }
  Status restore(const State& state) {
    std::lock_guard lock(mutex_);
    state_ = state;
    return {};
  }

  bool harts_parked_at_quiesce = false;
  int quiesces = 0;
  int unquiesces = 0;
  int refused_while_quiesced = 0;

 private:
  GuestMemory memory_;  // the device writes RAM as any DMA does: marked in the dirty log
  std::function<bool()> harts_parked_;
  mutable std::mutex mutex_;
  State state_;
  bool quiesced_ = false;
  std::thread worker_;
};

class DeviceQuiesceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto created = VirtMachine::create(testing::spin_config(kernel_.path(), 1));
    ASSERT_TRUE(created) << created.error().message();
    machine_ = std::move(*created);
    VirtMachine& vm = *machine_;
    // Parked harts retire nothing: the count stands still over a while.
    auto parked = [&vm] {
      const uint64_t before = vm.hart(0).instructions_retired();
      std::this_thread::sleep_for(2ms);
      return vm.hart(0).instructions_retired() == before;
    };
    device_ = &vm.devices().add({.node_name = "in-flight", .base = kDeviceBase, .size = 0x1000, .section = "test-in-flight"},
                                std::make_unique<InFlightDevice>(vm.guest_memory(), parked));
    ASSERT_TRUE(vm.memory().map_mmio(kDeviceBase, 0x1000, *device_));
    vm.start();
    vm.resume();
  }
  void TearDown() override {
    machine_.reset();
  }

  uint32_t completion_word() {
    uint32_t word = 0;
    EXPECT_TRUE(machine_->guest_memory().read(kCompletionAddress, {reinterpret_cast<uint8_t*>(&word), sizeof word}));
    return word;
  }
  // The device's section as the stream would carry it: be32 started, be32 completed.
  std::vector<uint8_t> saved_section() {
    for (const DeviceSection& section : machine_->migration_side().device_sections()) {
      if (section.idstr != "test-in-flight") continue;
      MemorySink sink;
      StreamWriter out(sink);
      section.save(out);
      EXPECT_TRUE(out.flush());
      return sink.data();
    }
    ADD_FAILURE() << "no test-in-flight section";
    return {};
  }

  testing::SpinKernel kernel_;
  std::unique_ptr<VirtMachine> machine_;
  InFlightDevice* device_ = nullptr;
};

TEST_F(DeviceQuiesceTest, StopFinishesWorkInFlightAfterParkingTheHarts) {
  ASSERT_TRUE(machine_->guest_memory().write_value(kDeviceBase, 4, 1));  // as a hart's store would
  machine_->stop();
  EXPECT_EQ(machine_->run_state(), RunState::kPaused);
  EXPECT_EQ(device_->quiesces, 1);
  EXPECT_TRUE(device_->harts_parked_at_quiesce);
  EXPECT_EQ(device_->snapshot().completed, 1u);
  EXPECT_EQ(completion_word(), kCompletionMagic);
  // Quiesced: the device starts nothing until the guest runs again.
  ASSERT_TRUE(machine_->guest_memory().write_value(kDeviceBase, 4, 1));
  EXPECT_EQ(device_->refused_while_quiesced, 1);

  ASSERT_TRUE(machine_->cont());
  EXPECT_EQ(device_->unquiesces, 1);
  ASSERT_TRUE(machine_->guest_memory().write_value(kDeviceBase, 4, 1));
  EXPECT_EQ(device_->snapshot().started, 2u);
}

TEST_F(DeviceQuiesceTest, SwitchoverSavesStateAfterWorkInFlightAndAFailedMigrationLetsItGoOn) {
  VirtMachine& vm = *machine_;
  auto exit_status = std::async(std::launch::async, [&vm] { return vm.run_until_exit(); });

  ASSERT_TRUE(vm.guest_memory().write_value(kDeviceBase, 4, 1));
  MigratableVm& migratable = vm.migration_side();
  ASSERT_TRUE(migratable.stop_for_switchover());  // what the migration thread calls
  EXPECT_EQ(vm.run_state(), RunState::kFinishMigrate);
  EXPECT_TRUE(device_->harts_parked_at_quiesce);
  EXPECT_EQ(saved_section(), (std::vector<uint8_t>{0, 0, 0, 1, 0, 0, 0, 1}));  // started 1, completed 1
  EXPECT_EQ(completion_word(), kCompletionMagic);

  migratable.finish_outgoing(false);  // failed or cancelled: the guest runs on
  EXPECT_EQ(vm.run_state(), RunState::kRunning);
  EXPECT_EQ(device_->unquiesces, 1);
  ASSERT_TRUE(vm.guest_memory().write_value(kDeviceBase, 4, 1));
  EXPECT_EQ(device_->refused_while_quiesced, 0);
  EXPECT_EQ(device_->snapshot().started, 2u);

  vm.request_quit(0);
  EXPECT_EQ(exit_status.get(), 0);
}

}  // namespace
}  // namespace godwit
