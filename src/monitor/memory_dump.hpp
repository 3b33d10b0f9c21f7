// Guest memory for the monitor: QMP pmemsave/memsave (to a file) and HMP's
// x/xp (formatted as QEMU's memory_dump). Virtual addresses go through the
// hart's MMU without side effects (Hart::translate_for_debug).
//
// Threads: main thread (reads hart state; guest RAM may change under it, as
// in QEMU).
#pragma once

#include <cstdint>
#include <string>

#include "base/error.hpp"
#include "machine/virt_machine.hpp"

namespace godwit {

// pmemsave: unmapped physical addresses read as zeros, as QEMU's unassigned
// memory does.
Status save_physical_memory(VirtMachine& machine, uint64_t address, uint64_t size, const std::string& path);
// memsave: fails, in QEMU's words, on an address the hart cannot translate.
Status save_virtual_memory(VirtMachine& machine, unsigned cpu, uint64_t address, uint64_t size,
                           const std::string& path);

struct DumpFormat {
  uint64_t count = 1;
  char format = 'x';  // x d u o c i
  unsigned size = 4;  // 1 2 4 8 bytes (b h w g)
};

// "/[count][format][size]" as HMP's x takes it; errors in QEMU's words.
Result<DumpFormat> parse_dump_format(std::string_view text);

// QEMU's memory_dump: "0000000080000000: 0x00000297 0x02828613\n" ...
std::string dump_memory(VirtMachine& machine, unsigned cpu, uint64_t address, const DumpFormat& format,
                        bool physical);

}  // namespace godwit
