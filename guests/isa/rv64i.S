/* RV64I: integer arithmetic, shifts and comparisons (with the W forms' 32-bit
 * results sign-extended), lui/auipc, jumps, branches, loads with sign and zero
 * extension, and stores of every width. */
#include "test.h"

TEST_START
  .option norvc

  /* Arithmetic wraps modulo 2^64; W forms sign-extend bit 31. */
  TEST_RR(2, add, 3, 1, 2)
  TEST_RR(3, add, 0x8000000000000000, 0x7fffffffffffffff, 1)
  TEST_RR(4, sub, -1, 0, 1)
  TEST_RI(5, addi, -2, 5, -7)
  TEST_RI(6, addi, 0x800, 1, 0x7ff)
  TEST_RR(7, addw, 0xffffffff80000000, 0x7fffffff, 1)
  TEST_RR(8, addw, 5, 0x1234567800000002, 3)
  TEST_RR(9, subw, -1, 0, 1)
  TEST_RR(10, subw, 0x7fffffff, 0x80000000, 1)
  TEST_RI(11, addiw, 0, 0xffffffff, 1)
  TEST_RI(12, addiw, 0xffffffff80000000, 0x7fffffff, 1)

  /* Shifts: RV64 uses six bits of the amount, W forms five. */
  TEST_RR(13, sll, 0x8000000000000000, 1, 63)
  TEST_RR(14, sll, 2, 1, 65)
  TEST_RR(15, srl, 1, 0x8000000000000000, 63)
  TEST_RR(16, sra, -1, 0x8000000000000000, 63)
  TEST_RR(17, sra, 0xf000000000000000, 0x8000000000000000, 3)
  TEST_RI(18, slli, 0x8000000000000000, 1, 63)
  TEST_RI(19, srli, 0x0fffffffffffffff, -1, 4)
  TEST_RI(20, srai, -1, -16, 4)
  TEST_RR(21, sllw, 0xffffffff80000000, 1, 31)
  TEST_RR(22, sllw, 2, 1, 33)
  TEST_RR(23, srlw, 1, 0xffffffff80000000, 31)
  TEST_RR(24, srlw, 0x7fffffff, -1, 1)
  TEST_RR(25, sraw, -1, 0x80000000, 31)
  TEST_RI(26, slliw, 0xffffffff80000000, 0x10000001, 31)
  TEST_RI(27, srliw, 0x0fffffff, 0xfffffffffffffff0, 4)
  TEST_RI(28, sraiw, 0xfffffffff8000000, 0x80000000, 4)

  /* Comparisons. */
  TEST_RR(29, slt, 1, -1, 1)
  TEST_RR(30, slt, 0, 1, -1)
  TEST_RR(31, sltu, 0, -1, 1)
  TEST_RR(32, sltu, 1, 1, -1)
  TEST_RI(33, slti, 1, -5, -4)
  TEST_RI(34, sltiu, 1, 5, -1)     /* the immediate is sign-extended, then unsigned */
  TEST_RI(35, sltiu, 0, -1, -1)

  /* Logic. */
  TEST_RR(36, and, 0x0f00, 0x0ff0, 0xff00)
  TEST_RR(37, or, 0xfff0, 0x0ff0, 0xff00)
  TEST_RR(38, xor, 0xf0f0, 0x0ff0, 0xff00)
  TEST_RI(39, andi, 0x0ff0, 0x0ff0, -1)
  TEST_RI(40, ori, 0xfffffffffffff800, 0, -2048)
  TEST_RI(41, xori, 0xedcba987654321ff, 0x123456789abcde00, -1)

  /* Upper immediates: lui sign-extends bit 31 on RV64. */
  TEST(42)
  lui a0, 0x80000
  EXPECT(a0, 0xffffffff80000000)
  TEST(43)
1:
  auipc a0, 0
  la a1, 1b
  bne a0, a1, fail
  TEST(44)
1:
  auipc a0, 1
  la a1, 1b
  li a2, 0x1000
  add a1, a1, a2
  bne a0, a1, fail

  /* Writes to x0 are discarded. */
  TEST(45)
  addi x0, x0, 5
  mv a0, x0
  EXPECT(a0, 0)

  /* jal and jalr link the next instruction; jalr clears bit 0 of the target. */
  TEST(46)
  jal ra, 2f
1:
  j fail
2:
  la a1, 1b
  bne ra, a1, fail
  TEST(47)
  la t0, 2f
  addi t0, t0, 1
  jalr ra, 0(t0)
1:
  j fail
2:
  la a1, 1b
  bne ra, a1, fail
  TEST(48)
  la t0, 2f + 8
  jalr a0, -8(t0)
1:
  j fail
2:
  la a1, 1b
  bne a0, a1, fail

  /* Branches, taken and not taken; signed and unsigned compare differ. */
  TEST(49)
  li a1, 5
  li a2, 5
  beq a1, a2, 1f
  j fail
1:
  bne a1, a2, fail
  li a2, -1
  bne a1, a2, 1f
  j fail
1:
  beq a1, a2, fail
  TEST(50)
  li a1, -1
  li a2, 1
  blt a1, a2, 1f
  j fail
1:
  bge a1, a2, fail
  bltu a1, a2, fail
  bgeu a1, a2, 1f
  j fail
1:
  bge a2, a1, 1f
  j fail
1:
  bltu a2, a1, 1f
  j fail
1:
  TEST(51)
  li a1, -3
  li a2, -3
  bge a1, a2, 1f     /* equal: bge and bgeu are taken */
  j fail
1:
  bgeu a1, a2, 1f
  j fail
1:
  blt a1, a2, fail
  bltu a1, a2, fail

  /* Loads from load_data: bytes 81 02 83 04 85 86 07 f8. */
  la s0, load_data
  TEST(52)
  lb a0, 0(s0)
  EXPECT(a0, 0xffffffffffffff81)
  TEST(53)
  lbu a0, 0(s0)
  EXPECT(a0, 0x81)
  TEST(54)
  lb a0, 1(s0)
  EXPECT(a0, 0x02)
  TEST(55)
  lh a0, 2(s0)
  EXPECT(a0, 0x0483)
  TEST(56)
  lh a0, 4(s0)
  EXPECT(a0, 0xffffffffffff8685)
  TEST(57)
  lhu a0, 4(s0)
  EXPECT(a0, 0x8685)
  TEST(58)
  lw a0, 0(s0)
  EXPECT(a0, 0x04830281)
  TEST(59)
  lw a0, 4(s0)
  EXPECT(a0, 0xfffffffff8078685)
  TEST(60)
  lwu a0, 4(s0)
  EXPECT(a0, 0xf8078685)
  TEST(61)
  ld a0, 0(s0)
  EXPECT(a0, 0xf807868504830281)
  TEST(62)
  addi s1, s0, 8
  lw a0, -4(s1)        /* negative offset */
  EXPECT(a0, 0xfffffffff8078685)

  /* Stores write only their width. */
  la s0, store_data
  li a1, -1
  TEST(63)
  sd a1, 0(s0)
  sb zero, 1(s0)
  ld a0, 0(s0)
  EXPECT(a0, 0xffffffffffff00ff)
  TEST(64)
  li a2, 0x1234
  sh a2, 2(s0)
  ld a0, 0(s0)
  EXPECT(a0, 0xffffffff123400ff)
  TEST(65)
  li a2, 0x89abcdef
  sw a2, 4(s0)
  ld a0, 0(s0)
  EXPECT(a0, 0x89abcdef123400ff)
  TEST(66)
  li a2, 0x0123456789abcdef
  sd a2, 8(s0)
  ld a0, 8(s0)
  EXPECT(a0, 0x0123456789abcdef)
  ld a0, 0(s0)         /* the neighbour is untouched */
  EXPECT(a0, 0x89abcdef123400ff)
  TEST(67)
  addi s1, s0, 16
  sb zero, -1(s1)
  ld a0, 8(s0)
  EXPECT(a0, 0x0023456789abcdef)

  j pass

  .data
  .balign 8
load_data:
  .byte 0x81, 0x02, 0x83, 0x04, 0x85, 0x86, 0x07, 0xf8
store_data:
  .dword 0, 0

TEST_END
