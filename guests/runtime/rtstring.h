/* The memory and string functions GCC may call even in freestanding code, and
 * a few more the runtime uses. */
#ifndef GUEST_RTSTRING_H
#define GUEST_RTSTRING_H

#include <stddef.h>

void *memset(void *dest, int value, size_t n);
void *memcpy(void *dest, const void *src, size_t n);
void *memmove(void *dest, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

#endif
