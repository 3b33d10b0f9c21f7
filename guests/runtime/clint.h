/* CLINT (SiFive core-local interruptor), as QEMU's virt board maps it. */
#ifndef GUEST_CLINT_H
#define GUEST_CLINT_H

#include "platform.h"

#define CLINT_MSIP(hart) (CLINT_BASE + 4UL * (hart))
#define CLINT_MTIMECMP(hart) (CLINT_BASE + 0x4000UL + 8UL * (hart))
#define CLINT_MTIME (CLINT_BASE + 0xbff8UL)

static inline uint64_t clint_mtime(void) { return mmio_read64(CLINT_MTIME); }

static inline void clint_set_mtimecmp(unsigned long hart, uint64_t deadline) {
  mmio_write64(CLINT_MTIMECMP(hart), deadline);
}

static inline void clint_send_ipi(unsigned long hart) { mmio_write32(CLINT_MSIP(hart), 1); }

static inline void clint_clear_ipi(unsigned long hart) { mmio_write32(CLINT_MSIP(hart), 0); }

#endif
