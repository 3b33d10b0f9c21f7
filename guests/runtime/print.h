/* printf over the polled UART. Conversions: %d %i %u %x %X %p %s %c %%, with
 * an optional '0' or '-' flag, a field width and the l or ll size. A newline
 * is sent as a bare "\n". */
#ifndef GUEST_PRINT_H
#define GUEST_PRINT_H

#include <stdarg.h>

__attribute__((format(printf, 1, 2))) void printf(const char *format, ...);
void vprintf(const char *format, va_list args);

#endif
