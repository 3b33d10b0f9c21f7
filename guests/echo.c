/* Interrupt-driven UART input: PLIC source 10 to hart 0's M-mode external
 * interrupt, with the UART's receive-data interrupt on; the guest sleeps in
 * wfi while waiting. Prints a banner and a "> " prompt, echoes typed
 * characters as a terminal would, and answers each line with "echo: <line>".
 * After answering the line "quit" it powers off. A line ends at CR, LF or
 * CR LF; backspace and DEL erase; other control characters are ignored. */
#include "runtime.h"

#define LINE_MAX_BYTES 128

int main(void) {
  uart_rx_enable_interrupts();
  printf("echo: type a line; \"quit\" powers off\n");
  uart_puts("> ");

  char line[LINE_MAX_BYTES];
  size_t length = 0;
  bool after_cr = false;
  for (;;) {
    char c = uart_getc();
    bool lf_of_crlf = c == '\n' && after_cr;
    after_cr = c == '\r';
    if (lf_of_crlf)
      continue;
    if (c == '\r' || c == '\n') {
      line[length] = '\0';
      uart_putc('\n');
      printf("echo: %s\n", line);
      if (strcmp(line, "quit") == 0)
        return 0;
      length = 0;
      uart_puts("> ");
    } else if (c == '\b' || c == 0x7f) {
      if (length > 0) {
        length--;
        uart_puts("\b \b");
      }
    } else if (c >= ' ' && c < 0x7f && length < LINE_MAX_BYTES - 1) {
      line[length++] = c;
      uart_putc(c);
    }
  }
}
