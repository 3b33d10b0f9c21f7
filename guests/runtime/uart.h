/* UART0, an ns16550a: polled output from any hart, interrupt-driven input on
 * hart 0 (PLIC source UART0_IRQ, M-mode external interrupt). */
#ifndef GUEST_UART_H
#define GUEST_UART_H

#include <stdbool.h>

/* 8 data bits, no parity, one stop bit; no interrupts. The FIFO control
 * register is left alone: changing its enable bit makes a 16550 flush the
 * receive FIFO, dropping input that arrived before the guest started. */
void uart_init(void);

void uart_putc(char c);
void uart_puts(const char *s);

/* Turns on the receive-data interrupt in the UART and routes it through the
 * PLIC to hart 0's M-mode external interrupt, then enables interrupts on this
 * hart (mie.MEIE, mstatus.MIE). Call on hart 0. */
void uart_rx_enable_interrupts(void);

/* Next received byte; sleeps in wfi while none is buffered. */
char uart_getc(void);

/* Next received byte if one is buffered. */
bool uart_try_getc(char *c);

/* Drains the receiver into the input buffer; called by the trap handler. */
void uart_rx_interrupt(void);

#endif
