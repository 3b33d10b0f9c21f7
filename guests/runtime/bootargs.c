#include "bootargs.h"

#include <stdbool.h>

#include "fdt.h"
#include "rtstring.h"

/* Finds "key=" at the start of a word; returns the value and its length. */
static const char *find_value(const char *key, size_t *length) {
  size_t key_length = strlen(key);
  const char *p = boot_info.bootargs;
  while (*p) {
    while (*p == ' ')
      p++;
    const char *word = p;
    while (*p && *p != ' ')
      p++;
    if ((size_t)(p - word) > key_length && strncmp(word, key, key_length) == 0 &&
        word[key_length] == '=') {
      *length = (size_t)(p - word) - key_length - 1;
      return word + key_length + 1;
    }
  }
  return 0;
}

static bool parse_uint(const char *s, size_t length, uint64_t *out) {
  unsigned base = 10;
  if (length > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s += 2;
    length -= 2;
  }
  if (length == 0)
    return false;
  uint64_t value = 0;
  for (size_t i = 0; i < length; i++) {
    char c = s[i];
    unsigned digit;
    if (c >= '0' && c <= '9')
      digit = (unsigned)(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f')
      digit = (unsigned)(c - 'a' + 10);
    else if (base == 16 && c >= 'A' && c <= 'F')
      digit = (unsigned)(c - 'A' + 10);
    else
      return false;
    value = value * base + digit;
  }
  *out = value;
  return true;
}

uint64_t arg_uint(const char *key, uint64_t default_value) {
  size_t length;
  const char *value = find_value(key, &length);
  uint64_t number;
  if (value && parse_uint(value, length, &number))
    return number;
  return default_value;
}

const char *arg_str(const char *key, char *buffer, size_t size, const char *default_value) {
  size_t length;
  const char *value = find_value(key, &length);
  if (!value) {
    value = default_value;
    length = strlen(default_value);
  }
  if (size == 0)
    return buffer;
  if (length > size - 1)
    length = size - 1;
  memcpy(buffer, value, length);
  buffer[length] = '\0';
  return buffer;
}
