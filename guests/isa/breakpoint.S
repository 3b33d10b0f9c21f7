/* Sdtrig address-match triggers in M-mode (debug spec 1.0, chapter 5).
 * The trap handler records mcause (s2), mepc (s4) and mtval (s3), skips the
 * instruction that trapped and returns. The checks:
 *  - tselect selects trigger 0, tinfo offers type 2 (mcontrol), trigger 0
 *    resets to type 2, tdata2 and an M-mode execute mcontrol read back;
 *  - an execute trigger fires before the instruction: mcause 3, mepc and
 *    mtval the instruction's address, the instruction not done;
 *  - a load trigger fires before the load (rd untouched, mtval the
 *    address) and not for a store there; a store trigger before the store
 *    (memory untouched) and not for a load there;
 *  - trigger 1 works on its own and is separate from trigger 0;
 *  - a trigger without the M bit, or with no access type, does not fire. */
#include "test.h"

#define TYPE_MCONTROL (2 << 60)
#define MCONTROL_M (1 << 6)
#define MCONTROL_S (1 << 4)
#define MCONTROL_U (1 << 3)
#define MCONTROL_EXECUTE (1 << 2)
#define MCONTROL_STORE (1 << 1)
#define MCONTROL_LOAD (1 << 0)
#define CAUSE_BREAKPOINT 3

/* Resets the handler's records. */
#define CLEAR_RECORDS li s2, -1; li s3, -1; li s4, -1

TEST_START
  .option norvc
  la t0, trap_handler
  csrw mtvec, t0

  TEST(2)
  csrw tselect, zero
  csrr a0, tselect
  EXPECT(a0, 0)
  csrr a0, tinfo
  andi a0, a0, 1 << 2            /* type 2 offered */
  EXPECT(a0, 1 << 2)
  csrr a0, tdata1
  srli a0, a0, 60
  EXPECT(a0, 2)

  TEST(3)
  la a2, counted
  csrw tdata2, a2
  csrr a0, tdata2
  bne a0, a2, fail
  li a1, TYPE_MCONTROL | MCONTROL_M | MCONTROL_EXECUTE
  csrw tdata1, a1
  csrr a0, tdata1
  bne a0, a1, fail

  /* counted adds one to s5: with the trigger armed the add is skipped. */
  TEST(4)
  li s5, 0
  CLEAR_RECORDS
  jal counted
  EXPECT(s5, 0)
  EXPECT(s2, CAUSE_BREAKPOINT)
  la a2, counted
  bne s4, a2, fail
  bne s3, a2, fail

  /* Another address: the trigger stays quiet. */
  TEST(5)
  CLEAR_RECORDS
  jal other
  EXPECT(s2, -1)

  /* Disarmed (no access type): counted runs. */
  TEST(6)
  li a1, TYPE_MCONTROL | MCONTROL_M
  csrw tdata1, a1
  jal counted
  EXPECT(s5, 1)
  EXPECT(s2, -1)

  /* Load trigger. */
  TEST(7)
  la a2, watched
  csrw tdata2, a2
  li a1, TYPE_MCONTROL | MCONTROL_M | MCONTROL_LOAD
  csrw tdata1, a1
  csrr a0, tdata1
  bne a0, a1, fail
  li a3, 7
  CLEAR_RECORDS
load_site:
  ld a3, 0(a2)
  EXPECT(a3, 7)                  /* not loaded */
  EXPECT(s2, CAUSE_BREAKPOINT)
  bne s3, a2, fail
  la a4, load_site
  bne s4, a4, fail

  TEST(8)                        /* a store there does not match a load trigger */
  CLEAR_RECORDS
  li a3, 0x1234
  sd a3, 0(a2)
  EXPECT(s2, -1)

  /* Store trigger. */
  TEST(9)
  li a1, TYPE_MCONTROL | MCONTROL_M | MCONTROL_STORE
  csrw tdata1, a1
  csrr a0, tdata1
  bne a0, a1, fail
  CLEAR_RECORDS
  li a3, 0x5678
store_site:
  sd a3, 0(a2)
  EXPECT(s2, CAUSE_BREAKPOINT)
  bne s3, a2, fail
  la a4, store_site
  bne s4, a4, fail
  li a1, TYPE_MCONTROL           /* disarm before looking at memory */
  csrw tdata1, a1
  ld a3, 0(a2)
  EXPECT(a3, 0x1234)             /* the store was not done */

  TEST(10)                       /* a load there does not match a store trigger */
  li a1, TYPE_MCONTROL | MCONTROL_M | MCONTROL_STORE
  csrw tdata1, a1
  CLEAR_RECORDS
  ld a3, 0(a2)
  EXPECT(s2, -1)
  EXPECT(a3, 0x1234)
  li a1, TYPE_MCONTROL
  csrw tdata1, a1

  /* Trigger 1, with trigger 0 disarmed. */
  TEST(11)
  li a0, 1
  csrw tselect, a0
  csrr a0, tselect
  EXPECT(a0, 1)
  la a2, counted
  csrw tdata2, a2
  li a1, TYPE_MCONTROL | MCONTROL_M | MCONTROL_EXECUTE
  csrw tdata1, a1
  csrr a0, tdata1
  bne a0, a1, fail
  li s5, 0
  CLEAR_RECORDS
  jal counted
  EXPECT(s5, 0)
  EXPECT(s2, CAUSE_BREAKPOINT)
  bne s3, a2, fail

  TEST(12)                       /* trigger 0 kept its own values */
  csrw tselect, zero
  csrr a0, tdata1
  EXPECT(a0, TYPE_MCONTROL)
  csrr a0, tdata2
  la a1, watched
  bne a0, a1, fail

  /* Trigger 1 for S and U only: quiet in M. */
  TEST(13)
  li a0, 1
  csrw tselect, a0
  li a1, TYPE_MCONTROL | MCONTROL_S | MCONTROL_U | MCONTROL_EXECUTE
  csrw tdata1, a1
  CLEAR_RECORDS
  jal counted
  EXPECT(s5, 1)
  EXPECT(s2, -1)
  li a1, TYPE_MCONTROL
  csrw tdata1, a1
  csrw tselect, zero

  j pass

  .balign 4
counted:
  addi s5, s5, 1
  ret
other:
  ret

  .balign 4
trap_handler:
  csrr s2, mcause
  csrr s3, mtval
  csrr s4, mepc
  addi t0, s4, 4
  csrw mepc, t0
  mret

TEST_END

  .data
  .balign 8
watched:
  .dword 0
