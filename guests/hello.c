/* Prints a greeting with what the device tree says about the machine, then
 * powers off. */
#include "runtime.h"

int main(void) {
  unsigned harts = boot_info.hart_count;
  printf("hello: %u hart%s, %lu MiB RAM at 0x%lx\n", harts, harts == 1 ? "" : "s",
         (unsigned long)(boot_info.ram_size_bytes >> 20), (unsigned long)boot_info.ram_base);
  if (boot_info.bootargs[0])
    printf("hello: bootargs \"%s\"\n", boot_info.bootargs);
  return 0;
}
