#include "uart.h"

#include <stdint.h>

#include "platform.h"
#include "plic.h"

/* Register offsets (DLAB = 0) and bits, from the 16550 data sheet. */
#define UART_RBR 0
#define UART_THR 0
#define UART_IER 1
#define UART_LCR 3
#define UART_LSR 5
#define UART_IER_RDA 0x01 /* received data available */
#define UART_LCR_8N1 0x03
#define UART_LSR_DR 0x01   /* data ready */
#define UART_LSR_THRE 0x20 /* transmit holding register empty */

#define RX_BUFFER_BYTES 256 /* a power of two */

/* Written by the interrupt handler (head) and the reader (tail), both on hart 0;
 * each index only grows, wrapping as an unsigned counter. */
static volatile uint8_t rx_buffer[RX_BUFFER_BYTES];
static volatile unsigned rx_head, rx_tail;

static inline uint8_t uart_read(unsigned reg) { return mmio_read8(UART0_BASE + reg); }
static inline void uart_write(unsigned reg, uint8_t value) { mmio_write8(UART0_BASE + reg, value); }

void uart_init(void) {
  uart_write(UART_LCR, UART_LCR_8N1);
  uart_write(UART_IER, 0);
}

void uart_putc(char c) {
  while (!(uart_read(UART_LSR) & UART_LSR_THRE)) {
  }
  uart_write(UART_THR, (uint8_t)c);
}

void uart_puts(const char *s) {
  while (*s)
    uart_putc(*s++);
}

void uart_rx_enable_interrupts(void) {
  unsigned long context = plic_m_context(hart_id());
  plic_set_priority(UART0_IRQ, 1);
  plic_enable(context, UART0_IRQ);
  plic_set_threshold(context, 0);
  uart_write(UART_IER, UART_IER_RDA);
  csr_set(mie, MIE_MEIE);
  csr_set(mstatus, MSTATUS_MIE);
}

void uart_rx_interrupt(void) {
  while (uart_read(UART_LSR) & UART_LSR_DR) {
    uint8_t c = uart_read(UART_RBR);
    if (rx_head - rx_tail < RX_BUFFER_BYTES) { /* else drop: buffer full */
      rx_buffer[rx_head % RX_BUFFER_BYTES] = c;
      rx_head = rx_head + 1;
    }
  }
}

bool uart_try_getc(char *c) {
  if (rx_head == rx_tail)
    return false;
  *c = (char)rx_buffer[rx_tail % RX_BUFFER_BYTES];
  rx_tail = rx_tail + 1;
  return true;
}

char uart_getc(void) {
  for (;;) {
    /* Check and sleep with mstatus.MIE clear, so an interrupt between the
     * check and wfi cannot be missed: wfi still wakes on it (privileged spec,
     * section 3.3.3), and it is taken once MIE is set again. */
    csr_clear(mstatus, MSTATUS_MIE);
    char c;
    if (uart_try_getc(&c)) {
      csr_set(mstatus, MSTATUS_MIE);
      return c;
    }
    wfi();
    csr_set(mstatus, MSTATUS_MIE);
  }
}
