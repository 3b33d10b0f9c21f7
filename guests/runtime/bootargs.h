/* Lookup of key=value words in /chosen/bootargs (QEMU's -append). Words are
 * separated by spaces; the first word with the key wins. */
#ifndef GUEST_BOOTARGS_H
#define GUEST_BOOTARGS_H

#include <stddef.h>
#include <stdint.h>

/* The value of key as a decimal or 0x-prefixed hexadecimal number, or
 * default_value if the key is absent or its value is not a number. */
uint64_t arg_uint(const char *key, uint64_t default_value);

/* The value of key, copied into buffer (truncated to size - 1 bytes), or
 * default_value if the key is absent. Returns buffer. */
const char *arg_str(const char *key, char *buffer, size_t size, const char *default_value);

#endif
