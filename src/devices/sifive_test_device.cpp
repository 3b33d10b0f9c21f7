#include "devices/sifive_test_device.hpp"

namespace godwit {

uint64_t SifiveTest::read(uint64_t, unsigned) { return 0; }

void SifiveTest::write(uint64_t offset, unsigned size, uint64_t value) {
  // QEMU's sifive_test accepts 2..4-byte accesses and decodes only offset 0.
  if (offset != 0 || size < 2 || size > 4) return;
  const uint32_t status = value & 0xffff;
  const int code = static_cast<int>((value >> 16) & 0xffff);
  switch (status) {
    case kFail:
      power_.request_poweroff(code);
      break;
    case kPass:
      power_.request_poweroff(0);
      break;
    case kReset:
      power_.request_reset();
      break;
    default:
      break;  // QEMU logs a guest error and ignores it
  }
}

}  // namespace godwit
