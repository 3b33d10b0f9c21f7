/* A small reader for the flattened device tree QEMU passes in a1: it pulls out
 * only what the guests need. */
#ifndef GUEST_FDT_H
#define GUEST_FDT_H

#include <stdbool.h>
#include <stdint.h>

#define BOOTARGS_MAX_BYTES 512

struct boot_info {
  uint64_t ram_base; /* first /memory node, reg */
  uint64_t ram_size_bytes;
  unsigned hart_count;               /* cpu@N nodes under /cpus */
  uint64_t timebase_hz;              /* /cpus timebase-frequency (the CLINT's mtime rate) */
  char bootargs[BOOTARGS_MAX_BYTES]; /* /chosen/bootargs, copied out of the tree */
};

/* Written by hart 0 before main() runs and before the other harts are
 * released; read-only afterwards. */
extern struct boot_info boot_info;

/* Fills info from the tree at fdt. Returns false, leaving the virt machine's
 * defaults in place (128 MiB at 0x80000000, one hart, 10 MHz), when fdt does not
 * point to a valid tree. */
bool fdt_read_boot_info(const void *fdt, struct boot_info *info);

#endif
