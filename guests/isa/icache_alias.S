/* Code seen through more than one virtual address, in S-mode under Sv39.
 * Physical pages CODE1 and CODE2 hold tiny functions written at run time.
 * VA ALIAS_A and ALIAS_B both map CODE1; VA REMAPPED maps CODE1 and is then
 * pointed at CODE2 and back by rewriting its PTE and sfence.vma. The checks:
 *  - code stored through ALIAS_A runs through ALIAS_B after fence.i, and
 *    the other way round, including after the old code ran through the
 *    alias that is not written;
 *  - a pc-relative instruction sees the virtual address it runs at, even
 *    when the same bytes ran at another address just before;
 *  - after the PTE of REMAPPED changes and sfence.vma, REMAPPED runs
 *    CODE2's function, and CODE1's again after it changes back.
 * S-mode reaches everything else through an identity gigapage at
 * 0x80000000; M-mode opens PMP for S-mode, as QEMU requires. S-mode ends
 * with ecall (pass); any other trap fails the current check. */
#include "test.h"

#define PTE_V 0x01
#define PTE_R 0x02
#define PTE_W 0x04
#define PTE_X 0x08
#define PTE_A 0x40
#define PTE_D 0x80
#define PTE_LEAF (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
#define SATP_SV39 (8 << 60)
#define MSTATUS_MPP 0x1800
#define MSTATUS_MPP_S 0x0800
#define CAUSE_ECALL_S 9

#define ALIAS_A 0x40000000
#define ALIAS_B 0x40001000
#define REMAPPED 0x40002000

/* Instruction words: addi a0, zero, n; auipc a0, 0; ret. */
#define LI_A0(n) (((n) << 20) | 0x513)
#define AUIPC_A0 0x00000517
#define RET 0x00008067

/* Stores the function "insn; ret" at virtual address va. */
#define WRITE_FUNCTION(va, insn) \
  li t0, va;                     \
  li t1, insn;                   \
  sw t1, 0(t0);                  \
  li t1, RET;                    \
  sw t1, 4(t0)

/* Calls the function at virtual address va; fails unless a0 ends as value. */
#define CALL_EXPECT(va, value) \
  li t0, va;                   \
  li a0, -1;                   \
  jalr ra, 0(t0);              \
  EXPECT(a0, value)

TEST_START
  .option norvc
  la t0, machine_handler
  csrw mtvec, t0
  /* PMP: one NAPOT region over all of memory, RWX for S and U. */
  li t0, -1
  csrw pmpaddr0, t0
  li t0, 0x1f
  csrw pmpcfg0, t0

  /* root[1] -> level1 -> level0: ALIAS_A, ALIAS_B, REMAPPED.
   * root[2]: gigapage 0x80000000 -> 0x80000000. */
  la t0, root_table
  la t1, level1_table
  srli t1, t1, 12
  slli t1, t1, 10
  ori t1, t1, PTE_V
  sd t1, 8(t0)
  li t1, (0x80000000 >> 12) << 10 | PTE_LEAF
  sd t1, 16(t0)
  la t0, level1_table
  la t1, level0_table
  srli t1, t1, 12
  slli t1, t1, 10
  ori t1, t1, PTE_V
  sd t1, 0(t0)
  la t0, level0_table
  la t1, code1
  srli t1, t1, 12
  slli t1, t1, 10
  ori t1, t1, PTE_LEAF
  sd t1, 0(t0)                   /* ALIAS_A */
  sd t1, 8(t0)                   /* ALIAS_B */
  sd t1, 16(t0)                  /* REMAPPED */

  la t0, root_table
  srli t0, t0, 12
  li t1, SATP_SV39
  or t0, t0, t1
  csrw satp, t0
  sfence.vma
  li t0, MSTATUS_MPP
  csrc mstatus, t0
  li t0, MSTATUS_MPP_S
  csrs mstatus, t0
  la t0, supervisor_code
  csrw mepc, t0
  mret

supervisor_code:
  TEST(2)                        /* written through A, run through B and A */
  WRITE_FUNCTION(ALIAS_A, LI_A0(1))
  fence.i
  CALL_EXPECT(ALIAS_B, 1)
  CALL_EXPECT(ALIAS_A, 1)

  TEST(3)                        /* rewritten through B, run through A */
  WRITE_FUNCTION(ALIAS_B, LI_A0(2))
  fence.i
  CALL_EXPECT(ALIAS_A, 2)
  CALL_EXPECT(ALIAS_B, 2)

  TEST(4)                        /* A ran last; written through B again */
  CALL_EXPECT(ALIAS_A, 2)
  WRITE_FUNCTION(ALIAS_B, LI_A0(3))
  fence.i
  CALL_EXPECT(ALIAS_A, 3)

  TEST(5)                        /* the same bytes at two addresses */
  WRITE_FUNCTION(ALIAS_A, AUIPC_A0)
  fence.i
  CALL_EXPECT(ALIAS_A, ALIAS_A)
  CALL_EXPECT(ALIAS_B, ALIAS_B)
  CALL_EXPECT(ALIAS_A, ALIAS_A)

  TEST(6)                        /* CODE2 filled through the identity map */
  WRITE_FUNCTION(ALIAS_A, LI_A0(4))
  la t0, code2
  li t1, LI_A0(5)
  sw t1, 0(t0)
  li t1, RET
  sw t1, 4(t0)
  fence.i
  CALL_EXPECT(REMAPPED, 4)       /* still CODE1 */

  TEST(7)                        /* REMAPPED now maps CODE2 */
  la t0, level0_table
  la t1, code2
  srli t1, t1, 12
  slli t1, t1, 10
  ori t1, t1, PTE_LEAF
  sd t1, 16(t0)
  sfence.vma
  CALL_EXPECT(REMAPPED, 5)
  CALL_EXPECT(ALIAS_A, 4)

  TEST(8)                        /* and back to CODE1 */
  la t0, level0_table
  la t1, code1
  srli t1, t1, 12
  slli t1, t1, 10
  ori t1, t1, PTE_LEAF
  sd t1, 16(t0)
  sfence.vma
  CALL_EXPECT(REMAPPED, 4)

  TEST(9)                        /* code changed in CODE2 while unmapped */
  la t0, code2
  li t1, LI_A0(6)
  sw t1, 0(t0)
  fence.i
  CALL_EXPECT(REMAPPED, 4)
  la t0, level0_table
  la t1, code2
  srli t1, t1, 12
  slli t1, t1, 10
  ori t1, t1, PTE_LEAF
  sd t1, 16(t0)
  sfence.vma
  CALL_EXPECT(REMAPPED, 6)

  ecall                          /* done: M-mode passes */

  .balign 4
machine_handler:
  csrr t0, mcause
  li t1, CAUSE_ECALL_S
  bne t0, t1, fail
  j pass

TEST_END

  .data
  .balign 4096
root_table:
  .zero 4096
level1_table:
  .zero 4096
level0_table:
  .zero 4096
code1:
  .zero 4096
code2:
  .zero 4096
