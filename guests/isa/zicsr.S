/* Zicsr on mscratch: csrrw, csrrs, csrrc and their immediate forms return
 * the old value and update the CSR; a set or clear with x0 or an immediate of
 * 0 only reads. */
#include "test.h"

TEST_START
  .option norvc

  TEST(2)
  li a1, 0x8000000000000001
  csrw mscratch, a1
  csrr a0, mscratch
  EXPECT(a0, 0x8000000000000001)

  TEST(3)
  li a1, 0x1234
  csrrw a0, mscratch, a1
  EXPECT(a0, 0x8000000000000001)
  csrr a0, mscratch
  EXPECT(a0, 0x1234)

  TEST(4)
  li a1, 0xf00f
  csrrs a0, mscratch, a1
  EXPECT(a0, 0x1234)
  csrr a0, mscratch
  EXPECT(a0, 0xf23f)

  TEST(5)
  li a1, 0x0ff0
  csrrc a0, mscratch, a1
  EXPECT(a0, 0xf23f)
  csrr a0, mscratch
  EXPECT(a0, 0xf00f)

  TEST(6)
  csrrs a0, mscratch, x0
  EXPECT(a0, 0xf00f)
  csrrc a0, mscratch, x0
  EXPECT(a0, 0xf00f)
  csrr a0, mscratch
  EXPECT(a0, 0xf00f)

  TEST(7)
  csrrwi a0, mscratch, 0x15
  EXPECT(a0, 0xf00f)
  csrr a0, mscratch
  EXPECT(a0, 0x15)

  TEST(8)
  csrrsi a0, mscratch, 0x0a
  EXPECT(a0, 0x15)
  csrr a0, mscratch
  EXPECT(a0, 0x1f)

  TEST(9)
  csrrci a0, mscratch, 0x11
  EXPECT(a0, 0x1f)
  csrr a0, mscratch
  EXPECT(a0, 0x0e)

  TEST(10)
  csrrsi a0, mscratch, 0
  EXPECT(a0, 0x0e)
  csrrci a0, mscratch, 0
  EXPECT(a0, 0x0e)

  /* rd = x0 still writes; the same register as source and destination reads
   * the old value and writes the register's old contents. */
  TEST(11)
  li a1, -1
  csrrw x0, mscratch, a1
  csrr a0, mscratch
  EXPECT(a0, -1)
  li a0, 0x55
  csrrw a0, mscratch, a0
  EXPECT(a0, -1)
  csrr a0, mscratch
  EXPECT(a0, 0x55)

  TEST(12)
  csrr a0, mhartid
  EXPECT(a0, 0)

  j pass
TEST_END
