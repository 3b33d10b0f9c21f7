/* Entry point and machine-mode trap vector.
 *
 * With -bios none, QEMU's reset ROM at 0x1000 jumps here on every hart at once,
 * in M-mode, with a0 = hart id and a1 = address of the device tree. Hart 0
 * clears .bss and calls boot_hart0 (boot.c), which reads the device tree and
 * then releases the other harts with a CLINT software interrupt. Until then they
 * sleep in wfi, touching nothing but boot_released, which lives in .data
 * because hart 0 is clearing .bss meanwhile. */
#include "platform.h"

  .section .text.entry, "ax"
  .globl _start
_start:
  csrw mie, zero
  csrci mstatus, MSTATUS_MIE
  la t0, trap_entry
  csrw mtvec, t0

  li t0, MAX_HARTS
  bgeu a0, t0, park_forever

  /* Each hart's stack is STACK_SIZE_BYTES below the previous one. */
  la sp, __stack_top
  li t0, STACK_SIZE_BYTES
  mul t0, t0, a0
  sub sp, sp, t0

  bnez a0, wait_for_release

  mv s0, a1
  la t0, __bss_start
  la t1, __bss_end
1:
  bgeu t0, t1, 2f
  sd zero, 0(t0)
  addi t0, t0, 8
  j 1b
2:
  mv a0, s0
  call boot_hart0
  j park_forever

/* wfi returns once an interrupt is pending and enabled in mie, even with
 * mstatus.MIE clear, so the software interrupt wakes this hart without a trap.
 * msip stays pending until cleared, so an IPI sent before we reach wfi is not
 * lost. */
wait_for_release:
  mv s0, a0
  li t0, MIE_MSIE
  csrw mie, t0
1:
  lw t1, boot_released
  bnez t1, 2f
  wfi
  j 1b
2:
  fence r, rw
  li t0, CLINT_BASE
  slli t1, s0, 2
  add t0, t0, t1
  sw zero, 0(t0)
  csrw mie, zero
  mv a0, s0
  call boot_secondary

  .globl park_forever
park_forever:
  csrw mie, zero
1:
  wfi
  j 1b

/* Saves the registers a C function may clobber, calls
 * trap_handler(mcause, mepc, mtval) and resumes at the address it returns.
 * Every trap is taken from M-mode on a hart's own stack, so sp is valid. */
  .balign 4
  .globl trap_entry
trap_entry:
  addi sp, sp, -128
  sd ra, 0(sp)
  sd t0, 8(sp)
  sd t1, 16(sp)
  sd t2, 24(sp)
  sd t3, 32(sp)
  sd t4, 40(sp)
  sd t5, 48(sp)
  sd t6, 56(sp)
  sd a0, 64(sp)
  sd a1, 72(sp)
  sd a2, 80(sp)
  sd a3, 88(sp)
  sd a4, 96(sp)
  sd a5, 104(sp)
  sd a6, 112(sp)
  sd a7, 120(sp)
  csrr a0, mcause
  csrr a1, mepc
  csrr a2, mtval
  call trap_handler
  csrw mepc, a0
  ld ra, 0(sp)
  ld t0, 8(sp)
  ld t1, 16(sp)
  ld t2, 24(sp)
  ld t3, 32(sp)
  ld t4, 40(sp)
  ld t5, 48(sp)
  ld t6, 56(sp)
  ld a0, 64(sp)
  ld a1, 72(sp)
  ld a2, 80(sp)
  ld a3, 88(sp)
  ld a4, 96(sp)
  ld a5, 104(sp)
  ld a6, 112(sp)
  ld a7, 120(sp)
  addi sp, sp, 128
  mret

  .section .stacks, "aw", @nobits
  .balign 16
  .space MAX_HARTS * STACK_SIZE_BYTES

  .section .data
  .balign 8
  .globl boot_released
boot_released:
  .word 0
