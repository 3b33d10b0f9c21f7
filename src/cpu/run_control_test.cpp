// run() on its own thread: exit and pause through HartControl, and wfi
// sleeping until a device line or the timer wakes it.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "cpu/csr_defs.hpp"
#include "cpu/hart_test_util.hpp"

namespace godwit::testing {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kHandler = kRamBase + 0x800;

// Runs the hart on a thread for the lifetime of the object.
class Running {
 public:
  explicit Running(TestMachine& m) : m_(m), thread_([&m] { m.hart.run(); }) {}
  ~Running() {
    m_.control.request_exit();
    thread_.join();
  }
  // Parks the hart, runs `inspect` on its state, and lets it go on.
  template <class F>
  void while_parked(F&& inspect) {
    m_.control.request_pause();
    m_.control.wait_parked();
    inspect(m_.state());
    m_.control.resume();
  }
  // Polls `condition` on the parked hart until it holds (or 5 s pass): the
  // host may be busy, so no fixed sleep is assumed long enough.
  template <class F>
  bool eventually(F&& condition) {
    for (int i = 0; i < 5000; ++i) {
      bool holds = false;
      while_parked([&](HartState& s) { holds = condition(s); });
      if (holds) return true;
      std::this_thread::sleep_for(1ms);
    }
    return false;
  }

 private:
  TestMachine& m_;
  std::thread thread_;
};

TEST(RunControl, ExitEndsRunAndMarksTheHartExited) {
  TestMachine m(64 << 10);
  m.load(kRamBase, {addi(a0, a0, 1), jal(zero, -4)});
  std::thread thread([&] { m.hart.run(); });
  for (int i = 0; i < 5000; ++i) {
    m.control.request_pause();
    m.control.wait_parked();
    const bool enough = m.x(a0) > 1000;
    m.control.resume();
    if (enough) break;
    std::this_thread::sleep_for(1ms);
  }
  m.control.request_exit();
  thread.join();
  m.control.wait_parked();  // returns at once: the hart marked itself exited
  EXPECT_GT(m.x(a0), 1000u);
  EXPECT_EQ(m.state().minstret, 2 * m.x(a0) - 1 + (m.state().pc == kRamBase ? 1 : 0));
}

TEST(RunControl, PauseParksTheHartAndResumeContinues) {
  TestMachine m(64 << 10);
  m.load(kRamBase, {addi(a0, a0, 1), jal(zero, -4)});
  Running running(m);
  uint64_t first = 0;
  running.while_parked([&](HartState& s) {
    EXPECT_TRUE(m.control.parked());
    first = s.x[a0];
    std::this_thread::sleep_for(5ms);
    EXPECT_EQ(s.x[a0], first);  // parked: nothing moves
  });
  EXPECT_TRUE(running.eventually([&](HartState& s) { return s.x[a0] > first; }));
}

TEST(RunControl, WfiSleepsUntilAnInterruptLineRises) {
  TestMachine m(64 << 10);
  m.clock.start();
  m.state().mtvec = kHandler;
  m.state().mie = mip::kMSIP;
  m.load(kRamBase, {csrrsi(zero, csr::kMstatus, 8), wfi(), jal(zero, -4)});
  m.load(kHandler, {addi(a0, zero, 1), jal(zero, 0)});
  Running running(m);
  std::this_thread::sleep_for(30ms);
  running.while_parked([&](HartState& s) {
    EXPECT_EQ(s.x[a0], 0u);
    EXPECT_LT(s.minstret, 100u);  // asleep, not spinning
  });
  m.control.set_mip(mip::kMSIP, true);
  EXPECT_TRUE(running.eventually([](HartState& s) { return s.x[a0] == 1; }));
  running.while_parked([&](HartState& s) {
    EXPECT_EQ(s.mcause, cause::kInterruptBit | 3);
    EXPECT_EQ(s.mepc, kRamBase + 8);  // wfi completed; the interrupt came after it
  });
}

TEST(RunControl, WfiWakesForTheTimer) {
  TestMachine m(64 << 10);
  m.clock.start();
  m.state().mtvec = kHandler;
  m.state().mie = mip::kMTIP;
  m.load(kRamBase, {csrrsi(zero, csr::kMstatus, 8), wfi(), jal(zero, -4)});
  m.load(kHandler, {csrrs(a0, csr::kTime, zero), jal(zero, 0)});
  const uint64_t due = m.clock.ticks() + 300 * GuestClock::kTimebaseHz / 1000;  // in 300 ms
  m.control.set_mtimecmp(due);
  Running running(m);
  std::this_thread::sleep_for(10ms);
  running.while_parked([&](HartState& s) {
    EXPECT_EQ(s.x[a0], 0u);
    EXPECT_LT(s.minstret, 100u);
  });
  EXPECT_TRUE(running.eventually([](HartState& s) { return s.x[a0] != 0; }));
  running.while_parked([&](HartState& s) {
    EXPECT_GE(s.x[a0], due);  // not before the deadline
    EXPECT_EQ(s.mcause, cause::kInterruptBit | 7);
  });
}

// Sstc: a hart in wfi wakes when time reaches stimecmp, as it does for the
// CLINT's mtimecmp, though no device pokes it.
TEST(RunControl, WfiWakesForStimecmp) {
  TestMachine m(64 << 10);
  m.clock.start();
  m.state().mtvec = kHandler;
  m.state().menvcfg = envcfg::kSTCE;
  m.state().mie = mip::kSTIP;
  const uint64_t due = m.clock.ticks() + 300 * GuestClock::kTimebaseHz / 1000;  // in 300 ms
  m.state().stimecmp = due;
  m.load(kRamBase, {csrrsi(zero, csr::kMstatus, 8), wfi(), jal(zero, -4)});
  m.load(kHandler, {csrrs(a0, csr::kTime, zero), jal(zero, 0)});
  Running running(m);
  std::this_thread::sleep_for(10ms);
  running.while_parked([&](HartState& s) {
    EXPECT_EQ(s.x[a0], 0u);
    EXPECT_LT(s.minstret, 100u);  // asleep, not spinning
  });
  EXPECT_TRUE(running.eventually([](HartState& s) { return s.x[a0] != 0; }));
  running.while_parked([&](HartState& s) {
    EXPECT_GE(s.x[a0], due);
    EXPECT_EQ(s.mcause, cause::kInterruptBit | 5);
  });
}

TEST(RunControl, WfiWithAnInterruptPendingDoesNotSleep) {
  TestMachine m(64 << 10);
  m.state().mie = mip::kMSIP;  // enabled locally, globally off: wfi still returns
  m.control.set_mip(mip::kMSIP, true);
  m.control.service();  // clear attention so only the pending check can return
  m.load(kRamBase, {wfi(), addi(a0, zero, 5)});
  EXPECT_EQ(m.hart.step(2), 2u);
  EXPECT_EQ(m.x(a0), 5u);
}

}  // namespace
}  // namespace godwit::testing
