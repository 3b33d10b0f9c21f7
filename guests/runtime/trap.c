#include "trap.h"

#include "clint.h"
#include "platform.h"
#include "plic.h"
#include "power.h"
#include "print.h"
#include "uart.h"

__attribute__((weak)) void on_timer_interrupt(unsigned long hart) {
  (void)hart;
  csr_clear(mie, MIE_MTIE);
}

__attribute__((weak)) void on_software_interrupt(unsigned long hart) { clint_clear_ipi(hart); }

__attribute__((weak)) void on_external_interrupt(unsigned source) { (void)source; }

__attribute__((weak)) unsigned long on_exception(unsigned long mcause, unsigned long mepc,
                                                 unsigned long mtval) {
  printf("\ntrap: unexpected exception mcause=%lu mepc=0x%lx mtval=0x%lx on hart %lu\n", mcause,
         mepc, mtval, hart_id());
  exit_with_code(TRAP_EXIT_CODE);
}

static void external_interrupt(unsigned long hart) {
  unsigned long context = plic_m_context(hart);
  unsigned source;
  while ((source = plic_claim(context)) != 0) {
    if (source == UART0_IRQ)
      uart_rx_interrupt();
    else
      on_external_interrupt(source);
    plic_complete(context, source);
  }
}

unsigned long trap_handler(unsigned long mcause, unsigned long mepc, unsigned long mtval) {
  if (!(mcause & MCAUSE_INTERRUPT))
    return on_exception(mcause, mepc, mtval);
  unsigned long hart = hart_id();
  switch (mcause & ~MCAUSE_INTERRUPT) {
  case IRQ_M_TIMER:
    on_timer_interrupt(hart);
    break;
  case IRQ_M_SOFTWARE:
    on_software_interrupt(hart);
    break;
  case IRQ_M_EXTERNAL:
    external_interrupt(hart);
    break;
  default: /* nothing else is enabled in mie */
    break;
  }
  return mepc;
}
