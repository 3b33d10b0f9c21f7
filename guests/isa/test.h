/* Environment for the self-checking ISA tests.
 *
 * Each test is an assembly file in the form
 *   #include "test.h"
 *   TEST_START
 *     ... checks, each setting TESTNUM first ...
 *   TEST_END
 * Results go through HTIF, as Spike and godwit serve it: the ELF's symbol
 * tohost receives 1 when every check passed, or (n << 1) | 1 when check n
 * failed. Then the same result goes to the virt board's sifive_test device
 * (0x5555: pass; (n << 16) | 0x3333: exit status n), which is how QEMU's
 * virt, having no HTIF, reports it; the hart then spins. TESTNUM is 1 while the environment sets up, so
 * a failure is never reported as a pass; checks are numbered from 2. Only hart
 * 0 runs the test; other harts park in wfi. An unexpected trap fails the
 * current check. Registers gp (TESTNUM) and t6 (the expected value) belong to
 * the environment. */
#ifndef ISA_TEST_H
#define ISA_TEST_H

#define TESTNUM gp

/* The virt board's sifive_test (poweroff with a status). */
#define SIFIVE_TEST_BASE 0x100000

#define TEST_START                \
  .section .text.init, "ax";      \
  .globl _start;                  \
  _start:                         \
  csrr t0, mhartid;               \
  bnez t0, park_hart;             \
  csrw mie, zero;                 \
  la t0, unexpected_trap;         \
  csrw mtvec, t0;                 \
  li TESTNUM, 1;                  \
  j test_body;                    \
  park_hart:                      \
  wfi;                            \
  j park_hart;                    \
  .balign 4;                      \
  unexpected_trap:                \
  j fail;                         \
  test_body:

#define TEST_END                  \
  .text;                          \
  pass:                           \
  fence;                          \
  li t0, 1;                       \
  la t1, tohost;                  \
  sd t0, 0(t1);                   \
  li t0, 0x5555;                  \
  j 2f;                           \
  fail:                           \
  fence;                          \
  slli t0, TESTNUM, 1;            \
  ori t0, t0, 1;                  \
  la t1, tohost;                  \
  sd t0, 0(t1);                   \
  slli t0, TESTNUM, 16;           \
  li t1, 0x3333;                  \
  or t0, t0, t1;                  \
  2: li t1, SIFIVE_TEST_BASE;     \
  sw t0, 0(t1);                   \
  1: j 1b;                        \
  .section .tohost, "aw", @progbits; \
  .balign 64;                     \
  .globl tohost;                  \
  .type tohost, @object;          \
  .size tohost, 8;                \
  tohost: .dword 0;               \
  .balign 64;                     \
  .globl fromhost;                \
  .type fromhost, @object;        \
  .size fromhost, 8;              \
  fromhost: .dword 0;

/* Starts check n. */
#define TEST(n) li TESTNUM, n

/* Fails the current check unless reg holds value. */
#define EXPECT(reg, value) \
  li t6, value;            \
  bne reg, t6, fail

/* Check n: a0 = op(v1, v2) must be expected (register-register form). */
#define TEST_RR(n, op, expected, v1, v2) \
  TEST(n);                               \
  li a1, v1;                             \
  li a2, v2;                             \
  op a0, a1, a2;                         \
  EXPECT(a0, expected)

/* Check n: a0 = op(v1, imm) must be expected (register-immediate form). */
#define TEST_RI(n, op, expected, v1, imm) \
  TEST(n);                                \
  li a1, v1;                              \
  op a0, a1, imm;                         \
  EXPECT(a0, expected)

#endif
