/* Walks the structure block of a flattened device tree (Devicetree
 * Specification v0.4, chapter 5): big-endian tokens, 4-byte aligned. */
#include "fdt.h"

#include "rtstring.h"

#define FDT_MAGIC 0xd00dfeedu
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE 2
#define FDT_PROP 3
#define FDT_NOP 4
#define FDT_END 9

/* Header fields, as offsets in bytes. */
#define HEADER_MAGIC 0
#define HEADER_TOTALSIZE 4
#define HEADER_OFF_DT_STRUCT 8
#define HEADER_OFF_DT_STRINGS 12

struct boot_info boot_info;

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads a value of `cells` 32-bit cells (1 or 2), big-endian. */
static uint64_t read_cells(const uint8_t *p, uint32_t cells) {
  uint64_t value = 0;
  for (uint32_t i = 0; i < cells; i++)
    value = value << 32 | be32(p + 4 * i);
  return value;
}

static bool starts_with(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool is_node(const char *name, const char *base) {
  size_t n = strlen(base);
  return strncmp(name, base, n) == 0 && (name[n] == '\0' || name[n] == '@');
}

enum top_node { NODE_OTHER, NODE_MEMORY, NODE_CPUS, NODE_CHOSEN };

bool fdt_read_boot_info(const void *fdt, struct boot_info *info) {
  info->ram_base = 0x80000000UL;
  info->ram_size_bytes = 128UL << 20;
  info->hart_count = 1;
  info->timebase_hz = 10000000;
  info->bootargs[0] = '\0';

  const uint8_t *blob = fdt;
  if (blob == 0 || be32(blob + HEADER_MAGIC) != FDT_MAGIC)
    return false;
  uint32_t total_bytes = be32(blob + HEADER_TOTALSIZE);
  const uint8_t *p = blob + be32(blob + HEADER_OFF_DT_STRUCT);
  const uint8_t *end = blob + total_bytes;
  const char *strings = (const char *)blob + be32(blob + HEADER_OFF_DT_STRINGS);

  /* Defaults from the specification, section 2.3.5. */
  uint32_t address_cells = 2, size_cells = 1;
  int depth = 0;
  enum top_node top = NODE_OTHER;
  bool have_memory = false;
  unsigned harts = 0;

  while (p + 4 <= end) {
    uint32_t token = be32(p);
    p += 4;
    if (token == FDT_BEGIN_NODE) {
      const char *name = (const char *)p;
      size_t length = strlen(name);
      p += (length + 1 + 3) & ~(size_t)3;
      depth++;
      if (depth == 2) {
        if (is_node(name, "memory"))
          top = NODE_MEMORY;
        else if (is_node(name, "cpus"))
          top = NODE_CPUS;
        else if (is_node(name, "chosen"))
          top = NODE_CHOSEN;
        else
          top = NODE_OTHER;
      } else if (depth == 3 && top == NODE_CPUS && starts_with(name, "cpu@")) {
        harts++;
      }
    } else if (token == FDT_END_NODE) {
      depth--;
      if (depth < 2)
        top = NODE_OTHER;
    } else if (token == FDT_PROP) {
      uint32_t length = be32(p);
      const char *name = strings + be32(p + 4);
      const uint8_t *value = p + 8;
      p = value + ((length + 3) & ~3u);
      if (depth == 1) {
        if (strcmp(name, "#address-cells") == 0 && length == 4)
          address_cells = be32(value);
        else if (strcmp(name, "#size-cells") == 0 && length == 4)
          size_cells = be32(value);
      } else if (depth == 2 && top == NODE_MEMORY && !have_memory && strcmp(name, "reg") == 0 &&
                 address_cells <= 2 && size_cells <= 2 &&
                 length >= 4 * (address_cells + size_cells)) {
        info->ram_base = read_cells(value, address_cells);
        info->ram_size_bytes = read_cells(value + 4 * address_cells, size_cells);
        have_memory = true;
      } else if (depth == 2 && top == NODE_CPUS && strcmp(name, "timebase-frequency") == 0 &&
                 (length == 4 || length == 8)) {
        info->timebase_hz = read_cells(value, length / 4);
      } else if (depth == 2 && top == NODE_CHOSEN && strcmp(name, "bootargs") == 0) {
        size_t n = length < BOOTARGS_MAX_BYTES ? length : BOOTARGS_MAX_BYTES - 1;
        memcpy(info->bootargs, value, n);
        info->bootargs[n] = '\0';
      }
    } else if (token == FDT_NOP) {
      continue;
    } else {
      break; /* FDT_END, or a token we do not know */
    }
  }
  if (harts > 0)
    info->hart_count = harts;
  return true;
}
