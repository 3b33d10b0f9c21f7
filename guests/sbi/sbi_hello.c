/* An S-mode payload for OpenSBI's fw_dynamic (-bios default -kernel
 * sbi_hello.elf): it prints through the SBI debug console, reads the device
 * tree the firmware passes on, starts every other hart through SBI HSM (each
 * prints a line and stops again), then powers off through SBI SRST. Every
 * line it prints is the same on QEMU and on godwit for the same options.
 * SBI calls as in the RISC-V SBI specification v2.0. */
#include <stdbool.h>
#include <stdint.h>

#include "fdt.h"
#include "rtstring.h"

#define SBI_EXT_BASE 0x10
#define SBI_EXT_HSM 0x48534d
#define SBI_EXT_SRST 0x53525354
#define SBI_EXT_DBCN 0x4442434e
#define SBI_EXT_LEGACY_PUTCHAR 0x01

#define BASE_GET_SPEC_VERSION 0
#define BASE_PROBE_EXTENSION 3
#define HSM_HART_START 0
#define HSM_HART_STOP 1
#define HSM_HART_GET_STATUS 2
#define HSM_STATUS_STOPPED 1
#define DBCN_CONSOLE_WRITE 0
#define SRST_SHUTDOWN 0
#define SRST_REASON_NONE 0
#define SRST_REASON_FAILURE 1

#define MAX_HARTS 8

struct sbiret {
  long error;
  long value;
};

static struct sbiret sbi_call(unsigned long eid, unsigned long fid, unsigned long arg0, unsigned long arg1,
                              unsigned long arg2) {
  register unsigned long a0 __asm__("a0") = arg0;
  register unsigned long a1 __asm__("a1") = arg1;
  register unsigned long a2 __asm__("a2") = arg2;
  register unsigned long a6 __asm__("a6") = fid;
  register unsigned long a7 __asm__("a7") = eid;
  __asm__ volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a2), "r"(a6), "r"(a7) : "memory");
  return (struct sbiret){(long)a0, (long)a1};
}

static bool have_dbcn;

/* One line at a time, so lines of different harts do not interleave. */
static void put(const char *text) {
  size_t length = strlen(text);
  if (!have_dbcn) {
    for (size_t i = 0; i < length; i++) sbi_call(SBI_EXT_LEGACY_PUTCHAR, 0, (unsigned char)text[i], 0, 0);
    return;
  }
  while (length > 0) {
    struct sbiret ret = sbi_call(SBI_EXT_DBCN, DBCN_CONSOLE_WRITE, length, (uintptr_t)text, 0);
    if (ret.error != 0 || ret.value <= 0) return;
    text += ret.value;
    length -= (size_t)ret.value;
  }
}

/* A line builder: text and decimal numbers. */
struct line {
  char text[640];
  size_t length;
};

static void add(struct line *line, const char *text) {
  while (*text && line->length + 1 < sizeof line->text) line->text[line->length++] = *text++;
  line->text[line->length] = '\0';
}

static void add_number(struct line *line, unsigned long value) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = (char)('0' + value % 10);
    value /= 10;
  } while (value != 0);
  char text[24];
  for (int i = 0; i < n; i++) text[i] = digits[n - 1 - i];
  text[n] = '\0';
  add(line, text);
}

static void shutdown(unsigned long reason) {
  sbi_call(SBI_EXT_SRST, 0, SRST_SHUTDOWN, reason, 0);
  put("sbi_hello: system_reset returned\n");
  for (;;) __asm__ volatile("wfi");
}

static volatile int hart_reported[MAX_HARTS];

void secondary_entry(void);

void payload_secondary(unsigned long hartid, unsigned long opaque) {
  struct line line = {.length = 0};
  add(&line, "sbi_hello: hart ");
  add_number(&line, hartid);
  add(&line, " started through HSM with opaque ");
  add_number(&line, opaque);
  add(&line, "\n");
  put(line.text);
  __atomic_store_n(&hart_reported[hartid], 1, __ATOMIC_RELEASE);
  sbi_call(SBI_EXT_HSM, HSM_HART_STOP, 0, 0, 0);
  for (;;) __asm__ volatile("wfi");
}

static bool probe(unsigned long extension) {
  struct sbiret ret = sbi_call(SBI_EXT_BASE, BASE_PROBE_EXTENSION, extension, 0, 0);
  return ret.error == 0 && ret.value != 0;
}

extern char __bss_start[], __bss_end[];

void payload_main(unsigned long hartid, const void *fdt) {
  memset(__bss_start, 0, (size_t)(__bss_end - __bss_start));
  have_dbcn = probe(SBI_EXT_DBCN);
  struct line line = {.length = 0};
  add(&line, "sbi_hello: boot hart ");
  add_number(&line, hartid);
  add(&line, " in S-mode\n");
  put(line.text);

  struct sbiret version = sbi_call(SBI_EXT_BASE, BASE_GET_SPEC_VERSION, 0, 0, 0);
  line.length = 0;
  add(&line, "sbi_hello: SBI specification ");
  add_number(&line, ((unsigned long)version.value >> 24) & 0x7f);
  add(&line, ".");
  add_number(&line, (unsigned long)version.value & 0xffffff);
  add(&line, have_dbcn ? ", DBCN" : ", no DBCN");
  add(&line, probe(SBI_EXT_HSM) ? ", HSM" : ", no HSM");
  add(&line, probe(SBI_EXT_SRST) ? ", SRST\n" : ", no SRST\n");
  put(line.text);

  struct boot_info info;
  if (!fdt_read_boot_info(fdt, &info)) {
    put("sbi_hello: no device tree in a1\n");
    shutdown(SRST_REASON_FAILURE);
  }
  line.length = 0;
  add(&line, "sbi_hello: bootargs \"");
  add(&line, info.bootargs);
  add(&line, "\", ");
  add_number(&line, info.hart_count);
  add(&line, " harts, ");
  add_number(&line, info.ram_size_bytes >> 20);
  add(&line, " MiB\n");
  put(line.text);

  unsigned harts = info.hart_count < MAX_HARTS ? info.hart_count : MAX_HARTS;
  for (unsigned hart = 0; hart < harts; hart++) {
    if (hart == hartid) continue;
    struct sbiret ret = sbi_call(SBI_EXT_HSM, HSM_HART_START, hart, (uintptr_t)secondary_entry, 100 + hart);
    if (ret.error != 0) {
      line.length = 0;
      add(&line, "sbi_hello: hart_start of hart ");
      add_number(&line, hart);
      add(&line, " failed\n");
      put(line.text);
      shutdown(SRST_REASON_FAILURE);
    }
    while (!__atomic_load_n(&hart_reported[hart], __ATOMIC_ACQUIRE)) {
    }
    /* Wait for it to stop again, so the next hart's line comes after. */
    while (sbi_call(SBI_EXT_HSM, HSM_HART_GET_STATUS, hart, 0, 0).value != HSM_STATUS_STOPPED) {
    }
  }
  line.length = 0;
  add(&line, "sbi_hello: ");
  add_number(&line, harts);
  add(&line, " harts ran; shutting down through SRST\n");
  put(line.text);
  shutdown(SRST_REASON_NONE);
}
