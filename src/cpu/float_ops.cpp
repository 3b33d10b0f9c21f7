// The arithmetic behind float_ops.hpp. Finite nonzero operands are unpacked
// to an integer significand and a power of two (value = sig * 2^exp), the
// exact result is formed in 128-bit integers, squeezed to 64 bits with the
// bits shifted out OR-ed into bit 0 ("jamming", which keeps round and sticky
// information intact as long as the rounding position stays above bit 1),
// and rounded once by round_pack.
#include "cpu/float_ops.hpp"

#include <bit>
#include <utility>

namespace godwit::fp {
namespace {

using u128 = unsigned __int128;

struct Unpacked {
  bool sign;
  int exp;       // value = sig * 2^exp
  uint64_t sig;  // normalized: most significant bit at F::kFraction
};

template <class F>
bool is_infinity(typename F::Bits a) {
  return (a & ~F::kSign) == F::kInfinity;
}
template <class F>
bool is_zero(typename F::Bits a) {
  return (a & ~F::kSign) == 0;
}
template <class F>
bool sign_of(typename F::Bits a) {
  return (a & F::kSign) != 0;
}

// Finite nonzero only.
template <class F>
Unpacked unpack(typename F::Bits a) {
  const unsigned field = static_cast<unsigned>((a >> F::kFraction) & F::kMaxExponent);
  uint64_t sig = a & F::kFractionMask;
  int exp;
  if (field == 0) {  // subnormal: normalize
    const int shift = std::countl_zero(sig) - (63 - static_cast<int>(F::kFraction));
    sig <<= shift;
    exp = 1 - F::kBias - static_cast<int>(F::kFraction) - shift;
  } else {
    sig |= uint64_t{1} << F::kFraction;
    exp = static_cast<int>(field) - F::kBias - static_cast<int>(F::kFraction);
  }
  return {sign_of<F>(a), exp, sig};
}

int bit_width128(u128 value) {
  const auto high = static_cast<uint64_t>(value >> 64);
  return high ? 128 - std::countl_zero(high) : 64 - std::countl_zero(static_cast<uint64_t>(value));
}

// value >> shift, with any nonzero bit shifted out OR-ed into bit 0.
u128 shift_right_jam(u128 value, int shift) {
  if (shift <= 0) return value;
  if (shift >= 128) return value != 0;
  return (value >> shift) | ((value & ((u128{1} << shift) - 1)) != 0);
}

// A nonzero 128-bit significand squeezed to 64 bits; `exp` follows.
uint64_t squeeze(u128 value, int& exp) {
  const int excess = bit_width128(value) - 64;
  if (excess <= 0) return static_cast<uint64_t>(value);
  exp += excess;
  return static_cast<uint64_t>(shift_right_jam(value, excess));
}

// Whether to add one to the kept bits `kept`, given the bits dropped
// (`dropped`, compared with `half`, the weight of the highest dropped bit).
bool round_up(RoundingMode rm, bool sign, uint64_t kept, u128 dropped, u128 half) {
  switch (rm) {
    case RoundingMode::kNearestEven: return dropped > half || (dropped == half && (kept & 1));
    case RoundingMode::kTowardZero: return false;
    case RoundingMode::kDown: return sign && dropped != 0;
    case RoundingMode::kUp: return !sign && dropped != 0;
    case RoundingMode::kNearestMaxMagnitude: return dropped >= half;
  }
  return false;
}

// `sig` >> `shift` rounded; `inexact` says whether bits were dropped. A
// shift past the width leaves only a sticky remainder.
uint64_t round_shift(uint64_t sig, int shift, RoundingMode rm, bool sign, bool& inexact) {
  if (shift <= 0) {
    inexact = false;
    return sig << -shift;
  }
  if (shift > 120) shift = 120;
  const u128 wide = sig;
  const uint64_t kept = static_cast<uint64_t>(wide >> shift);
  const u128 dropped = wide & ((u128{1} << shift) - 1);
  inexact = dropped != 0;
  return kept + (round_up(rm, sign, kept, dropped, u128{1} << (shift - 1)) ? 1 : 0);
}

template <class F>
typename F::Bits overflow_result(bool sign, RoundingMode rm) {
  using Bits = typename F::Bits;
  const Bits largest = F::kInfinity - 1;
  const bool to_infinity = rm == RoundingMode::kNearestEven || rm == RoundingMode::kNearestMaxMagnitude ||
                           (rm == RoundingMode::kDown && sign) || (rm == RoundingMode::kUp && !sign);
  return (sign ? F::kSign : 0) | (to_infinity ? F::kInfinity : largest);
}

// Rounds sign * sig * 2^exp (sig nonzero; bit 0 may be a jammed sticky bit)
// to F, raising inexact, underflow and overflow.
template <class F>
typename F::Bits round_pack(bool sign, int exp, uint64_t sig, RoundingMode rm, unsigned& flags) {
  using Bits = typename F::Bits;
  const int leading = std::countl_zero(sig);
  sig <<= leading;
  exp -= leading;  // now sig is in [2^63, 2^64)
  const int biased = exp + 63 + F::kBias;  // the biased exponent of the leading bit
  const int normal_shift = 63 - static_cast<int>(F::kFraction);
  const Bits sign_bit = sign ? F::kSign : 0;
  if (biased >= static_cast<int>(F::kMaxExponent)) {
    flags |= flag::kOverflow | flag::kInexact;
    return overflow_result<F>(sign, rm);
  }
  if (biased >= 1) {
    bool inexact;
    const uint64_t kept = round_shift(sig, normal_shift, rm, sign, inexact);
    if (inexact) flags |= flag::kInexact;
    // kept holds the implicit bit: adding it to the exponent field less one
    // carries into the exponent when rounding overflowed the significand.
    const Bits bits = (Bits(biased - 1) << F::kFraction) + Bits(kept);
    if ((bits >> F::kFraction) >= F::kMaxExponent) {
      flags |= flag::kOverflow | flag::kInexact;
      return overflow_result<F>(sign, rm);
    }
    return sign_bit | bits;
  }
  // Below the normal range. Tiny (after rounding) unless rounding to the
  // full precision with an unbounded exponent would reach the smallest
  // normal number.
  bool tiny = true;
  if (biased == 0) {
    bool ignored;
    tiny = round_shift(sig, normal_shift, rm, sign, ignored) < (uint64_t{2} << F::kFraction);
  }
  bool inexact;
  const uint64_t kept = round_shift(sig, normal_shift + 1 - biased, rm, sign, inexact);
  if (inexact) flags |= flag::kInexact | (tiny ? flag::kUnderflow : 0);
  return sign_bit | Bits(kept);  // a carry into bit kFraction is the smallest normal
}

template <class F>
typename F::Bits zero(bool sign) {
  return sign ? F::kSign : 0;
}

// The canonical NaN, raising invalid if any operand is a signaling NaN.
template <class F>
typename F::Bits nan_result(unsigned& flags, typename F::Bits a, typename F::Bits b = 0, typename F::Bits c = 0) {
  if (is_signaling_nan<F>(a) || is_signaling_nan<F>(b) || is_signaling_nan<F>(c)) flags |= flag::kInvalid;
  return F::kCanonicalNaN;
}

template <class F>
typename F::Bits invalid(unsigned& flags) {
  flags |= flag::kInvalid;
  return F::kCanonicalNaN;
}

// sign_a * wide_a * 2^exp_a + sign_b * wide_b * 2^exp_b, both nonzero and
// with their leading bits at the same position, at most bit 125.
template <class F>
typename F::Bits add_wide(bool sign_a, int exp_a, u128 wide_a, bool sign_b, int exp_b, u128 wide_b, RoundingMode rm,
                          unsigned& flags) {
  if (exp_a < exp_b) {
    std::swap(sign_a, sign_b);
    std::swap(exp_a, exp_b);
    std::swap(wide_a, wide_b);
  }
  wide_b = shift_right_jam(wide_b, exp_a - exp_b);
  bool sign = sign_a;
  u128 sum;
  if (sign_a == sign_b) {
    sum = wide_a + wide_b;
  } else if (wide_a >= wide_b) {
    sum = wide_a - wide_b;
  } else {
    sum = wide_b - wide_a;
    sign = sign_b;
  }
  // An exact zero sum of operands of opposite signs is +0, or -0 when
  // rounding down (IEEE 754 6.3).
  if (sum == 0) return zero<F>(rm == RoundingMode::kDown);
  int exp = exp_a;
  const uint64_t sig = squeeze(sum, exp);
  return round_pack<F>(sign, exp, sig, rm, flags);
}

template <class F>
typename F::Bits add_signed(typename F::Bits a, typename F::Bits b, bool negate_b, RoundingMode rm,
                            unsigned& flags) {
  if (is_nan<F>(a) || is_nan<F>(b)) return nan_result<F>(flags, a, b);
  if (negate_b) b ^= F::kSign;
  if (is_infinity<F>(a)) {
    if (is_infinity<F>(b) && sign_of<F>(a) != sign_of<F>(b)) return invalid<F>(flags);
    return a;
  }
  if (is_infinity<F>(b)) return b;
  if (is_zero<F>(a) && is_zero<F>(b)) {
    const bool sign = sign_of<F>(a) == sign_of<F>(b) ? sign_of<F>(a) : rm == RoundingMode::kDown;
    return zero<F>(sign);
  }
  if (is_zero<F>(a)) return b;
  if (is_zero<F>(b)) return a;
  const Unpacked ua = unpack<F>(a);
  const Unpacked ub = unpack<F>(b);
  // Leading bits moved to bit kFraction + 64 (at most 116): 64 guard bits.
  return add_wide<F>(ua.sign, ua.exp - 64, u128{ua.sig} << 64, ub.sign, ub.exp - 64, u128{ub.sig} << 64, rm, flags);
}

}  // namespace

template <class F>
typename F::Bits add(typename F::Bits a, typename F::Bits b, RoundingMode rm, unsigned& flags) {
  return add_signed<F>(a, b, false, rm, flags);
}

template <class F>
typename F::Bits sub(typename F::Bits a, typename F::Bits b, RoundingMode rm, unsigned& flags) {
  return add_signed<F>(a, b, true, rm, flags);
}

template <class F>
typename F::Bits mul(typename F::Bits a, typename F::Bits b, RoundingMode rm, unsigned& flags) {
  if (is_nan<F>(a) || is_nan<F>(b)) return nan_result<F>(flags, a, b);
  const bool sign = sign_of<F>(a) != sign_of<F>(b);
  if (is_infinity<F>(a) || is_infinity<F>(b)) {
    if (is_zero<F>(a) || is_zero<F>(b)) return invalid<F>(flags);
    return (sign ? F::kSign : 0) | F::kInfinity;
  }
  if (is_zero<F>(a) || is_zero<F>(b)) return zero<F>(sign);
  const Unpacked ua = unpack<F>(a);
  const Unpacked ub = unpack<F>(b);
  int exp = ua.exp + ub.exp;
  const uint64_t sig = squeeze(u128{ua.sig} * ub.sig, exp);
  return round_pack<F>(sign, exp, sig, rm, flags);
}

template <class F>
typename F::Bits div(typename F::Bits a, typename F::Bits b, RoundingMode rm, unsigned& flags) {
  if (is_nan<F>(a) || is_nan<F>(b)) return nan_result<F>(flags, a, b);
  const bool sign = sign_of<F>(a) != sign_of<F>(b);
  const typename F::Bits infinity = (sign ? F::kSign : 0) | F::kInfinity;
  if (is_infinity<F>(a)) return is_infinity<F>(b) ? invalid<F>(flags) : infinity;
  if (is_infinity<F>(b)) return zero<F>(sign);
  if (is_zero<F>(b)) {
    if (is_zero<F>(a)) return invalid<F>(flags);
    flags |= flag::kDivideByZero;
    return infinity;
  }
  if (is_zero<F>(a)) return zero<F>(sign);
  const Unpacked ua = unpack<F>(a);
  const Unpacked ub = unpack<F>(b);
  // The dividend's leading bit at 126: a quotient of 126 - kFraction bits or
  // so, far more than the precision plus round and sticky.
  const int shift = 126 - static_cast<int>(F::kFraction);
  const u128 dividend = u128{ua.sig} << shift;
  const u128 quotient = dividend / ub.sig;
  const bool remainder = dividend % ub.sig != 0;
  int exp = ua.exp - ub.exp - shift;
  const uint64_t sig = squeeze(quotient | (remainder ? 1 : 0), exp);
  return round_pack<F>(sign, exp, sig, rm, flags);
}

template <class F>
typename F::Bits sqrt(typename F::Bits a, RoundingMode rm, unsigned& flags) {
  if (is_nan<F>(a)) return nan_result<F>(flags, a);
  if (is_zero<F>(a)) return a;  // sqrt(-0) is -0
  if (sign_of<F>(a)) return invalid<F>(flags);
  if (is_infinity<F>(a)) return a;
  Unpacked ua = unpack<F>(a);
  u128 radicand = ua.sig;
  int exp = ua.exp;
  if (exp & 1) {
    radicand <<= 1;
    exp -= 1;
  }
  // 72 more bits: a root of about 60 (binary64) or 48 (binary32) bits.
  radicand <<= 72;
  exp -= 72;
  // Digit-by-digit integer square root: root = floor(sqrt(radicand)), and
  // what is left in `rest` is radicand - root^2.
  u128 rest = radicand;
  u128 root = 0;
  u128 bit = u128{1} << 126;
  while (bit > rest) bit >>= 2;
  while (bit != 0) {
    if (rest >= root + bit) {
      rest -= root + bit;
      root = (root >> 1) + bit;
    } else {
      root >>= 1;
    }
    bit >>= 2;
  }
  const uint64_t sig = static_cast<uint64_t>(root) | (rest != 0 ? 1 : 0);
  return round_pack<F>(false, exp / 2, sig, rm, flags);
}

template <class F>
typename F::Bits muladd(typename F::Bits a, typename F::Bits b, typename F::Bits c, bool negate_product,
                        bool negate_addend, RoundingMode rm, unsigned& flags) {
  const bool infinity_times_zero =
      (is_infinity<F>(a) && is_zero<F>(b)) || (is_zero<F>(a) && is_infinity<F>(b));
  if (is_nan<F>(a) || is_nan<F>(b) || is_nan<F>(c)) {
    if (infinity_times_zero) flags |= flag::kInvalid;  // even with a quiet NaN addend
    return nan_result<F>(flags, a, b, c);
  }
  if (infinity_times_zero) return invalid<F>(flags);
  const bool product_sign = (sign_of<F>(a) != sign_of<F>(b)) != negate_product;
  if (negate_addend) c ^= F::kSign;
  const bool addend_sign = sign_of<F>(c);
  if (is_infinity<F>(a) || is_infinity<F>(b)) {
    if (is_infinity<F>(c) && addend_sign != product_sign) return invalid<F>(flags);
    return (product_sign ? F::kSign : 0) | F::kInfinity;
  }
  if (is_infinity<F>(c)) return c;
  if (is_zero<F>(a) || is_zero<F>(b)) {
    if (is_zero<F>(c)) return zero<F>(product_sign == addend_sign ? product_sign : rm == RoundingMode::kDown);
    return c;
  }
  const Unpacked ua = unpack<F>(a);
  const Unpacked ub = unpack<F>(b);
  u128 product = u128{ua.sig} * ub.sig;
  int product_exp = ua.exp + ub.exp;
  if (is_zero<F>(c)) {
    const uint64_t sig = squeeze(product, product_exp);
    return round_pack<F>(product_sign, product_exp, sig, rm, flags);
  }
  // Both leading bits to bit 125: the whole product fits with guard bits
  // below it, and the sum's carry fits above.
  const int product_shift = 125 - (bit_width128(product) - 1);
  product <<= product_shift;
  product_exp -= product_shift;
  const Unpacked uc = unpack<F>(c);
  const int addend_shift = 125 - static_cast<int>(F::kFraction);
  return add_wide<F>(product_sign, product_exp, product, uc.sign, uc.exp - addend_shift, u128{uc.sig} << addend_shift,
                     rm, flags);
}

namespace {

// Numeric a < b for operands that are not NaN (-0 == +0).
template <class F>
bool less(typename F::Bits a, typename F::Bits b) {
  const bool sa = sign_of<F>(a);
  const bool sb = sign_of<F>(b);
  if (is_zero<F>(a) && is_zero<F>(b)) return false;
  if (sa != sb) return sa;
  return sa ? a > b : a < b;
}

// minimumNumber/maximumNumber, with -0 below +0.
template <class F>
typename F::Bits min_max(typename F::Bits a, typename F::Bits b, bool want_max, unsigned& flags) {
  if (is_signaling_nan<F>(a) || is_signaling_nan<F>(b)) flags |= flag::kInvalid;
  if (is_nan<F>(a) && is_nan<F>(b)) return F::kCanonicalNaN;
  if (is_nan<F>(a)) return b;
  if (is_nan<F>(b)) return a;
  bool a_below = less<F>(a, b);
  if (!a_below && !less<F>(b, a)) a_below = sign_of<F>(a) && !sign_of<F>(b);  // equal: only zeros differ
  return (a_below != want_max) ? a : b;
}

}  // namespace

template <class F>
typename F::Bits min(typename F::Bits a, typename F::Bits b, unsigned& flags) {
  return min_max<F>(a, b, false, flags);
}

template <class F>
typename F::Bits max(typename F::Bits a, typename F::Bits b, unsigned& flags) {
  return min_max<F>(a, b, true, flags);
}

template <class F>
bool eq(typename F::Bits a, typename F::Bits b, unsigned& flags) {
  if (is_nan<F>(a) || is_nan<F>(b)) {
    if (is_signaling_nan<F>(a) || is_signaling_nan<F>(b)) flags |= flag::kInvalid;
    return false;
  }
  return a == b || (is_zero<F>(a) && is_zero<F>(b));
}

template <class F>
bool lt(typename F::Bits a, typename F::Bits b, unsigned& flags) {
  if (is_nan<F>(a) || is_nan<F>(b)) {
    flags |= flag::kInvalid;
    return false;
  }
  return less<F>(a, b);
}

template <class F>
bool le(typename F::Bits a, typename F::Bits b, unsigned& flags) {
  if (is_nan<F>(a) || is_nan<F>(b)) {
    flags |= flag::kInvalid;
    return false;
  }
  return !less<F>(b, a);
}

template <class F>
unsigned classify(typename F::Bits a) {
  const bool sign = sign_of<F>(a);
  if (is_nan<F>(a)) return is_signaling_nan<F>(a) ? 1u << 8 : 1u << 9;
  if (is_infinity<F>(a)) return sign ? 1u << 0 : 1u << 7;
  if (is_zero<F>(a)) return sign ? 1u << 3 : 1u << 4;
  const bool subnormal = (a & F::kInfinity) == 0;
  if (subnormal) return sign ? 1u << 2 : 1u << 5;
  return sign ? 1u << 1 : 1u << 6;
}

template <class F>
uint64_t to_integer(typename F::Bits a, bool is_signed, unsigned width_bits, RoundingMode rm, unsigned& flags) {
  const uint64_t all_ones = width_bits == 64 ? ~uint64_t{0} : (uint64_t{1} << width_bits) - 1;
  const uint64_t largest = is_signed ? all_ones >> 1 : all_ones;
  const uint64_t smallest = is_signed ? (uint64_t{1} << (width_bits - 1)) : 0;  // as the integer's bits
  if (is_nan<F>(a)) {
    flags |= flag::kInvalid;
    return largest;
  }
  const bool sign = sign_of<F>(a);
  if (is_infinity<F>(a)) {
    flags |= flag::kInvalid;
    return sign ? smallest : largest;
  }
  if (is_zero<F>(a)) return 0;
  const Unpacked ua = unpack<F>(a);
  // A magnitude of 2^65 or more is out of range of every width: no need to
  // form it.
  if (ua.exp + static_cast<int>(F::kFraction) >= 65) {
    flags |= flag::kInvalid;
    return sign ? smallest : largest;
  }
  bool inexact = false;
  u128 magnitude;
  if (ua.exp >= 0) {
    magnitude = u128{ua.sig} << ua.exp;
  } else {
    magnitude = round_shift(ua.sig, -ua.exp, rm, sign, inexact);
  }
  // The largest magnitude each sign may have.
  const u128 limit = sign ? (is_signed ? u128{smallest} : 0) : u128{largest};
  if (magnitude > limit) {
    flags |= flag::kInvalid;
    return sign ? smallest : largest;
  }
  if (inexact) flags |= flag::kInexact;
  const auto bits = static_cast<uint64_t>(magnitude);
  return (sign ? 0 - bits : bits) & all_ones;
}

template <class F>
typename F::Bits from_integer(uint64_t value, bool is_signed, RoundingMode rm, unsigned& flags) {
  const bool sign = is_signed && static_cast<int64_t>(value) < 0;
  const uint64_t magnitude = sign ? 0 - value : value;
  if (magnitude == 0) return 0;
  return round_pack<F>(sign, 0, magnitude, rm, flags);
}

uint32_t f64_to_f32(uint64_t a, RoundingMode rm, unsigned& flags) {
  if (is_nan<F64>(a)) return nan_result<F32>(flags, is_signaling_nan<F64>(a) ? 0x7f800001u : 0);
  const bool sign = sign_of<F64>(a);
  if (is_infinity<F64>(a)) return (sign ? F32::kSign : 0) | F32::kInfinity;
  if (is_zero<F64>(a)) return zero<F32>(sign);
  const Unpacked ua = unpack<F64>(a);
  return round_pack<F32>(sign, ua.exp, ua.sig, rm, flags);
}

uint64_t f32_to_f64(uint32_t a, unsigned& flags) {
  if (is_nan<F32>(a)) return nan_result<F64>(flags, is_signaling_nan<F32>(a) ? 0x7ff0000000000001ull : 0);
  const bool sign = sign_of<F32>(a);
  if (is_infinity<F32>(a)) return (sign ? F64::kSign : 0) | F64::kInfinity;
  if (is_zero<F32>(a)) return zero<F64>(sign);
  const Unpacked ua = unpack<F32>(a);
  return round_pack<F64>(sign, ua.exp, ua.sig, RoundingMode::kNearestEven, flags);  // exact
}

#define GODWIT_INSTANTIATE(F)                                                                              \
  template F::Bits add<F>(F::Bits, F::Bits, RoundingMode, unsigned&);                                      \
  template F::Bits sub<F>(F::Bits, F::Bits, RoundingMode, unsigned&);                                      \
  template F::Bits mul<F>(F::Bits, F::Bits, RoundingMode, unsigned&);                                      \
  template F::Bits div<F>(F::Bits, F::Bits, RoundingMode, unsigned&);                                      \
  template F::Bits sqrt<F>(F::Bits, RoundingMode, unsigned&);                                              \
  template F::Bits muladd<F>(F::Bits, F::Bits, F::Bits, bool, bool, RoundingMode, unsigned&);              \
  template F::Bits min<F>(F::Bits, F::Bits, unsigned&);                                                    \
  template F::Bits max<F>(F::Bits, F::Bits, unsigned&);                                                    \
  template bool eq<F>(F::Bits, F::Bits, unsigned&);                                                        \
  template bool lt<F>(F::Bits, F::Bits, unsigned&);                                                        \
  template bool le<F>(F::Bits, F::Bits, unsigned&);                                                        \
  template unsigned classify<F>(F::Bits);                                                                  \
  template uint64_t to_integer<F>(F::Bits, bool, unsigned, RoundingMode, unsigned&);                      \
  template F::Bits from_integer<F>(uint64_t, bool, RoundingMode, unsigned&);

GODWIT_INSTANTIATE(F32)
GODWIT_INSTANTIATE(F64)
#undef GODWIT_INSTANTIATE

}  // namespace godwit::fp
