/* The qemu-system-riscv64 -M virt address map and the machine-mode CSR bits
 * the runtime uses. Usable from C and from assembly. */
#ifndef GUEST_PLATFORM_H
#define GUEST_PLATFORM_H

#define TEST_BASE 0x100000UL   /* sifive_test: power off, exit, reset */
#define CLINT_BASE 0x2000000UL /* msip, mtimecmp, mtime */
#define PLIC_BASE 0xc000000UL
#define UART0_BASE 0x10000000UL /* ns16550a */
#define UART0_IRQ 10            /* PLIC source of UART0 */

/* Harts with an id at or above MAX_HARTS get no stack and park at once. */
#define MAX_HARTS 16
#define STACK_SIZE_BYTES 8192

#define MSTATUS_MIE (1UL << 3)
#define MSTATUS_MPIE (1UL << 7)
#define MIE_MSIE (1UL << 3)
#define MIE_MTIE (1UL << 7)
#define MIE_MEIE (1UL << 11)

#define MCAUSE_INTERRUPT (1UL << 63)
#define IRQ_M_SOFTWARE 3
#define IRQ_M_TIMER 7
#define IRQ_M_EXTERNAL 11

#ifndef __ASSEMBLER__
#include <stdint.h>

static inline void mmio_write8(uintptr_t addr, uint8_t value) { *(volatile uint8_t *)addr = value; }
static inline uint8_t mmio_read8(uintptr_t addr) { return *(volatile uint8_t *)addr; }
static inline void mmio_write32(uintptr_t addr, uint32_t value) {
  *(volatile uint32_t *)addr = value;
}
static inline uint32_t mmio_read32(uintptr_t addr) { return *(volatile uint32_t *)addr; }
static inline void mmio_write64(uintptr_t addr, uint64_t value) {
  *(volatile uint64_t *)addr = value;
}
static inline uint64_t mmio_read64(uintptr_t addr) { return *(volatile uint64_t *)addr; }

#define csr_read(csr)                                                                              \
  ({                                                                                               \
    unsigned long csr_value_;                                                                      \
    __asm__ volatile("csrr %0, " #csr : "=r"(csr_value_));                                         \
    csr_value_;                                                                                    \
  })
#define csr_write(csr, value)                                                                      \
  __asm__ volatile("csrw " #csr ", %0" : : "rK"((unsigned long)(value)) : "memory")
#define csr_set(csr, bits)                                                                         \
  __asm__ volatile("csrs " #csr ", %0" : : "rK"((unsigned long)(bits)) : "memory")
#define csr_clear(csr, bits)                                                                       \
  __asm__ volatile("csrc " #csr ", %0" : : "rK"((unsigned long)(bits)) : "memory")

static inline void wfi(void) { __asm__ volatile("wfi" : : : "memory"); }

static inline unsigned long hart_id(void) { return csr_read(mhartid); }

#endif /* __ASSEMBLER__ */
#endif /* GUEST_PLATFORM_H */
