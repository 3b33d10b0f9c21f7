/* A extension: every AMO in .w and .d form (rd gets the old value, .w
 * sign-extended, and the word beside a .w target is untouched), and lr/sc: an
 * sc after an lr to the same address succeeds, a second sc fails because the
 * first one ended the reservation. */
#include "test.h"

/* Check n: with the doubleword at s0 holding old, amo a0, v, (s0) must leave
 * result in memory and old in a0. */
#define TEST_AMO_D(n, amo, result, old, v) \
  TEST(n);                                 \
  li a1, old;                              \
  sd a1, 0(s0);                            \
  li a2, v;                                \
  amo a0, a2, (s0);                        \
  EXPECT(a0, old);                         \
  ld a3, 0(s0);                            \
  EXPECT(a3, result)

/* Check n: the same on the low word at s0, with 0x5a5a5a5a in the high word;
 * a0 and the new word are checked sign-extended. */
#define TEST_AMO_W(n, amo, result, old, v) \
  TEST(n);                                 \
  li a1, 0x5a5a5a5a;                       \
  sw a1, 4(s0);                            \
  li a1, old;                              \
  sw a1, 0(s0);                            \
  li a2, v;                                \
  amo a0, a2, (s0);                        \
  EXPECT(a0, old);                         \
  lw a3, 0(s0);                            \
  EXPECT(a3, result);                      \
  lw a3, 4(s0);                            \
  EXPECT(a3, 0x5a5a5a5a)

TEST_START
  .option norvc
  la s0, amo_data

  TEST_AMO_D(2, amoswap.d, 0x2222, 0x1111, 0x2222)
  TEST_AMO_D(3, amoadd.d, 0, -1, 1)
  TEST_AMO_D(4, amoxor.d, 0xf0f0, 0x0ff0, 0xff00)
  TEST_AMO_D(5, amoand.d, 0x0f00, 0x0ff0, 0xff00)
  TEST_AMO_D(6, amoor.d, 0xfff0, 0x0ff0, 0xff00)
  TEST_AMO_D(7, amomin.d, -1, -1, 1)
  TEST_AMO_D(8, amomax.d, 1, -1, 1)
  TEST_AMO_D(9, amominu.d, 1, -1, 1)
  TEST_AMO_D(10, amomaxu.d, -1, -1, 1)
  TEST_AMO_D(11, amoadd.d.aqrl, 0x100000000, 0xffffffff, 1)

  TEST_AMO_W(12, amoswap.w, 0x12345678, 0xffffffff80000000, 0x12345678)
  TEST_AMO_W(13, amoadd.w, 0xffffffff80000000, 0x7fffffff, 1)
  TEST_AMO_W(14, amoxor.w, 0xffffffff8000ffff, 0xffff, 0x80000000)
  TEST_AMO_W(15, amoand.w, 0x00f0, 0xfffffffff00000f0, 0xff)
  TEST_AMO_W(16, amoor.w, 0xffffffff800000f0, 0xf0, 0x80000000)
  TEST_AMO_W(17, amomin.w, 0xffffffff80000000, 0xffffffff80000000, 1)
  TEST_AMO_W(18, amomax.w, 1, 0xffffffff80000000, 1)
  TEST_AMO_W(19, amominu.w, 1, 0xffffffff80000000, 1)
  TEST_AMO_W(20, amomaxu.w, 0xffffffff80000000, 0xffffffff80000000, 1)
  /* .w operations see only the low word of rs2: as a word, 0x1_00000000 is 0. */
  TEST_AMO_W(21, amomin.w, 0, 5, 0x100000000)

  /* lr/sc, doubleword. */
  TEST(22)
  li a1, 0x1111
  sd a1, 0(s0)
  lr.d a0, (s0)
  EXPECT(a0, 0x1111)
  li a2, 0x2222
  sc.d a3, a2, (s0)
  EXPECT(a3, 0)
  ld a0, 0(s0)
  EXPECT(a0, 0x2222)
  TEST(23)
  li a2, 0x3333
  sc.d a3, a2, (s0)
  beqz a3, fail
  ld a0, 0(s0)
  EXPECT(a0, 0x2222)

  /* lr/sc, word: lr.w sign-extends, sc.w writes only the word. */
  TEST(24)
  li a1, -1
  sd a1, 0(s0)
  li a1, 0x80000001
  sw a1, 0(s0)
  lr.w.aq a0, (s0)
  EXPECT(a0, 0xffffffff80000001)
  li a2, 0x7ffffffe
  sc.w.rl a3, a2, (s0)
  EXPECT(a3, 0)
  ld a0, 0(s0)
  EXPECT(a0, 0xffffffff7ffffffe)
  TEST(25)
  sc.w a3, zero, (s0)
  beqz a3, fail
  lw a0, 0(s0)
  EXPECT(a0, 0x7ffffffe)

  /* An lr/sc increment loop, as used by locks. */
  TEST(26)
  sd zero, 0(s0)
  li a4, 10
1:
  lr.d a0, (s0)
  addi a0, a0, 3
  sc.d a3, a0, (s0)
  bnez a3, 1b
  addi a4, a4, -1
  bnez a4, 1b
  ld a0, 0(s0)
  EXPECT(a0, 30)

  j pass

  .data
  .balign 8
amo_data:
  .dword 0

TEST_END
