#include "devices/plic.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace godwit {
namespace {

class PlicTest : public ::testing::Test {
 protected:
  PlicTest() : plic(std::vector<HartControl*>{&hart0, &hart1}) {}

  static uint64_t priority(unsigned source) { return Plic::kPriorityBase + 4 * source; }
  static uint64_t pending(unsigned word) { return Plic::kPendingBase + 4 * word; }
  static uint64_t enable(unsigned context, unsigned word = 0) {
    return Plic::kEnableBase + Plic::kEnableStride * context + 4 * word;
  }
  static uint64_t threshold(unsigned context) { return Plic::kContextBase + Plic::kContextStride * context; }
  static uint64_t claim(unsigned context) { return threshold(context) + 4; }

  bool meip(const HartControl& hart) const { return (hart.external_mip() & mip::kMEIP) != 0; }
  bool seip(const HartControl& hart) const { return (hart.external_mip() & mip::kSEIP) != 0; }

  void enable_source(unsigned context, unsigned source) {
    const uint64_t offset = enable(context, source / 32);
    plic.write(offset, 4, plic.read(offset, 4) | (1u << (source % 32)));
  }

  HartControl hart0;
  HartControl hart1;
  Plic plic;
};

TEST_F(PlicTest, PrioritiesAreThreeBitsWarl) {
  plic.write(priority(10), 4, 5);
  EXPECT_EQ(plic.read(priority(10), 4), 5u);
  plic.write(priority(10), 4, 7);
  EXPECT_EQ(plic.read(priority(10), 4), 7u);
  plic.write(priority(10), 4, 9);  // QEMU keeps value mod 8
  EXPECT_EQ(plic.read(priority(10), 4), 1u);
  plic.write(priority(95), 4, 3);
  EXPECT_EQ(plic.read(priority(95), 4), 3u);
  plic.write(priority(96), 4, 3);  // past the last source
  EXPECT_EQ(plic.read(priority(96), 4), 0u);
}

TEST_F(PlicTest, ThresholdIsThreeBitsWarl) {
  plic.write(threshold(3), 4, 6);
  EXPECT_EQ(plic.read(threshold(3), 4), 6u);
  plic.write(threshold(3), 4, 0xf);
  EXPECT_EQ(plic.read(threshold(3), 4), 7u);
  EXPECT_EQ(plic.read(threshold(0), 4), 0u);
}

TEST_F(PlicTest, EnablesArePerContext) {
  plic.write(enable(0, 0), 4, 0x400);
  plic.write(enable(3, 2), 4, 0x8000'0000);
  EXPECT_EQ(plic.read(enable(0, 0), 4), 0x400u);
  EXPECT_EQ(plic.read(enable(1, 0), 4), 0u);
  EXPECT_EQ(plic.read(enable(3, 2), 4), 0x8000'0000u);
  EXPECT_EQ(plic.read(enable(3, 3), 4), 0u);  // sources 0..95 fill 3 words
  EXPECT_EQ(plic.read(enable(4, 0), 4), 0u);  // only 4 contexts for 2 harts
}

TEST_F(PlicTest, PendingFollowsTheLineAndIsReadOnly) {
  plic.set_irq(10, true);
  plic.set_irq(33, true);
  EXPECT_EQ(plic.read(pending(0), 4), 1u << 10);
  EXPECT_EQ(plic.read(pending(1), 4), 1u << 1);
  plic.write(pending(0), 4, 0);
  EXPECT_EQ(plic.read(pending(0), 4), 1u << 10);
  plic.set_irq(10, false);
  EXPECT_EQ(plic.read(pending(0), 4), 0u);
}

TEST_F(PlicTest, InvalidSourcesAreIgnored) {
  plic.set_irq(0, true);
  plic.set_irq(96, true);
  EXPECT_EQ(plic.read(pending(0), 4), 0u);
  EXPECT_EQ(plic.read(pending(3), 4), 0u);
}

TEST_F(PlicTest, ContextsDriveMeipAndSeipOfTheirHart) {
  plic.write(priority(10), 4, 1);
  plic.set_irq(10, true);
  EXPECT_FALSE(meip(hart0));  // not enabled anywhere

  enable_source(3, 10);  // hart 1, S mode
  EXPECT_TRUE(seip(hart1));
  EXPECT_FALSE(meip(hart1));
  EXPECT_FALSE(meip(hart0));
  EXPECT_FALSE(seip(hart0));

  enable_source(0, 10);  // hart 0, M mode
  EXPECT_TRUE(meip(hart0));
  EXPECT_FALSE(seip(hart0));

  plic.set_irq(10, false);
  EXPECT_FALSE(meip(hart0));
  EXPECT_FALSE(seip(hart1));
}

TEST_F(PlicTest, PriorityZeroNeverInterrupts) {
  enable_source(0, 5);
  plic.set_irq(5, true);
  EXPECT_FALSE(meip(hart0));
  EXPECT_EQ(plic.read(claim(0), 4), 0u);
  plic.write(priority(5), 4, 1);
  EXPECT_TRUE(meip(hart0));
}

TEST_F(PlicTest, ThresholdMasksPrioritiesAtOrBelowIt) {
  enable_source(0, 5);
  plic.write(priority(5), 4, 3);
  plic.set_irq(5, true);
  EXPECT_TRUE(meip(hart0));
  plic.write(threshold(0), 4, 3);
  EXPECT_FALSE(meip(hart0));
  EXPECT_EQ(plic.read(claim(0), 4), 0u);
  plic.write(threshold(0), 4, 2);
  EXPECT_TRUE(meip(hart0));
  plic.write(threshold(0), 4, 7);
  plic.write(priority(5), 4, 7);
  EXPECT_FALSE(meip(hart0));  // 7 does not exceed 7
}

TEST_F(PlicTest, ClaimReturnsHighestPriorityThenLowestId) {
  for (unsigned source : {3u, 7u, 40u, 41u}) {
    enable_source(0, source);
    plic.set_irq(source, true);
  }
  plic.write(priority(3), 4, 2);
  plic.write(priority(7), 4, 5);
  plic.write(priority(40), 4, 6);
  plic.write(priority(41), 4, 6);
  EXPECT_EQ(plic.read(claim(0), 4), 40u);
  EXPECT_EQ(plic.read(claim(0), 4), 41u);
  EXPECT_EQ(plic.read(claim(0), 4), 7u);
  EXPECT_EQ(plic.read(claim(0), 4), 3u);
  EXPECT_EQ(plic.read(claim(0), 4), 0u);
  EXPECT_FALSE(meip(hart0));
}

TEST_F(PlicTest, ClaimClearsPendingAndBlocksUntilComplete) {
  enable_source(1, 10);
  plic.write(priority(10), 4, 1);
  plic.set_irq(10, true);
  EXPECT_TRUE(seip(hart0));
  EXPECT_EQ(plic.read(claim(1), 4), 10u);
  EXPECT_EQ(plic.read(pending(0), 4), 0u);
  EXPECT_FALSE(seip(hart0));

  // The line stays high: not pended again while claimed.
  plic.set_irq(10, true);
  EXPECT_EQ(plic.read(pending(0), 4), 0u);
  EXPECT_FALSE(seip(hart0));
  EXPECT_EQ(plic.read(claim(1), 4), 0u);

  // Completing with the line still high pends it again.
  plic.write(claim(1), 4, 10);
  EXPECT_EQ(plic.read(pending(0), 4), 1u << 10);
  EXPECT_TRUE(seip(hart0));
  EXPECT_EQ(plic.read(claim(1), 4), 10u);

  // Completing after the device lowered its line leaves it idle.
  plic.set_irq(10, false);
  plic.write(claim(1), 4, 10);
  EXPECT_EQ(plic.read(pending(0), 4), 0u);
  EXPECT_FALSE(seip(hart0));
}

TEST_F(PlicTest, ARaisedLineWhileClaimedIsDeliveredAfterComplete) {
  enable_source(0, 12);
  plic.write(priority(12), 4, 1);
  plic.set_irq(12, true);
  EXPECT_EQ(plic.read(claim(0), 4), 12u);
  plic.set_irq(12, false);  // the handler services the device
  plic.set_irq(12, true);   // and it raises again before completion
  EXPECT_FALSE(meip(hart0));
  plic.write(claim(0), 4, 12);
  EXPECT_TRUE(meip(hart0));
}

TEST_F(PlicTest, ClaimedSourceIsHiddenFromOtherContexts) {
  enable_source(0, 10);
  enable_source(2, 10);
  plic.write(priority(10), 4, 1);
  plic.set_irq(10, true);
  EXPECT_TRUE(meip(hart0));
  EXPECT_TRUE(meip(hart1));
  EXPECT_EQ(plic.read(claim(2), 4), 10u);
  EXPECT_FALSE(meip(hart0));
  EXPECT_FALSE(meip(hart1));
  EXPECT_EQ(plic.read(claim(0), 4), 0u);
}

TEST_F(PlicTest, LowerPrioritySourceWaitsBehindClaimedOne) {
  enable_source(0, 1);
  enable_source(0, 2);
  plic.write(priority(1), 4, 1);
  plic.write(priority(2), 4, 2);
  plic.set_irq(1, true);
  plic.set_irq(2, true);
  EXPECT_EQ(plic.read(claim(0), 4), 2u);
  EXPECT_TRUE(meip(hart0));  // source 1 still pending and enabled
  EXPECT_EQ(plic.read(claim(0), 4), 1u);
  EXPECT_FALSE(meip(hart0));
}

TEST_F(PlicTest, CompleteOfUnclaimedOrInvalidIdIsIgnored) {
  enable_source(0, 4);
  plic.write(priority(4), 4, 1);
  plic.write(claim(0), 4, 4);
  plic.write(claim(0), 4, 0);
  plic.write(claim(0), 4, 1000);
  EXPECT_FALSE(meip(hart0));
  plic.set_irq(4, true);
  EXPECT_EQ(plic.read(claim(0), 4), 4u);
}

TEST_F(PlicTest, EnablingAPendingSourceSignalsAtOnce) {
  plic.write(priority(9), 4, 1);
  plic.set_irq(9, true);
  EXPECT_FALSE(meip(hart0));
  enable_source(0, 9);
  EXPECT_TRUE(meip(hart0));
  plic.write(enable(0), 4, 0);
  EXPECT_FALSE(meip(hart0));
}

TEST_F(PlicTest, OnlyWordAccessesCount) {
  plic.write(priority(1), 1, 5);
  plic.write(priority(1), 8, 5);
  EXPECT_EQ(plic.read(priority(1), 4), 0u);
  plic.write(priority(1), 4, 5);
  EXPECT_EQ(plic.read(priority(1), 2), 0u);
  EXPECT_EQ(plic.read(Plic::kContextBase + 8, 4), 0u);
}

TEST_F(PlicTest, ResetClearsRegistersAndOutputs) {
  enable_source(0, 10);
  plic.write(priority(10), 4, 1);
  plic.write(threshold(1), 4, 4);
  plic.set_irq(10, true);
  EXPECT_TRUE(meip(hart0));
  plic.reset();
  EXPECT_FALSE(meip(hart0));
  EXPECT_EQ(plic.read(priority(10), 4), 0u);
  EXPECT_EQ(plic.read(enable(0), 4), 0u);
  EXPECT_EQ(plic.read(threshold(1), 4), 0u);
  EXPECT_EQ(plic.read(pending(0), 4), 1u << 10);  // the line is still high
  plic.set_irq(10, false);
  EXPECT_EQ(plic.read(pending(0), 4), 0u);
}

TEST_F(PlicTest, ResetForgetsClaims) {
  enable_source(0, 6);
  plic.write(priority(6), 4, 1);
  plic.set_irq(6, true);
  ASSERT_EQ(plic.read(claim(0), 4), 6u);
  plic.set_irq(6, false);
  plic.reset();
  plic.set_irq(6, true);
  EXPECT_EQ(plic.read(pending(0), 4), 1u << 6);
  EXPECT_EQ(plic.snapshot().claimed[0], 0u);
}

TEST(PlicSources, CountSetsTheLastSource) {
  HartControl hart;
  Plic plic({&hart}, 31);  // sources 1..31 fit one word
  EXPECT_EQ(plic.num_sources(), 31u);
  EXPECT_EQ(plic.num_contexts(), 2u);
  plic.write(Plic::kPriorityBase + 4 * 31, 4, 1);
  plic.write(Plic::kEnableBase, 4, 0x8000'0000);
  plic.set_irq(31, true);
  EXPECT_NE(hart.external_mip() & mip::kMEIP, 0u);
  plic.set_irq(32, true);
  EXPECT_EQ(plic.read(Plic::kPendingBase + 4, 4), 0u);
  EXPECT_EQ(plic.snapshot().pending.size(), 1u);
}

}  // namespace
}  // namespace godwit
