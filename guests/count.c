/* Serial output whose every byte can be checked: prints "A\n", then the
 * numbers 1, 2, 3, ... one per line, forever, one every `period` microseconds
 * of guest time (bootargs period=N, default 200; 0: as fast as it can),
 * dirtying the first page of each of `ws` MiB (default 1) before each line.
 * A reader that sees every number once and in order has lost nothing and
 * been given nothing twice: the connection tests read it across a CPR
 * handover. */
#include "runtime.h"

#define PAGE_BYTES 4096UL
#define MIB (1UL << 20)

int main(void) {
  uintptr_t start = boot_info.ram_base + MIB;
  uintptr_t limit = boot_info.ram_base + boot_info.ram_size_bytes - 4 * MIB;
  uintptr_t end = start + arg_uint("ws", 1) * MIB;
  if (end > limit)
    end = limit;
  uint64_t period = arg_uint("period", 200) * boot_info.timebase_hz / 1000000;

  uart_puts("A\n");
  uint64_t next = clint_mtime();
  for (uint64_t n = 1;; ++n) {
    for (uintptr_t page = start; page < end; page += PAGE_BYTES)
      *(volatile uint8_t *)page += 1;
    next += period;
    while (clint_mtime() < next) {
    }
    printf("%lu\n", (unsigned long)n);
  }
}
