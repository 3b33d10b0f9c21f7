// The integer IEEE arithmetic against the host FPU (x86-64 SSE rounds
// binary32/64 correctly in four of the five modes, detects tininess after
// rounding as RISC-V does, and raises the same five flags), over random
// operands biased toward the edges; then the cases the host cannot check:
// round-to-nearest-max-magnitude, RISC-V NaN rules, saturating conversions.
#include "cpu/float_ops.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cfenv>
#include <cmath>
#include <cstring>
#include <random>

namespace godwit::fp {
namespace {

using RM = RoundingMode;

constexpr RM kHostModes[] = {RM::kNearestEven, RM::kTowardZero, RM::kDown, RM::kUp};
constexpr RM kAllModes[] = {RM::kNearestEven, RM::kTowardZero, RM::kDown, RM::kUp, RM::kNearestMaxMagnitude};

int host_mode(RM rm) {
  switch (rm) {
    case RM::kNearestEven: return FE_TONEAREST;
    case RM::kTowardZero: return FE_TOWARDZERO;
    case RM::kDown: return FE_DOWNWARD;
    case RM::kUp: return FE_UPWARD;
    case RM::kNearestMaxMagnitude: break;
  }
  return FE_TONEAREST;
}

unsigned host_flags() {
  const int raised = std::fetestexcept(FE_ALL_EXCEPT);
  return ((raised & FE_INEXACT) ? flag::kInexact : 0) | ((raised & FE_UNDERFLOW) ? flag::kUnderflow : 0) |
         ((raised & FE_OVERFLOW) ? flag::kOverflow : 0) | ((raised & FE_DIVBYZERO) ? flag::kDivideByZero : 0) |
         ((raised & FE_INVALID) ? flag::kInvalid : 0);
}

// A host operation under `rm`: its result bits and flags. Operands and the
// result go through volatile so the operation stays between fesetround and
// fetestexcept.
struct HostResult {
  uint64_t bits;
  unsigned flags;
};

template <class T, class Op>
HostResult on_host(RM rm, Op op) {
  std::fesetround(host_mode(rm));
  std::feclearexcept(FE_ALL_EXCEPT);
  volatile T result = op();
  const unsigned flags = host_flags();
  std::fesetround(FE_TONEAREST);
  T value = result;
  if constexpr (sizeof(T) == 4) return {std::bit_cast<uint32_t>(value), flags};
  else return {std::bit_cast<uint64_t>(value), flags};
}

// Random operands: every exponent field is equally likely to be an edge
// (0, 1, 2, max-1, max, bias +-1) or random; fractions are random, all ones,
// zero, or with one random bit.
template <class F>
typename F::Bits random_operand(std::mt19937_64& random) {
  using Bits = typename F::Bits;
  const unsigned max = F::kMaxExponent;
  const unsigned edges[] = {0, 1, 2, max - 1, max, static_cast<unsigned>(F::kBias), static_cast<unsigned>(F::kBias) - 1,
                            static_cast<unsigned>(F::kBias) + 1};
  const uint64_t pick = random();
  unsigned exponent = (pick & 1) ? edges[(pick >> 1) % 8] : static_cast<unsigned>((pick >> 4) % (max + 1));
  Bits fraction;
  switch ((pick >> 20) % 4) {
    case 0: fraction = static_cast<Bits>(random()) & F::kFractionMask; break;
    case 1: fraction = F::kFractionMask; break;
    case 2: fraction = 0; break;
    default: fraction = Bits{1} << ((pick >> 24) % F::kFraction); break;
  }
  if (exponent == max && (pick >> 30) % 4 != 0) exponent = static_cast<unsigned>((pick >> 32) % max);  // fewer NaNs
  return static_cast<Bits>(((pick >> 40) & 1 ? F::kSign : 0) | (Bits{exponent} << F::kFraction) | fraction);
}

template <class F>
auto as_host(typename F::Bits bits) {
  if constexpr (sizeof(bits) == 4) return std::bit_cast<float>(bits);
  else return std::bit_cast<double>(bits);
}

// Compares one result; a NaN from the host (whose NaNs keep payloads and
// the sign) must be the canonical NaN here.
template <class F>
void expect_same(const char* what, typename F::Bits a, typename F::Bits b, RM rm, typename F::Bits ours,
                 unsigned our_flags, HostResult host) {
  const auto expected = static_cast<typename F::Bits>(host.bits);
  const auto expected_bits = is_nan<F>(expected) ? F::kCanonicalNaN : expected;
  ASSERT_EQ(ours, expected_bits) << what << " " << std::hex << a << " " << b << " rm " << static_cast<int>(rm);
  ASSERT_EQ(our_flags, host.flags) << what << " flags " << std::hex << a << " " << b << " rm "
                                   << static_cast<int>(rm);
}

template <class F>
void check_binary_ops_against_host(unsigned count) {
  using Bits = typename F::Bits;
  using T = decltype(as_host<F>(0));
  std::mt19937_64 random(sizeof(Bits));
  for (unsigned i = 0; i < count; ++i) {
    const Bits a = random_operand<F>(random);
    const Bits b = random_operand<F>(random);
    const Bits c = random_operand<F>(random);
    for (RM rm : kHostModes) {
      volatile T x = as_host<F>(a), y = as_host<F>(b), z = as_host<F>(c);
      unsigned flags = 0;
      Bits ours = add<F>(a, b, rm, flags);
      expect_same<F>("add", a, b, rm, ours, flags, on_host<T>(rm, [&] { return x + y; }));
      flags = 0;
      ours = sub<F>(a, b, rm, flags);
      expect_same<F>("sub", a, b, rm, ours, flags, on_host<T>(rm, [&] { return x - y; }));
      flags = 0;
      ours = mul<F>(a, b, rm, flags);
      expect_same<F>("mul", a, b, rm, ours, flags, on_host<T>(rm, [&] { return x * y; }));
      flags = 0;
      ours = div<F>(a, b, rm, flags);
      expect_same<F>("div", a, b, rm, ours, flags, on_host<T>(rm, [&] { return x / y; }));
      flags = 0;
      ours = sqrt<F>(a, rm, flags);
      expect_same<F>("sqrt", a, 0, rm, ours, flags, on_host<T>(rm, [&] { return std::sqrt(x); }));
      flags = 0;
      ours = muladd<F>(a, b, c, false, false, rm, flags);
      // The host's fma leaves invalid for inf * 0 + quiet NaN to the
      // implementation; RISC-V raises it (checked below).
      if (!is_nan<F>(c)) {
        expect_same<F>("fma", a, b, rm, ours, flags, on_host<T>(rm, [&] { return std::fma(x, y, z); }));
      }
      if (is_nan<F>(a) || is_nan<F>(b) || is_nan<F>(c)) continue;
      // The conversions between the formats.
      if constexpr (sizeof(Bits) == 8) {
        flags = 0;
        const uint32_t narrowed = f64_to_f32(a, rm, flags);
        expect_same<F32>("f64_to_f32", static_cast<uint32_t>(a >> 32), 0, rm, narrowed, flags,
                         on_host<float>(rm, [&] { return static_cast<float>(x); }));
      }
    }
  }
}

TEST(FloatOps, Binary32MatchesTheHostInFourRoundingModes) { check_binary_ops_against_host<F32>(30000); }
TEST(FloatOps, Binary64MatchesTheHostInFourRoundingModes) { check_binary_ops_against_host<F64>(30000); }

// Integers to floats and back, in range, against the host.
TEST(FloatOps, IntegerConversionsMatchTheHost) {
  std::mt19937_64 random(7);
  for (unsigned i = 0; i < 50000; ++i) {
    const uint64_t value = random() >> (random() % 64);
    const uint64_t negated = (i & 1) ? 0 - value : value;
    for (RM rm : kHostModes) {
      volatile int64_t signed_value = static_cast<int64_t>(negated);
      volatile uint64_t unsigned_value = value;
      unsigned flags = 0;
      uint64_t d = from_integer<F64>(negated, true, rm, flags);
      expect_same<F64>("i64_to_f64", negated, 0, rm, d, flags,
                       on_host<double>(rm, [&] { return static_cast<double>(signed_value); }));
      flags = 0;
      d = from_integer<F64>(value, false, rm, flags);
      expect_same<F64>("u64_to_f64", value, 0, rm, d, flags,
                       on_host<double>(rm, [&] { return static_cast<double>(unsigned_value); }));
      flags = 0;
      const uint32_t s = from_integer<F32>(negated, true, rm, flags);
      expect_same<F32>("i64_to_f32", 0, 0, rm, s, flags,
                       on_host<float>(rm, [&] { return static_cast<float>(signed_value); }));
    }
  }
  for (unsigned i = 0; i < 50000; ++i) {
    std::mt19937_64& r = random;
    const double magnitude = std::ldexp(static_cast<double>(r() >> 11), static_cast<int>(r() % 80) - 70);
    const double value = (i & 1) ? -magnitude : magnitude;
    const uint64_t bits = std::bit_cast<uint64_t>(value);
    for (RM rm : kHostModes) {
      volatile double x = value;
      std::fesetround(host_mode(rm));
      std::feclearexcept(FE_ALL_EXCEPT);
      volatile double rounded = std::nearbyint(x);
      std::fesetround(FE_TONEAREST);
      if (rounded < -9.2e18 || rounded > 9.2e18) continue;
      unsigned flags = 0;
      const uint64_t ours = to_integer<F64>(bits, true, 64, rm, flags);
      ASSERT_EQ(static_cast<int64_t>(ours), static_cast<int64_t>(rounded)) << value << " rm " << static_cast<int>(rm);
      ASSERT_EQ(flags, rounded == x ? 0u : flag::kInexact) << value;
    }
  }
}

uint32_t f32(float value) { return std::bit_cast<uint32_t>(value); }
uint64_t f64(double value) { return std::bit_cast<uint64_t>(value); }

constexpr uint32_t kSignalingNaN32 = 0x7f800001;
constexpr uint32_t kQuietNaN32 = 0x7fc12345;
constexpr uint64_t kSignalingNaN64 = 0x7ff0000000000001;
constexpr uint64_t kInf64 = 0x7ff0000000000000;

TEST(FloatOps, NearestMaxMagnitudeRoundsTiesAwayFromZero) {
  unsigned flags = 0;
  // 1 + 2^-24 is halfway between 1 and the next binary32: away gives 1 + 2^-23.
  EXPECT_EQ(add<F32>(f32(1.0f), f32(0x1p-24f), RM::kNearestMaxMagnitude, flags), f32(1.0f + 0x1p-23f));
  EXPECT_EQ(flags, flag::kInexact);
  flags = 0;
  EXPECT_EQ(add<F32>(f32(1.0f), f32(0x1p-24f), RM::kNearestEven, flags), f32(1.0f));  // ties to even
  flags = 0;
  EXPECT_EQ(sub<F32>(f32(-1.0f), f32(0x1p-24f), RM::kNearestMaxMagnitude, flags), f32(-1.0f - 0x1p-23f));
  flags = 0;
  // Just below the tie rounds down in every nearest mode.
  EXPECT_EQ(add<F64>(f64(1.0), f64(0x1.fffffp-54), RM::kNearestMaxMagnitude, flags), f64(1.0));
  flags = 0;
  // The smallest subnormal halved is a tie with zero: away gives the subnormal,
  // tiny and inexact.
  EXPECT_EQ(mul<F64>(f64(0x1p-1074), f64(0.5), RM::kNearestMaxMagnitude, flags), 1u);
  EXPECT_EQ(flags, flag::kInexact | flag::kUnderflow);
  flags = 0;
  EXPECT_EQ(mul<F64>(f64(0x1p-1074), f64(0.5), RM::kNearestEven, flags), 0u);
  // Overflow goes to infinity.
  flags = 0;
  EXPECT_EQ(mul<F64>(f64(0x1p1023), f64(2.0), RM::kNearestMaxMagnitude, flags), kInf64);
  EXPECT_EQ(flags, flag::kOverflow | flag::kInexact);
  // Integers: 2.5 -> 3, -2.5 -> -3, 2.4 -> 2.
  flags = 0;
  EXPECT_EQ(to_integer<F64>(f64(2.5), true, 64, RM::kNearestMaxMagnitude, flags), 3u);
  EXPECT_EQ(to_integer<F64>(f64(-2.5), true, 64, RM::kNearestMaxMagnitude, flags), static_cast<uint64_t>(-3));
  EXPECT_EQ(to_integer<F64>(f64(2.4), true, 64, RM::kNearestMaxMagnitude, flags), 2u);
  EXPECT_EQ(flags, flag::kInexact);
  // A fused multiply-add tie: 1 * 1 + 2^-53 in binary64.
  flags = 0;
  EXPECT_EQ(muladd<F64>(f64(1.0), f64(1.0), f64(0x1p-53), false, false, RM::kNearestMaxMagnitude, flags),
            f64(1.0 + 0x1p-52));
  EXPECT_EQ(sqrt<F32>(f32(2.0f), RM::kNearestMaxMagnitude, flags), f32(std::sqrt(2.0f)));
}

TEST(FloatOps, TininessIsDetectedAfterRounding) {
  // (1 - 2^-27)(1 + 2^-27) 2^-1022 = (1 - 2^-54) 2^-1022: below the smallest
  // normal, but rounding to 53 bits with an unbounded exponent gives 2^-1022,
  // so it is not tiny: inexact without underflow.
  const uint64_t a = f64(1.0 - 0x1p-27);
  const uint64_t b = f64((1.0 + 0x1p-27) * 0x1p-1022);
  unsigned flags = 0;
  EXPECT_EQ(mul<F64>(a, b, RM::kNearestEven, flags), f64(0x1p-1022));
  EXPECT_EQ(flags, flag::kInexact);
  // Rounding toward zero keeps it below: tiny, so underflow too.
  flags = 0;
  EXPECT_EQ(mul<F64>(a, b, RM::kTowardZero, flags), f64(0x1p-1022) - 1);
  EXPECT_EQ(flags, flag::kInexact | flag::kUnderflow);
  // An exact subnormal result raises nothing.
  flags = 0;
  EXPECT_EQ(mul<F32>(f32(0x1p-140f), f32(0.5f), RM::kNearestEven, flags), f32(0x1p-141f));
  EXPECT_EQ(flags, 0u);
}

TEST(FloatOps, NaNResultsAreCanonicalAndSignalingNaNsRaiseInvalid) {
  unsigned flags = 0;
  EXPECT_EQ(add<F32>(kQuietNaN32, f32(1.0f), RM::kNearestEven, flags), F32::kCanonicalNaN);
  EXPECT_EQ(flags, 0u);
  EXPECT_EQ(mul<F32>(kSignalingNaN32, f32(1.0f), RM::kNearestEven, flags), F32::kCanonicalNaN);
  EXPECT_EQ(flags, flag::kInvalid);
  flags = 0;
  EXPECT_EQ(sub<F64>(kInf64, kInf64, RM::kNearestEven, flags), F64::kCanonicalNaN);
  EXPECT_EQ(flags, flag::kInvalid);
  flags = 0;
  EXPECT_EQ(sqrt<F64>(f64(-1.0), RM::kNearestEven, flags), F64::kCanonicalNaN);
  EXPECT_EQ(flags, flag::kInvalid);
  flags = 0;
  EXPECT_EQ(sqrt<F64>(f64(-0.0), RM::kNearestEven, flags), f64(-0.0));
  EXPECT_EQ(flags, 0u);
  // inf * 0 + quiet NaN: invalid all the same.
  EXPECT_EQ(muladd<F64>(kInf64, 0, F64::kCanonicalNaN, false, false, RM::kNearestEven, flags), F64::kCanonicalNaN);
  EXPECT_EQ(flags, flag::kInvalid);
  flags = 0;
  EXPECT_EQ(div<F64>(f64(1.0), f64(-0.0), RM::kNearestEven, flags), kInf64 | F64::kSign);
  EXPECT_EQ(flags, flag::kDivideByZero);
  flags = 0;
  EXPECT_EQ(f32_to_f64(kSignalingNaN32, flags), F64::kCanonicalNaN);
  EXPECT_EQ(flags, flag::kInvalid);
  flags = 0;
  EXPECT_EQ(f64_to_f32(0x7ff8000000000123, RM::kNearestEven, flags), F32::kCanonicalNaN);
  EXPECT_EQ(flags, 0u);
}

TEST(FloatOps, ExactZeroSumsArePositiveExceptRoundingDown) {
  for (RM rm : kAllModes) {
    unsigned flags = 0;
    const uint64_t expected = rm == RM::kDown ? f64(-0.0) : f64(0.0);
    EXPECT_EQ(add<F64>(f64(1.5), f64(-1.5), rm, flags), expected);
    EXPECT_EQ(add<F64>(f64(0.0), f64(-0.0), rm, flags), expected);
    EXPECT_EQ(muladd<F64>(f64(2.0), f64(3.0), f64(6.0), false, true, rm, flags), expected);
    EXPECT_EQ(add<F64>(f64(-0.0), f64(-0.0), rm, flags), f64(-0.0));
    EXPECT_EQ(flags, 0u);
  }
}

TEST(FloatOps, MinMaxFollowMinimumNumber) {
  unsigned flags = 0;
  EXPECT_EQ(min<F32>(f32(-0.0f), f32(0.0f), flags), f32(-0.0f));
  EXPECT_EQ(min<F32>(f32(0.0f), f32(-0.0f), flags), f32(-0.0f));
  EXPECT_EQ(max<F32>(f32(-0.0f), f32(0.0f), flags), f32(0.0f));
  EXPECT_EQ(max<F32>(kQuietNaN32, f32(3.0f), flags), f32(3.0f));
  EXPECT_EQ(min<F32>(f32(-3.0f), kQuietNaN32, flags), f32(-3.0f));
  EXPECT_EQ(min<F32>(kQuietNaN32, kQuietNaN32, flags), F32::kCanonicalNaN);
  EXPECT_EQ(flags, 0u);
  EXPECT_EQ(max<F64>(kSignalingNaN64, f64(1.0), flags), f64(1.0));
  EXPECT_EQ(flags, flag::kInvalid);
  flags = 0;
  EXPECT_EQ(min<F64>(f64(-2.0), f64(-1.0), flags), f64(-2.0));
  EXPECT_EQ(max<F64>(f64(-2.0), f64(-1.0), flags), f64(-1.0));
  EXPECT_EQ(flags, 0u);
}

TEST(FloatOps, ComparisonsSignalAsTheSpecSays) {
  unsigned flags = 0;
  EXPECT_TRUE(eq<F64>(f64(0.0), f64(-0.0), flags));
  EXPECT_FALSE(eq<F64>(F64::kCanonicalNaN, F64::kCanonicalNaN, flags));
  EXPECT_EQ(flags, 0u);  // feq is quiet for quiet NaNs
  EXPECT_FALSE(eq<F64>(kSignalingNaN64, f64(1.0), flags));
  EXPECT_EQ(flags, flag::kInvalid);
  flags = 0;
  EXPECT_FALSE(lt<F32>(kQuietNaN32, f32(1.0f), flags));
  EXPECT_EQ(flags, flag::kInvalid);
  flags = 0;
  EXPECT_FALSE(le<F32>(f32(1.0f), kQuietNaN32, flags));
  EXPECT_EQ(flags, flag::kInvalid);
  flags = 0;
  EXPECT_TRUE(lt<F32>(f32(-2.0f), f32(-1.0f), flags));
  EXPECT_FALSE(lt<F32>(f32(-0.0f), f32(0.0f), flags));
  EXPECT_TRUE(le<F32>(f32(-0.0f), f32(0.0f), flags));
  EXPECT_EQ(flags, 0u);
}

TEST(FloatOps, ClassifyNamesEveryKind) {
  EXPECT_EQ(classify<F32>(f32(-INFINITY)), 1u << 0);
  EXPECT_EQ(classify<F32>(f32(-1.0f)), 1u << 1);
  EXPECT_EQ(classify<F32>(0x80000001), 1u << 2);
  EXPECT_EQ(classify<F32>(f32(-0.0f)), 1u << 3);
  EXPECT_EQ(classify<F32>(0), 1u << 4);
  EXPECT_EQ(classify<F32>(1), 1u << 5);
  EXPECT_EQ(classify<F32>(f32(1.0f)), 1u << 6);
  EXPECT_EQ(classify<F32>(f32(INFINITY)), 1u << 7);
  EXPECT_EQ(classify<F32>(kSignalingNaN32), 1u << 8);
  EXPECT_EQ(classify<F32>(kQuietNaN32), 1u << 9);
  EXPECT_EQ(classify<F64>(0x000fffffffffffff), 1u << 5);
}

TEST(FloatOps, ConversionsToIntegersSaturate) {
  unsigned flags = 0;
  EXPECT_EQ(to_integer<F64>(F64::kCanonicalNaN, true, 32, RM::kNearestEven, flags), 0x7fffffffu);
  EXPECT_EQ(to_integer<F64>(F64::kCanonicalNaN, false, 32, RM::kNearestEven, flags), 0xffffffffu);
  EXPECT_EQ(to_integer<F64>(F64::kCanonicalNaN | F64::kSign, true, 64, RM::kNearestEven, flags),
            0x7fffffffffffffffu);  // NaN is the largest positive, whatever its sign
  EXPECT_EQ(flags, flag::kInvalid);
  flags = 0;
  EXPECT_EQ(to_integer<F64>(kInf64 | F64::kSign, true, 64, RM::kNearestEven, flags), 0x8000000000000000u);
  EXPECT_EQ(to_integer<F64>(f64(-1.0), false, 64, RM::kNearestEven, flags), 0u);
  EXPECT_EQ(to_integer<F64>(f64(0x1p31), true, 32, RM::kNearestEven, flags), 0x7fffffffu);
  EXPECT_EQ(to_integer<F64>(f64(0x1p64), false, 64, RM::kNearestEven, flags), ~0ull);
  EXPECT_EQ(flags, flag::kInvalid);  // out of range: invalid, not inexact
  flags = 0;
  EXPECT_EQ(to_integer<F64>(f64(-0x1p31), true, 32, RM::kNearestEven, flags), 0x80000000u);
  EXPECT_EQ(to_integer<F64>(f64(-0x1p63), true, 64, RM::kNearestEven, flags), 0x8000000000000000u);
  EXPECT_EQ(to_integer<F32>(f32(0x1.fffffep31f), false, 32, RM::kNearestEven, flags), 0xffffff00u);
  EXPECT_EQ(flags, 0u);
  // -0.25 to unsigned: rounds to zero (inexact) except when rounding down.
  EXPECT_EQ(to_integer<F64>(f64(-0.25), false, 32, RM::kNearestEven, flags), 0u);
  EXPECT_EQ(flags, flag::kInexact);
  flags = 0;
  EXPECT_EQ(to_integer<F64>(f64(-0.25), false, 32, RM::kDown, flags), 0u);
  EXPECT_EQ(flags, flag::kInvalid);
  flags = 0;
  // 2^31 - 0.5 rounds up out of the signed 32-bit range in RNE.
  EXPECT_EQ(to_integer<F64>(f64(2147483647.5), true, 32, RM::kNearestEven, flags), 0x7fffffffu);
  EXPECT_EQ(flags, flag::kInvalid);
  flags = 0;
  EXPECT_EQ(to_integer<F64>(f64(2147483647.5), true, 32, RM::kTowardZero, flags), 0x7fffffffu);
  EXPECT_EQ(flags, flag::kInexact);
}

TEST(FloatOps, ConversionsBetweenFormats) {
  unsigned flags = 0;
  EXPECT_EQ(f32_to_f64(1, flags), f64(0x1p-149));  // a subnormal becomes normal, exactly
  EXPECT_EQ(flags, 0u);
  EXPECT_EQ(f64_to_f32(f64(0x1p-150), RM::kNearestEven, flags), 0u);  // a tie with zero, to even
  EXPECT_EQ(flags, flag::kInexact | flag::kUnderflow);
  flags = 0;
  EXPECT_EQ(f64_to_f32(f64(0x1p-150), RM::kNearestMaxMagnitude, flags), 1u);
  flags = 0;
  EXPECT_EQ(f64_to_f32(f64(1e300), RM::kTowardZero, flags), 0x7f7fffffu);
  EXPECT_EQ(flags, flag::kOverflow | flag::kInexact);
}

}  // namespace
}  // namespace godwit::fp
