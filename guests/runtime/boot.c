/* The C side of start-up (crt0.S has the assembly side). */
#include "runtime.h"

/* In .data (crt0.S): hart 0 clears .bss while the others read this. */
extern volatile unsigned boot_released;

__attribute__((weak)) void secondary_main(unsigned long hart) { (void)hart; }

unsigned active_hart_count(void) {
  return boot_info.hart_count < MAX_HARTS ? boot_info.hart_count : MAX_HARTS;
}

void boot_hart0(const void *fdt) {
  fdt_read_boot_info(fdt, &boot_info);
  uart_init();
  __atomic_store_n(&boot_released, 1, __ATOMIC_RELEASE);
  /* The flag store must be visible before the IPI that wakes a hart to read it. */
  __asm__ volatile("fence w, o" : : : "memory");
  for (unsigned hart = 1; hart < active_hart_count(); hart++)
    clint_send_ipi(hart);
  int code = main();
  if (code == 0)
    power_off();
  exit_with_code((unsigned)code);
}

void boot_secondary(unsigned long hart) {
  secondary_main(hart);
  park_forever();
}
