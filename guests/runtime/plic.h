/* PLIC (platform-level interrupt controller). On the virt board, context 2h is
 * hart h in M-mode and 2h + 1 is hart h in S-mode. */
#ifndef GUEST_PLIC_H
#define GUEST_PLIC_H

#include "platform.h"

#define PLIC_PRIORITY(source) (PLIC_BASE + 4UL * (source))
#define PLIC_PENDING(source) (PLIC_BASE + 0x1000UL + 4UL * ((source) / 32))
#define PLIC_ENABLE(context, source)                                                               \
  (PLIC_BASE + 0x2000UL + 0x80UL * (context) + 4UL * ((source) / 32))
#define PLIC_THRESHOLD(context) (PLIC_BASE + 0x200000UL + 0x1000UL * (context))
#define PLIC_CLAIM(context) (PLIC_THRESHOLD(context) + 4)

static inline unsigned long plic_m_context(unsigned long hart) { return 2 * hart; }

static inline void plic_set_priority(unsigned source, uint32_t priority) {
  mmio_write32(PLIC_PRIORITY(source), priority);
}

static inline void plic_enable(unsigned long context, unsigned source) {
  uintptr_t reg = PLIC_ENABLE(context, source);
  mmio_write32(reg, mmio_read32(reg) | 1u << (source % 32));
}

static inline void plic_set_threshold(unsigned long context, uint32_t threshold) {
  mmio_write32(PLIC_THRESHOLD(context), threshold);
}

/* Returns the highest-priority pending source, or 0 if none. */
static inline unsigned plic_claim(unsigned long context) {
  return mmio_read32(PLIC_CLAIM(context));
}

static inline void plic_complete(unsigned long context, unsigned source) {
  mmio_write32(PLIC_CLAIM(context), source);
}

#endif
