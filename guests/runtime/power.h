/* sifive_test: the virt board's power and reset control at TEST_BASE. */
#ifndef GUEST_POWER_H
#define GUEST_POWER_H

#include "platform.h"

#define TEST_PASS 0x5555 /* power off; QEMU exits with status 0 */
#define TEST_FAIL 0x3333 /* (code << 16) | TEST_FAIL: QEMU exits with status code */
#define TEST_RESET 0x7777

/* Hangs in wfi should the write not take effect. */
__attribute__((noreturn)) void power_off(void);
__attribute__((noreturn)) void exit_with_code(unsigned code);
__attribute__((noreturn)) void system_reset(void);

/* Parks the calling hart in wfi with every interrupt disabled (crt0.S). */
__attribute__((noreturn)) void park_forever(void);

#endif
