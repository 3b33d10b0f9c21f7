// The interface every memory-mapped device implements: what the address
// space dispatches an access in a device's window to (QEMU's
// MemoryRegionOps), so it lives with the address space, below the devices.
//
// Threads: read() and write() are called on hart threads (any hart, several at
// once), and by the monitor for debug accesses, so a device guards its own state.
#pragma once

#include <cstdint>
#include <string_view>

namespace godwit {

class MmioDevice {
 public:
  virtual ~MmioDevice() = default;

  // A short name for diagnostics, e.g. "uart0" or "plic".
  virtual std::string_view name() const = 0;

  // `offset` is relative to the device's base; `size` is 1, 2, 4 or 8 and the
  // access is naturally aligned (the CPU splits misaligned accesses). Reads
  // return the value zero-extended; unimplemented registers read as zero and
  // ignore writes, as QEMU's devices do.
  virtual uint64_t read(uint64_t offset, unsigned size) = 0;
  virtual void write(uint64_t offset, unsigned size, uint64_t value) = 0;
};

}  // namespace godwit
