/* Machine-mode traps. The handler records mcause (s2), mtval (s3), mepc (s4)
 * and mstatus (s5) as it found them, steps mepc over the trapping instruction
 * (2 or 4 bytes, read from its first parcel) and returns with mret; the
 * checks then compare the records with the spec:
 *  - ecall: mcause 11, mepc the ecall, mtval 0; entry clears mstatus.MIE,
 *    saves it in MPIE and puts M in MPP; mret restores MIE.
 *  - ebreak: mcause 3, mepc the ebreak.
 *  - illegal instructions (a write to the read-only mhartid; the all-zero
 *    16-bit parcel): mcause 2, mtval 0 or the instruction.
 *  - a misaligned ld: either done by the hart without a trap, or trapped with
 *    mcause 4 and mtval 0 or the address, and emulated by the handler. Either
 *    way a0 ends up with the right value. */
#include "test.h"

#define MCAUSE_ILLEGAL 2
#define MCAUSE_BREAKPOINT 3
#define MCAUSE_LOAD_MISALIGNED 4
#define MCAUSE_ECALL_M 11
#define MSTATUS_MIE 0x8
#define MSTATUS_MPIE 0x80
#define MSTATUS_MPP 0x1800

TEST_START
  .option norvc
  la t0, trap_handler
  csrw mtvec, t0

  TEST(2)
  li s2, -1
  csrsi mstatus, MSTATUS_MIE     /* mie is 0: no interrupt can be taken */
ecall_site:
  ecall
  EXPECT(s2, MCAUSE_ECALL_M)
  EXPECT(s3, 0)
  la a1, ecall_site
  bne s4, a1, fail
  TEST(3)
  li a1, MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP
  and a0, s5, a1
  EXPECT(a0, MSTATUS_MPIE | MSTATUS_MPP)
  csrr a0, mstatus
  andi a0, a0, MSTATUS_MIE
  EXPECT(a0, MSTATUS_MIE)
  csrci mstatus, MSTATUS_MIE

  TEST(4)
  li s2, -1
ebreak_site:
  ebreak
  EXPECT(s2, MCAUSE_BREAKPOINT)
  la a1, ebreak_site
  bne s4, a1, fail

  TEST(5)
  li s2, -1
illegal_site:
  csrw mhartid, zero
  EXPECT(s2, MCAUSE_ILLEGAL)
  la a1, illegal_site
  bne s4, a1, fail
  beqz s3, 1f
  lwu a1, illegal_site
  bne s3, a1, fail
1:

  TEST(6)
  li s2, -1
illegal16_site:
  .half 0
  .option push
  .option rvc
  c.nop                          /* keeps the 4-byte instructions 4-byte aligned */
  .option pop
  EXPECT(s2, MCAUSE_ILLEGAL)
  la a1, illegal16_site
  bne s4, a1, fail
  EXPECT(s3, 0)                  /* mtval: 0, or the instruction, which is 0 */

  TEST(7)
  li s2, -1
  li s6, 0
  la a1, misaligned_data + 1
  li a0, 0
misaligned_site:
  ld a0, 0(a1)
  EXPECT(a0, 0x0807060504030201)
  beqz s6, 1f                    /* done in hardware */
  EXPECT(s2, MCAUSE_LOAD_MISALIGNED)
  la a2, misaligned_site
  bne s4, a2, fail
  beqz s3, 1f
  bne s3, a1, fail
1:

  j pass

/* Clobbers t0-t2, t4, t5 and the s registers named above, and a0 when it
 * emulates the misaligned load. */
  .balign 4
trap_handler:
  csrr s2, mcause
  csrr s3, mtval
  csrr s4, mepc
  csrr s5, mstatus
  li t0, MCAUSE_LOAD_MISALIGNED
  bne s2, t0, 2f
  /* Emulate the one misaligned load in this test, ld a0, 0(a1). */
  la t0, misaligned_site
  bne s4, t0, fail
  li a0, 0
  li t1, 7
1:
  add t2, a1, t1
  lbu t2, 0(t2)
  slli a0, a0, 8
  or a0, a0, t2
  addi t1, t1, -1
  bgez t1, 1b
  li s6, 1
2:
  li t0, MCAUSE_ECALL_M
  beq s2, t0, 3f
  li t0, MCAUSE_BREAKPOINT
  beq s2, t0, 3f
  li t0, MCAUSE_ILLEGAL
  beq s2, t0, 3f
  li t0, MCAUSE_LOAD_MISALIGNED
  beq s2, t0, 3f
  j fail
3:
  /* Step over the instruction: 4 bytes if its low bits are 11, else 2. */
  lhu t4, 0(s4)
  andi t4, t4, 3
  li t5, 3
  addi t0, s4, 2
  bne t4, t5, 4f
  addi t0, s4, 4
4:
  csrw mepc, t0
  mret

  .data
  .balign 8
misaligned_data:
  .byte 0xff, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0xff

TEST_END
