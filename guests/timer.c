/* Interrupt-driven ticks from the CLINT: prints "tick N" once per second of
 * guest time (mtime at the device tree's timebase-frequency), sleeping in wfi
 * between ticks. With count=N in bootargs it powers off after tick N; without,
 * it runs forever. Deadlines advance by exactly one second each, so a guest
 * that was held back (paused, migrated) prints the missed ticks at once. */
#include "runtime.h"

/* Shared with the interrupt handler, which runs on hart 0 like main. */
static volatile uint64_t ticks;
static uint64_t next_deadline, period;

void on_timer_interrupt(unsigned long hart) {
  next_deadline += period;
  clint_set_mtimecmp(hart, next_deadline);
  ticks = ticks + 1;
}

int main(void) {
  uint64_t count = arg_uint("count", 0);
  period = boot_info.timebase_hz;
  next_deadline = clint_mtime() + period;
  clint_set_mtimecmp(hart_id(), next_deadline);
  csr_set(mie, MIE_MTIE);

  uint64_t printed = 0;
  for (;;) {
    /* Sleep with mstatus.MIE clear so a tick between the check and wfi still
     * wakes us; it is taken when MIE is set again. */
    csr_clear(mstatus, MSTATUS_MIE);
    if (ticks == printed)
      wfi();
    csr_set(mstatus, MSTATUS_MIE);
    while (printed < ticks) {
      printed++;
      printf("tick %lu\n", (unsigned long)printed);
      if (printed == count)
        return 0;
    }
  }
}
