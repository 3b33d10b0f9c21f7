#include "print.h"

#include <stdbool.h>
#include <stdint.h>

#include "uart.h"

static void pad(int count, char c) {
  while (count-- > 0)
    uart_putc(c);
}

static void print_number(uint64_t value, unsigned base, bool negative, bool upper, int width,
                         bool zero_pad, bool left) {
  char digits[24];
  const char *alphabet = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  int n = 0;
  do {
    digits[n++] = alphabet[value % base];
    value /= base;
  } while (value);
  int length = n + (negative ? 1 : 0);
  if (!left && !zero_pad)
    pad(width - length, ' ');
  if (negative)
    uart_putc('-');
  if (!left && zero_pad)
    pad(width - length, '0');
  while (n)
    uart_putc(digits[--n]);
  if (left)
    pad(width - length, ' ');
}

void vprintf(const char *format, va_list args) {
  for (const char *p = format; *p; p++) {
    if (*p != '%') {
      uart_putc(*p);
      continue;
    }
    p++;
    bool zero_pad = false, left = false;
    for (;; p++) {
      if (*p == '0')
        zero_pad = true;
      else if (*p == '-')
        left = true;
      else
        break;
    }
    int width = 0;
    while (*p >= '0' && *p <= '9')
      width = width * 10 + (*p++ - '0');
    int longs = 0;
    while (*p == 'l') {
      longs++;
      p++;
    }
    switch (*p) {
    case 'd':
    case 'i': {
      int64_t v = longs ? va_arg(args, long) : va_arg(args, int);
      uint64_t magnitude = v < 0 ? -(uint64_t)v : (uint64_t)v;
      print_number(magnitude, 10, v < 0, false, width, zero_pad, left);
      break;
    }
    case 'u':
    case 'x':
    case 'X': {
      uint64_t v = longs ? va_arg(args, unsigned long) : va_arg(args, unsigned);
      print_number(v, *p == 'u' ? 10 : 16, false, *p == 'X', width, zero_pad, left);
      break;
    }
    case 'p':
      uart_puts("0x");
      print_number((uintptr_t)va_arg(args, void *), 16, false, false, width, zero_pad, left);
      break;
    case 's': {
      const char *s = va_arg(args, const char *);
      if (!s)
        s = "(null)";
      int length = 0;
      while (s[length])
        length++;
      if (!left)
        pad(width - length, ' ');
      uart_puts(s);
      if (left)
        pad(width - length, ' ');
      break;
    }
    case 'c':
      uart_putc((char)va_arg(args, int));
      break;
    case '%':
      uart_putc('%');
      break;
    case '\0':
      return;
    default: /* unknown conversion: show it as written */
      uart_putc('%');
      uart_putc(*p);
      break;
    }
  }
}

void printf(const char *format, ...) {
  va_list args;
  va_start(args, format);
  vprintf(format, args);
  va_end(args);
}
