/* C extension: each RV64C instruction written out as c.*, so the assembler
 * cannot choose a 4-byte form, including 4-byte instructions at addresses
 * that are 2 mod 4 and c.jalr's link of pc + 2. */
#include "test.h"

TEST_START
  .option rvc
  la sp, stack_top

  TEST(2)
  c.li a0, -5
  EXPECT(a0, -5)
  TEST(3)
  c.addi a0, 7
  EXPECT(a0, 2)
  TEST(4)
  li a0, 0x7fffffff
  c.addiw a0, 1
  EXPECT(a0, 0xffffffff80000000)
  TEST(5)
  c.lui a1, 0x1f
  EXPECT(a1, 0x1f000)
  TEST(6)
  c.lui a1, 0xfffff
  EXPECT(a1, 0xfffffffffffff000)
  TEST(7)
  c.li a2, 9
  c.mv a0, a2
  c.add a0, a2
  EXPECT(a0, 18)

  /* The CA format: registers x8-x15. */
  TEST(8)
  li s0, 100
  li s1, 58
  c.sub s0, s1
  EXPECT(s0, 42)
  TEST(9)
  li a0, 0x0ff0
  li a1, 0xff00
  c.and a0, a1
  EXPECT(a0, 0x0f00)
  TEST(10)
  li a0, 0x0ff0
  c.or a0, a1
  EXPECT(a0, 0xfff0)
  TEST(11)
  li a0, 0x0ff0
  c.xor a0, a1
  EXPECT(a0, 0xf0f0)
  TEST(12)
  li a0, 0x7fffffff
  li a1, 1
  c.addw a0, a1
  EXPECT(a0, 0xffffffff80000000)
  TEST(13)
  li a0, 0
  c.subw a0, a1
  EXPECT(a0, -1)

  /* Shifts and c.andi. */
  TEST(14)
  li a0, 1
  c.slli a0, 63
  EXPECT(a0, 0x8000000000000000)
  TEST(15)
  c.srai a0, 60
  EXPECT(a0, -8)
  TEST(16)
  c.srli a0, 60
  EXPECT(a0, 0xf)
  TEST(17)
  li a0, -1
  c.andi a0, -16
  EXPECT(a0, -16)
  c.andi a0, 0x1f
  EXPECT(a0, 0x10)

  /* Loads and stores, register-based and sp-based. */
  la s0, c_data
  TEST(18)
  li a1, 0x80000001
  c.sw a1, 4(s0)
  c.lw a0, 4(s0)
  EXPECT(a0, 0xffffffff80000001)
  TEST(19)
  li a1, 0x0123456789abcdef
  c.sd a1, 8(s0)
  c.ld a0, 8(s0)
  EXPECT(a0, 0x0123456789abcdef)
  TEST(20)
  c.sdsp a1, 8(sp)
  c.ldsp a2, 8(sp)
  bne a1, a2, fail
  li a1, 0xfedcba98
  c.swsp a1, 4(sp)
  c.lwsp a2, 4(sp)
  EXPECT(a2, 0xfffffffffedcba98)

  /* Stack-pointer arithmetic. */
  TEST(21)
  mv a1, sp
  c.addi16sp sp, -64
  sub a0, a1, sp
  EXPECT(a0, 64)
  c.addi4spn a0, sp, 16
  sub a0, a0, sp
  EXPECT(a0, 16)
  c.addi16sp sp, 64
  bne a1, sp, fail

  /* Control transfer. */
  TEST(22)
  c.j 1f
  c.j fail_near
1:
  li a0, 0
  c.bnez a0, fail_near
  c.beqz a0, 1f
  c.j fail_near
1:
  li a0, 1
  c.beqz a0, fail_near
  c.bnez a0, 1f
  c.j fail_near
1:
  TEST(23)
  la t0, 2f
  c.jalr t0
1:
  c.j fail_near
2:
  la a1, 1b
  bne ra, a1, fail
  TEST(24)
  la t0, 1f
  c.jr t0
  c.j fail_near
1:

  /* A 4-byte instruction that starts at 2 mod 4. */
  TEST(25)
  .balign 4
  c.li a0, 1
  .option push
  .option norvc
  addi a0, a0, 0x123
  .option pop
  c.nop
  EXPECT(a0, 0x124)

  j pass

/* The compressed branches reach only +-256 bytes. */
fail_near:
  j fail

  .data
  .balign 8
c_data:
  .dword 0, 0
  .bss
  .balign 16
  .space 256
stack_top:

TEST_END
