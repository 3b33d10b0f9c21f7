// IEEE 754 binary32 and binary64 arithmetic as the RISC-V F and D
// extensions define it (unprivileged spec chapters 20 and 21), on raw bits.
//
// Everything is computed in integers, not on the host FPU: each operation
// forms its exact result (or a significand wide enough to hold its round
// and sticky bits) and one function, round_pack, rounds it in any of the five
// RISC-V modes. The host has no round-to-nearest-max-magnitude mode (RMM),
// and fused multiply-add needs a product wider than any host format; with
// one rounding path for all modes and operations there is nothing to fix up
// and no host rounding state (fesetround) to guard against the compiler
// reordering. Results are bit-exact and do not depend on the host.
//
// RISC-V rules followed here:
// - Tininess is detected after rounding; underflow is raised only when the
//   result is tiny and inexact.
// - A NaN result is always the canonical NaN (positive, quiet bit only);
//   payloads never propagate. Signaling NaN operands raise invalid.
// - fmin/fmax are IEEE 754-2019 minimumNumber/maximumNumber (-0 < +0; one
//   NaN operand gives the other operand; two give the canonical NaN).
// - Conversions to integers saturate; NaN converts to the largest positive
//   value. Out of range raises invalid only, not inexact.
// - inf * 0 in a fused multiply-add raises invalid even when the addend is
//   a quiet NaN.
//
// Flags accumulate: each function ORs what it raised into `flags` (fflags
// bit layout).
#pragma once

#include <cstdint>

namespace godwit::fp {

enum class RoundingMode : uint8_t { kNearestEven = 0, kTowardZero = 1, kDown = 2, kUp = 3, kNearestMaxMagnitude = 4 };

// fflags bits (unprivileged spec 20.2).
namespace flag {
inline constexpr unsigned kInexact = 1;
inline constexpr unsigned kUnderflow = 2;
inline constexpr unsigned kOverflow = 4;
inline constexpr unsigned kDivideByZero = 8;
inline constexpr unsigned kInvalid = 16;
}  // namespace flag

template <unsigned kExponentBits, unsigned kFractionBits, class BitsType>
struct Format {
  using Bits = BitsType;
  static constexpr unsigned kExponent = kExponentBits;
  static constexpr unsigned kFraction = kFractionBits;
  static constexpr int kBias = (1 << (kExponentBits - 1)) - 1;
  static constexpr unsigned kMaxExponent = (1u << kExponentBits) - 1;  // inf and NaN
  static constexpr Bits kSign = Bits{1} << (kExponentBits + kFractionBits);
  static constexpr Bits kFractionMask = (Bits{1} << kFractionBits) - 1;
  static constexpr Bits kQuietBit = Bits{1} << (kFractionBits - 1);
  static constexpr Bits kInfinity = Bits{kMaxExponent} << kFractionBits;
  static constexpr Bits kCanonicalNaN = kInfinity | kQuietBit;
};

using F32 = Format<8, 23, uint32_t>;
using F64 = Format<11, 52, uint64_t>;

template <class F>
typename F::Bits add(typename F::Bits a, typename F::Bits b, RoundingMode rm, unsigned& flags);
template <class F>
typename F::Bits sub(typename F::Bits a, typename F::Bits b, RoundingMode rm, unsigned& flags);
template <class F>
typename F::Bits mul(typename F::Bits a, typename F::Bits b, RoundingMode rm, unsigned& flags);
template <class F>
typename F::Bits div(typename F::Bits a, typename F::Bits b, RoundingMode rm, unsigned& flags);
template <class F>
typename F::Bits sqrt(typename F::Bits a, RoundingMode rm, unsigned& flags);

// (a * b) + c with one rounding; negate_product and negate_addend give
// fmsub (-c), fnmsub (-(a*b)) and fnmadd (both).
template <class F>
typename F::Bits muladd(typename F::Bits a, typename F::Bits b, typename F::Bits c, bool negate_product,
                        bool negate_addend, RoundingMode rm, unsigned& flags);

template <class F>
typename F::Bits min(typename F::Bits a, typename F::Bits b, unsigned& flags);
template <class F>
typename F::Bits max(typename F::Bits a, typename F::Bits b, unsigned& flags);

// feq is quiet (invalid only for signaling NaNs); flt and fle signal on any NaN.
template <class F>
bool eq(typename F::Bits a, typename F::Bits b, unsigned& flags);
template <class F>
bool lt(typename F::Bits a, typename F::Bits b, unsigned& flags);
template <class F>
bool le(typename F::Bits a, typename F::Bits b, unsigned& flags);

// The fclass mask: bit 0 -inf, 1 negative normal, 2 negative subnormal,
// 3 -0, 4 +0, 5 positive subnormal, 6 positive normal, 7 +inf, 8 signaling
// NaN, 9 quiet NaN.
template <class F>
unsigned classify(typename F::Bits a);

// To an integer of `width_bits` (32 or 64), signed or not, saturating. The
// result is the integer's bits zero-extended to 64 (the W forms sign-extend
// it themselves).
template <class F>
uint64_t to_integer(typename F::Bits a, bool is_signed, unsigned width_bits, RoundingMode rm, unsigned& flags);

// From a 64-bit integer, signed or not (the W forms pass the 32-bit value
// extended accordingly).
template <class F>
typename F::Bits from_integer(uint64_t value, bool is_signed, RoundingMode rm, unsigned& flags);

uint32_t f64_to_f32(uint64_t a, RoundingMode rm, unsigned& flags);
uint64_t f32_to_f64(uint32_t a, unsigned& flags);

template <class F>
constexpr bool is_nan(typename F::Bits a) {
  return (a & ~F::kSign) > F::kInfinity;
}
template <class F>
constexpr bool is_signaling_nan(typename F::Bits a) {
  return is_nan<F>(a) && (a & F::kQuietBit) == 0;
}

}  // namespace godwit::fp
