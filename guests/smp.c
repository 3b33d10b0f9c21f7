/* Every hart adds 1 to two shared counters iters times: one with amoadd.d, one
 * with an lr.d/sc.d retry loop. Hart 0 then waits for all harts and checks both
 * totals against harts * iters. Bootargs: iters=N (default 100000). Powers off
 * on success; prints FAIL and exits with code 1 otherwise. */
#include "runtime.h"

#define DEFAULT_ITERS 100000

/* Each on its own 64-byte line, so the two kinds of contention stay apart. */
static volatile uint64_t amo_total __attribute__((aligned(64)));
static volatile uint64_t lrsc_total __attribute__((aligned(64)));
static volatile uint64_t harts_ready __attribute__((aligned(64)));
static volatile uint64_t harts_done;

static inline void amo_add(volatile uint64_t *counter, uint64_t value) {
  __asm__ volatile("amoadd.d.aqrl zero, %1, %0" : "+A"(*counter) : "r"(value) : "memory");
}

static inline void lrsc_add(volatile uint64_t *counter, uint64_t value) {
  uint64_t sum, failed;
  __asm__ volatile("1:\n"
                   "  lr.d.aq %0, %2\n"
                   "  add %0, %0, %3\n"
                   "  sc.d.rl %1, %0, %2\n"
                   "  bnez %1, 1b\n"
                   : "=&r"(sum), "=&r"(failed), "+A"(*counter)
                   : "r"(value)
                   : "memory");
}

static void hammer(void) {
  uint64_t iters = arg_uint("iters", DEFAULT_ITERS);
  /* Start together, so the harts really contend. */
  amo_add(&harts_ready, 1);
  while (harts_ready < active_hart_count()) {
  }
  for (uint64_t i = 0; i < iters; i++) {
    amo_add(&amo_total, 1);
    lrsc_add(&lrsc_total, 1);
  }
  amo_add(&harts_done, 1);
}

void secondary_main(unsigned long hart) {
  (void)hart;
  hammer();
}

int main(void) {
  unsigned harts = active_hart_count();
  hammer();
  while (harts_done < harts) {
  }
  uint64_t expected = harts * arg_uint("iters", DEFAULT_ITERS);
  bool amo_ok = amo_total == expected, lrsc_ok = lrsc_total == expected;
  printf("smp: %u hart%s, amo total %lu %s, lrsc total %lu %s\n", harts, harts == 1 ? "" : "s",
         (unsigned long)amo_total, amo_ok ? "ok" : "FAIL", (unsigned long)lrsc_total,
         lrsc_ok ? "ok" : "FAIL");
  if (amo_ok && lrsc_ok)
    return 0;
  printf("smp: FAIL, expected %lu each\n", (unsigned long)expected);
  return 1;
}
