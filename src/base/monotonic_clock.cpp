#include "base/monotonic_clock.hpp"

#include "base/file_io.hpp"

namespace godwit {

uint64_t host_boot_id_hash() {
  static const uint64_t hash = [] {
    auto text = read_file("/proc/sys/kernel/random/boot_id");
    if (!text) return uint64_t{0};
    uint64_t h = 1469598103934665603u;  // FNV-1a
    for (uint8_t byte : *text) h = (h ^ byte) * 1099511628211u;
    return h;
  }();
  return hash;
}

}  // namespace godwit
