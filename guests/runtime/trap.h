/* Machine-mode traps. crt0.S saves the caller-saved registers and calls
 * trap_handler, which dispatches to the hooks below; a guest overrides a hook
 * by defining a function of the same name (the runtime's are weak). */
#ifndef GUEST_TRAP_H
#define GUEST_TRAP_H

/* Machine timer interrupt on this hart. The default turns mie.MTIE off. */
void on_timer_interrupt(unsigned long hart);

/* Machine software interrupt (CLINT msip). The default clears msip. */
void on_software_interrupt(unsigned long hart);

/* An external interrupt from PLIC source, already claimed; the runtime
 * completes it after the hook returns. UART0_IRQ goes to uart_rx_interrupt
 * instead. The default ignores it. */
void on_external_interrupt(unsigned source);

/* A synchronous exception. Returns the address to resume at. The default
 * prints the cause and exits with code TRAP_EXIT_CODE. */
unsigned long on_exception(unsigned long mcause, unsigned long mepc, unsigned long mtval);

#define TRAP_EXIT_CODE 2

/* Called from crt0.S; returns the new mepc. */
unsigned long trap_handler(unsigned long mcause, unsigned long mepc, unsigned long mtval);

#endif
