// The seam between the core and its engine: the hart runs batches on the
// engine it was built with, counts what they retired, and passes flushes and
// code invalidations on.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "cpu/hart_test_util.hpp"

namespace godwit::testing {
namespace {

struct EngineLog {
  std::vector<uint64_t> budgets;
  unsigned flushes = 0;
  std::vector<std::pair<uint64_t, uint64_t>> invalidated;
};

// Pretends to run `budget` 4-byte instructions, one of which traps when
// `trap_one` is set.
class RecordingEngine final : public ExecutionEngine {
 public:
  RecordingEngine(Hart& hart, EngineLog& log, bool trap_one) : hart_(hart), log_(log), trap_one_(trap_one) {}
  BatchResult execute_batch(uint64_t budget) override {
    log_.budgets.push_back(budget);
    hart_.state().pc += 4 * budget;
    return {budget, trap_one_ ? budget - 1 : budget};
  }
  void invalidate_code(uint64_t address, uint64_t size_bytes) override {
    log_.invalidated.emplace_back(address, size_bytes);
  }
  void flush() override { ++log_.flushes; }

 private:
  Hart& hart_;
  EngineLog& log_;
  bool trap_one_;
};

struct RecordingHart {
  explicit RecordingHart(bool trap_one = false)
      : hart(0, machine.memory, machine.control, machine.clock,
             [this, trap_one](Hart& h) { return std::make_unique<RecordingEngine>(h, log, trap_one); }) {
    hart.reset(kRamBase);
  }
  TestMachine machine{1 << 20};
  EngineLog log;
  Hart hart;
};

TEST(ExecutionEngine, StepRunsBatchesOnTheEngineAndCountsWhatRetired) {
  RecordingHart r;
  EXPECT_EQ(r.hart.step(5000), 5000u);
  EXPECT_EQ(r.log.budgets, (std::vector<uint64_t>{2048, 2048, 904}));
  EXPECT_EQ(r.hart.state().pc, kRamBase + 4 * 5000);
  EXPECT_EQ(r.hart.state().minstret, 5000u);
  EXPECT_EQ(r.hart.state().mcycle, 5000u);
  EXPECT_EQ(r.hart.instructions_retired(), 5000u);
}

TEST(ExecutionEngine, TrapsCountAgainstTheBudgetButDoNotRetire) {
  RecordingHart r(/*trap_one=*/true);
  EXPECT_EQ(r.hart.step(100), 99u);
  EXPECT_EQ(r.hart.state().minstret, 99u);
}

TEST(ExecutionEngine, FlushesAndInvalidationsReachTheEngine) {
  RecordingHart r;
  const unsigned after_reset = r.log.flushes;
  EXPECT_GE(after_reset, 1u);  // reset drops what was cached
  r.hart.flush_caches();
  EXPECT_EQ(r.log.flushes, after_reset + 1);
  ASSERT_TRUE(r.hart.restore(r.hart.snapshot()));
  EXPECT_EQ(r.log.flushes, after_reset + 2);
  r.hart.invalidate_code(kRamBase + 0x1000, 64);
  EXPECT_EQ(r.log.invalidated, (std::vector<std::pair<uint64_t, uint64_t>>{{kRamBase + 0x1000, 64}}));
}

TEST(ExecutionEngine, RestoreRefusesAStateItsDescriptionForbidsAndKeepsTheOld) {
  RecordingHart r;
  HartState bad = r.hart.snapshot();
  bad.satp = 9ull << 60;
  const unsigned flushes = r.log.flushes;
  const Status status = r.hart.restore(bad);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message(), "cpu: satp mode 9 is neither Bare nor Sv39");
  EXPECT_EQ(r.hart.state().satp, 0u);
  EXPECT_EQ(r.log.flushes, flushes);
}

}  // namespace
}  // namespace godwit::testing
