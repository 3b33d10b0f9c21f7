/* The guest runtime: everything a guest includes. A guest defines main(), run
 * on hart 0 once the device tree is read; returning 0 powers off, any other
 * value exits with that code (power.h). Other harts run secondary_main(hart)
 * if the guest defines it, then park in wfi. */
#ifndef GUEST_RUNTIME_H
#define GUEST_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bootargs.h"
#include "clint.h"
#include "fdt.h"
#include "platform.h"
#include "plic.h"
#include "power.h"
#include "print.h"
#include "rtstring.h"
#include "trap.h"
#include "uart.h"

int main(void);
void secondary_main(unsigned long hart);

/* Harts the runtime started: the device tree's count, at most MAX_HARTS. */
unsigned active_hart_count(void);

/* Called from crt0.S. */
void boot_hart0(const void *fdt);
void boot_secondary(unsigned long hart);

#endif
