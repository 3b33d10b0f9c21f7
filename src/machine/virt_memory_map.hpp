// The address map and interrupt numbers of QEMU's riscv `virt` board
// (hw/riscv/virt.c), for the devices godwit implements.
#pragma once

#include <cstdint>

namespace godwit::virt {

inline constexpr uint64_t kMromBase = 0x1000;  // reset vector
inline constexpr uint64_t kMromSize = 0xf000;
inline constexpr uint64_t kTestBase = 0x100000;  // sifive_test
inline constexpr uint64_t kTestSize = 0x1000;
inline constexpr uint64_t kRtcBase = 0x101000;  // goldfish RTC
inline constexpr uint64_t kRtcSize = 0x1000;
inline constexpr uint64_t kClintBase = 0x2000000;
inline constexpr uint64_t kClintSize = 0x10000;
inline constexpr uint64_t kPlicBase = 0xc000000;
inline constexpr uint64_t kPlicSize = 0x600000;  // sized for QEMU's 512-hart maximum
inline constexpr uint64_t kUartBase = 0x10000000;
inline constexpr uint64_t kUartSize = 0x100;
inline constexpr uint64_t kVirtioBase = 0x10001000;
inline constexpr uint64_t kVirtioStride = 0x1000;
inline constexpr unsigned kVirtioCount = 8;
inline constexpr uint64_t kDramBase = 0x80000000;

inline constexpr unsigned kUartIrq = 10;
inline constexpr unsigned kRtcIrq = 11;
inline constexpr unsigned kVirtioIrqFirst = 1;  // transports 0..7 use IRQs 1..8
inline constexpr unsigned kPlicSources = 95;    // riscv,ndev
inline constexpr unsigned kUartClockHz = 3686400;

inline constexpr unsigned kMaxHarts = 8;

}  // namespace godwit::virt
