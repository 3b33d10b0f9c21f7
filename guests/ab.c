/* The dirtying workload for migration tests and benchmarks.
 *
 * Prints "A", then forever: adds one to the first byte of every 4 KiB page from
 * RAM start + 1 MiB up to RAM end - 4 MiB and prints "B" after each full pass
 * (no newlines: the output is "ABBBB..."). With ws=N in bootargs only the first
 * N MiB of that range are dirtied (ws=0, absent or larger than the range: all
 * of it). The first MiB holds this image and its stacks; QEMU puts the device
 * tree in the last 2 MiB of RAM. Other harts park. */
#include "runtime.h"

#define PAGE_BYTES 4096UL
#define MIB (1UL << 20)

/* One pass, five instructions a page: load, add, store, step, branch. */
static void dirty_pages(uintptr_t page, uintptr_t end) {
  if (page >= end)
    return;
  __asm__ volatile("1:\n"
                   "  lbu t0, 0(%0)\n"
                   "  addi t0, t0, 1\n"
                   "  sb t0, 0(%0)\n"
                   "  add %0, %0, %2\n"
                   "  bltu %0, %1, 1b\n"
                   : "+r"(page)
                   : "r"(end), "r"(PAGE_BYTES)
                   : "t0", "memory");
}

int main(void) {
  uintptr_t start = boot_info.ram_base + MIB;
  uintptr_t end = boot_info.ram_base + boot_info.ram_size_bytes - 4 * MIB;
  uint64_t working_set_mib = arg_uint("ws", 0);
  if (working_set_mib != 0 && working_set_mib < (end - start) / MIB)
    end = start + working_set_mib * MIB;

  uart_putc('A');
  for (;;) {
    dirty_pages(start, end);
    uart_putc('B');
  }
}
