// The Sdtrig trigger module (RISC-V debug spec 1.0, chapter 5) as QEMU's
// rv64 cpu has it: two address-match triggers, each of type 2 (mcontrol) or
// type 6 (mcontrol6), that raise a breakpoint exception before an
// instruction at, or a load or store touching, the address in tdata2 in the
// privilege modes the trigger names. tinfo offers both types; a trigger
// resets to type 2 matching nothing.
//
// What is fixed (WARL), as in QEMU: action 0 (breakpoint exception), match
// 0 (equal), timing 0 (before), no chain, select 0 (address), hit 0, dmode
// 0; a write of tdata1 with another type is ignored; tdata3 (textra) reads
// zero. QEMU does not apply debug spec 1.0's rule that M-mode triggers stay
// quiet while mstatus.MIE is 0 (without tcontrol), and neither does this.
// A load or store matches when it touches the byte at tdata2, whatever the
// size field says (the size is kept for readback).
//
// Plain data plus pure functions, so the CSR code, the hart's slow paths and
// the tests share one definition. Internal to src/cpu.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

namespace godwit {

struct DebugTriggers {
  static constexpr unsigned kCount = 2;  // QEMU's RV_MAX_TRIGGERS
  uint64_t tselect;
  std::array<uint64_t, kCount> tdata1;
  std::array<uint64_t, kCount> tdata2;
};

namespace trigger {

inline constexpr uint64_t kLoad = 1ull << 0;
inline constexpr uint64_t kStore = 1ull << 1;
inline constexpr uint64_t kExecute = 1ull << 2;
inline constexpr unsigned kTypeShift = 60;
inline constexpr uint64_t kTypeMcontrol = 2;
inline constexpr uint64_t kTypeMcontrol6 = 6;
// tinfo: the types every trigger supports (version field 0, as QEMU).
inline constexpr uint64_t kTinfo = (1ull << kTypeMcontrol) | (1ull << kTypeMcontrol6);

// tdata1 of a trigger after reset: type 2, no mode and no access enabled.
constexpr uint64_t reset_tdata1() { return kTypeMcontrol << kTypeShift; }

// What tdata1 holds after a write of `value` over `old` (WARL).
uint64_t write_tdata1(uint64_t old, uint64_t value);

// Whether `tdata1` is a value write_tdata1 can produce (for loaded state).
bool valid_tdata1(uint64_t tdata1);

// Whether some trigger can fire on an access of kind `kind` (kLoad, kStore
// or kExecute) in some mode: the hart then sends such accesses through its
// slow paths, where match() is asked.
bool armed(const DebugTriggers& triggers, uint64_t kind);

// The xtval of the breakpoint an access of `kind` to [address, address +
// size_bytes) raises in privilege `privilege` (0 U, 1 S, 3 M), or nullopt.
std::optional<uint64_t> match(const DebugTriggers& triggers, uint64_t kind, unsigned privilege, uint64_t address,
                              unsigned size_bytes);

}  // namespace trigger
}  // namespace godwit
