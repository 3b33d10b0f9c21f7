/* Entry points of an S-mode payload. The firmware enters _start on the boot
 * hart only; the others start at secondary_entry when the payload asks for
 * them through SBI HSM hart_start. Both get a0 = hart id (a1 = device tree
 * address at _start, the hart_start opaque value at secondary_entry). */
#define STACK_BYTES 4096
#define MAX_HARTS 8

  .section .text.entry, "ax"
  .globl _start
_start:
  call set_stack
  tail payload_main

  .text
  .globl secondary_entry
secondary_entry:
  call set_stack
  tail payload_secondary

/* sp = the top of hart a0's stack; a hart id past the stacks parks. */
set_stack:
  li t0, MAX_HARTS
  bgeu a0, t0, park
  la sp, __stack_top
  slli t0, a0, 12
  sub sp, sp, t0
  ret
park:
  wfi
  j park

  .section .stacks, "aw", @nobits
  .balign 16
  .space STACK_BYTES * MAX_HARTS
