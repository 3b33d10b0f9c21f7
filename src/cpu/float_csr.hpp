// fflags, frm and fcsr (unprivileged spec 20.2), and mstatus.FS, which
// gates them and every F/D instruction (privileged spec 3.1.6.6): with FS
// Off they are illegal; whatever changes them makes FS Dirty.
#pragma once

#include <cstdint>

#include "cpu/csr_defs.hpp"
#include "cpu/hart_state.hpp"

namespace godwit {

inline constexpr uint32_t kFflagsMask = 0x1f;
inline constexpr unsigned kFrmShift = 5;
inline constexpr uint32_t kFcsrMask = 0xff;

inline bool is_float_csr(uint16_t number) { return number >= csr::kFflags && number <= csr::kFcsr; }

inline bool float_enabled(const HartState& s) { return (s.mstatus & mstatus::kFS) != 0; }

inline void mark_float_dirty(HartState& s) { s.mstatus |= mstatus::kFSDirty; }

inline uint64_t read_float_csr(const HartState& s, uint16_t number) {
  switch (number) {
    case csr::kFflags: return s.fcsr & kFflagsMask;
    case csr::kFrm: return s.fcsr >> kFrmShift;
    default: return s.fcsr;
  }
}

// frm holds any 3-bit value; a reserved one (5, 6, 7) makes instructions
// that use the dynamic mode illegal, not the write.
inline void write_float_csr(HartState& s, uint16_t number, uint64_t value) {
  switch (number) {
    case csr::kFflags: s.fcsr = (s.fcsr & ~kFflagsMask) | (static_cast<uint32_t>(value) & kFflagsMask); break;
    case csr::kFrm: s.fcsr = (s.fcsr & kFflagsMask) | ((static_cast<uint32_t>(value) & 7) << kFrmShift); break;
    default: s.fcsr = static_cast<uint32_t>(value) & kFcsrMask; break;
  }
  mark_float_dirty(s);
}

}  // namespace godwit
