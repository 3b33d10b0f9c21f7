// The F and D extensions (unprivileged spec chapters 20 and 21): loads and
// stores of f registers, and the operations of float_ops.hpp on them.
//
// Every instruction first checks mstatus.FS (Off: illegal instruction) and,
// if it has an rm field, resolves the rounding mode: rm 7 reads frm, and a
// reserved frm (5, 6, 7) makes the instruction illegal, as QEMU does for
// every instruction with an rm field, exact conversions included (decode
// already refused a static rm of 5 or 6). Writing an f register or raising
// a flag makes FS Dirty.
//
// NaN boxing (20.2): a single lives in the low 32 bits of an f register
// with the upper 32 bits all ones; an operand that is not so boxed reads as
// the canonical NaN. Transfers (flw/fsw, fmv.x.w/fmv.w.x) move the raw low
// 32 bits without looking at the upper ones.
#include "cpu/csr_defs.hpp"
#include "cpu/execute.hpp"
#include "cpu/float_csr.hpp"
#include "cpu/float_ops.hpp"
#include "cpu/hart.hpp"
#include "cpu/memory_access.hpp"

namespace godwit {
namespace {

using fp::F32;
using fp::F64;
using fp::RoundingMode;

constexpr uint64_t kBoxUpper = 0xffffffff00000000ull;
constexpr unsigned kDynamicRounding = 7;

uint64_t sext32(uint64_t value) { return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(value))); }

template <class F>
typename F::Bits read(const HartState& s, unsigned index) {
  const uint64_t value = s.f[index];
  if constexpr (sizeof(typename F::Bits) == 8) {
    return value;
  } else {
    return (value & kBoxUpper) == kBoxUpper ? static_cast<uint32_t>(value) : F32::kCanonicalNaN;
  }
}

template <class F>
void write(HartState& s, unsigned index, typename F::Bits value) {
  if constexpr (sizeof(typename F::Bits) == 8) {
    s.f[index] = value;
  } else {
    s.f[index] = kBoxUpper | value;
  }
  mark_float_dirty(s);
}

// FS and the rounding mode; false when the instruction is illegal.
bool prepare(const HartState& s, const DecodedInstruction& d, bool uses_rounding, RoundingMode& rm) {
  rm = RoundingMode::kNearestEven;
  if (!float_enabled(s)) return false;
  if (!uses_rounding) return true;
  unsigned field = float_rounding_field(d);
  if (field == kDynamicRounding) field = s.fcsr >> kFrmShift;
  if (field > static_cast<unsigned>(RoundingMode::kNearestMaxMagnitude)) return false;
  rm = static_cast<RoundingMode>(field);
  return true;
}

void accrue(HartState& s, unsigned flags) {
  if (flags == 0) return;
  s.fcsr |= flags;
  mark_float_dirty(s);
}

}  // namespace

// `body` sees s (HartState), d, rm and flags.
#define GODWIT_FLOAT(name, uses_rounding, body)                                     \
  uint64_t Execute::name(Hart& h, const DecodedInstruction& d, uint64_t pc) {       \
    HartState& s = h.state_;                                                        \
    RoundingMode rm;                                                                \
    if (!prepare(s, d, uses_rounding, rm)) return illegal(h, d, pc);                \
    unsigned flags = 0;                                                             \
    body;                                                                           \
    accrue(s, flags);                                                               \
    return pc + d.length;                                                           \
  }

#define GODWIT_FLOAT_LOAD(name, F, type)                                            \
  uint64_t Execute::name(Hart& h, const DecodedInstruction& d, uint64_t pc) {       \
    HartState& s = h.state_;                                                        \
    if (!float_enabled(s)) return illegal(h, d, pc);                                \
    const uint64_t va = s.x[d.rs1] + static_cast<uint64_t>(d.imm);                  \
    type value;                                                                     \
    if (!h.load_fast(va, value)) {                                                  \
      s.pc = pc; /* the trap epc, should the access fault */                        \
      uint64_t wide;                                                                \
      if (!h.load_slow(va, sizeof(type), wide)) return s.pc;                        \
      value = static_cast<type>(wide);                                              \
    }                                                                               \
    write<F>(s, d.rd, value);                                                       \
    return pc + d.length;                                                           \
  }

#define GODWIT_FLOAT_STORE(name, type)                                              \
  uint64_t Execute::name(Hart& h, const DecodedInstruction& d, uint64_t pc) {       \
    HartState& s = h.state_;                                                        \
    if (!float_enabled(s)) return illegal(h, d, pc);                                \
    const uint64_t va = s.x[d.rs1] + static_cast<uint64_t>(d.imm);                  \
    const auto value = static_cast<type>(s.f[d.rs2]);                               \
    if (!h.store_fast(va, value)) {                                                 \
      s.pc = pc;                                                                    \
      if (!h.store_slow(va, sizeof(type), value)) return s.pc;                      \
    }                                                                               \
    return pc + d.length;                                                           \
  }

GODWIT_FLOAT_LOAD(flw, F32, uint32_t)
GODWIT_FLOAT_LOAD(fld, F64, uint64_t)
GODWIT_FLOAT_STORE(fsw, uint32_t)
GODWIT_FLOAT_STORE(fsd, uint64_t)

// The operations both formats have; S is the suffix, F the format.
#define GODWIT_FLOAT_OPERATIONS(S, F)                                                                          \
  GODWIT_FLOAT(fmadd_##S, true,                                                                                \
               write<F>(s, d.rd,                                                                               \
                        fp::muladd<F>(read<F>(s, d.rs1), read<F>(s, d.rs2), read<F>(s, float_rs3(d)), false,    \
                                      false, rm, flags)))                                                      \
  GODWIT_FLOAT(fmsub_##S, true,                                                                                \
               write<F>(s, d.rd,                                                                               \
                        fp::muladd<F>(read<F>(s, d.rs1), read<F>(s, d.rs2), read<F>(s, float_rs3(d)), false,    \
                                      true, rm, flags)))                                                       \
  GODWIT_FLOAT(fnmsub_##S, true,                                                                               \
               write<F>(s, d.rd,                                                                               \
                        fp::muladd<F>(read<F>(s, d.rs1), read<F>(s, d.rs2), read<F>(s, float_rs3(d)), true,     \
                                      false, rm, flags)))                                                      \
  GODWIT_FLOAT(fnmadd_##S, true,                                                                               \
               write<F>(s, d.rd,                                                                               \
                        fp::muladd<F>(read<F>(s, d.rs1), read<F>(s, d.rs2), read<F>(s, float_rs3(d)), true,     \
                                      true, rm, flags)))                                                       \
  GODWIT_FLOAT(fadd_##S, true, write<F>(s, d.rd, fp::add<F>(read<F>(s, d.rs1), read<F>(s, d.rs2), rm, flags)))  \
  GODWIT_FLOAT(fsub_##S, true, write<F>(s, d.rd, fp::sub<F>(read<F>(s, d.rs1), read<F>(s, d.rs2), rm, flags)))  \
  GODWIT_FLOAT(fmul_##S, true, write<F>(s, d.rd, fp::mul<F>(read<F>(s, d.rs1), read<F>(s, d.rs2), rm, flags)))  \
  GODWIT_FLOAT(fdiv_##S, true, write<F>(s, d.rd, fp::div<F>(read<F>(s, d.rs1), read<F>(s, d.rs2), rm, flags)))  \
  GODWIT_FLOAT(fsqrt_##S, true, write<F>(s, d.rd, fp::sqrt<F>(read<F>(s, d.rs1), rm, flags)))                  \
  GODWIT_FLOAT(fsgnj_##S, false,                                                                               \
               write<F>(s, d.rd, (read<F>(s, d.rs1) & ~F::kSign) | (read<F>(s, d.rs2) & F::kSign)))            \
  GODWIT_FLOAT(fsgnjn_##S, false,                                                                              \
               write<F>(s, d.rd, (read<F>(s, d.rs1) & ~F::kSign) | (~read<F>(s, d.rs2) & F::kSign)))           \
  GODWIT_FLOAT(fsgnjx_##S, false, write<F>(s, d.rd, read<F>(s, d.rs1) ^ (read<F>(s, d.rs2) & F::kSign)))       \
  GODWIT_FLOAT(fmin_##S, false, write<F>(s, d.rd, fp::min<F>(read<F>(s, d.rs1), read<F>(s, d.rs2), flags)))    \
  GODWIT_FLOAT(fmax_##S, false, write<F>(s, d.rd, fp::max<F>(read<F>(s, d.rs1), read<F>(s, d.rs2), flags)))    \
  GODWIT_FLOAT(fcvt_w_##S, true, s.x[d.rd] = sext32(fp::to_integer<F>(read<F>(s, d.rs1), true, 32, rm, flags))) \
  GODWIT_FLOAT(fcvt_wu_##S, true,                                                                              \
               s.x[d.rd] = sext32(fp::to_integer<F>(read<F>(s, d.rs1), false, 32, rm, flags)))                 \
  GODWIT_FLOAT(fcvt_l_##S, true, s.x[d.rd] = fp::to_integer<F>(read<F>(s, d.rs1), true, 64, rm, flags))        \
  GODWIT_FLOAT(fcvt_lu_##S, true, s.x[d.rd] = fp::to_integer<F>(read<F>(s, d.rs1), false, 64, rm, flags))      \
  GODWIT_FLOAT(feq_##S, false, s.x[d.rd] = fp::eq<F>(read<F>(s, d.rs1), read<F>(s, d.rs2), flags) ? 1 : 0)     \
  GODWIT_FLOAT(flt_##S, false, s.x[d.rd] = fp::lt<F>(read<F>(s, d.rs1), read<F>(s, d.rs2), flags) ? 1 : 0)     \
  GODWIT_FLOAT(fle_##S, false, s.x[d.rd] = fp::le<F>(read<F>(s, d.rs1), read<F>(s, d.rs2), flags) ? 1 : 0)     \
  GODWIT_FLOAT(fclass_##S, false, s.x[d.rd] = fp::classify<F>(read<F>(s, d.rs1)))

GODWIT_FLOAT_OPERATIONS(s, F32)
GODWIT_FLOAT_OPERATIONS(d, F64)
#undef GODWIT_FLOAT_OPERATIONS

// Integers to floats: the W forms take the low 32 bits, extended by the
// signedness of the conversion.
GODWIT_FLOAT(fcvt_s_w, true, write<F32>(s, d.rd, fp::from_integer<F32>(sext32(s.x[d.rs1]), true, rm, flags)))
GODWIT_FLOAT(fcvt_s_wu, true,
             write<F32>(s, d.rd, fp::from_integer<F32>(static_cast<uint32_t>(s.x[d.rs1]), false, rm, flags)))
GODWIT_FLOAT(fcvt_s_l, true, write<F32>(s, d.rd, fp::from_integer<F32>(s.x[d.rs1], true, rm, flags)))
GODWIT_FLOAT(fcvt_s_lu, true, write<F32>(s, d.rd, fp::from_integer<F32>(s.x[d.rs1], false, rm, flags)))
GODWIT_FLOAT(fcvt_d_w, true, write<F64>(s, d.rd, fp::from_integer<F64>(sext32(s.x[d.rs1]), true, rm, flags)))
GODWIT_FLOAT(fcvt_d_wu, true,
             write<F64>(s, d.rd, fp::from_integer<F64>(static_cast<uint32_t>(s.x[d.rs1]), false, rm, flags)))
GODWIT_FLOAT(fcvt_d_l, true, write<F64>(s, d.rd, fp::from_integer<F64>(s.x[d.rs1], true, rm, flags)))
GODWIT_FLOAT(fcvt_d_lu, true, write<F64>(s, d.rd, fp::from_integer<F64>(s.x[d.rs1], false, rm, flags)))

GODWIT_FLOAT(fcvt_s_d, true, write<F32>(s, d.rd, fp::f64_to_f32(read<F64>(s, d.rs1), rm, flags)))
GODWIT_FLOAT(fcvt_d_s, true, write<F64>(s, d.rd, fp::f32_to_f64(read<F32>(s, d.rs1), flags)))

// Transfers: bits move unchanged; fmv.x.w sign-extends the low 32.
GODWIT_FLOAT(fmv_x_w, false, s.x[d.rd] = sext32(s.f[d.rs1]))
GODWIT_FLOAT(fmv_w_x, false, write<F32>(s, d.rd, static_cast<uint32_t>(s.x[d.rs1])))
GODWIT_FLOAT(fmv_x_d, false, s.x[d.rd] = s.f[d.rs1])
GODWIT_FLOAT(fmv_d_x, false, write<F64>(s, d.rd, s.x[d.rs1]))

#undef GODWIT_FLOAT
#undef GODWIT_FLOAT_LOAD
#undef GODWIT_FLOAT_STORE

}  // namespace godwit
