// Sizes as QEMU reads them (util/cutils.c do_strtosz): decimal digits, an
// optional fraction, and one optional suffix letter B, K, M, G, T, P or E
// (either case; binary multiples). "64MB" and "64MiB" are rejected, as
// QEMU rejects them. The callers differ as QEMU's callers do, in the unit
// of a bare number and in whether hex is read; SizeSyntax names those.
//
// Threads: pure functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.hpp"

namespace godwit {

inline constexpr uint64_t kKiB = uint64_t{1} << 10;
inline constexpr uint64_t kMiB = uint64_t{1} << 20;
inline constexpr uint64_t kGiB = uint64_t{1} << 30;

struct SizeSyntax {
  // Multiplies a number written without a suffix: 1 for byte sizes,
  // kMiB for -m and for HMP's sizes (qemu_strtosz_MiB).
  uint64_t default_unit = 1;
  // "0x1000", with neither fraction nor suffix (qemu_strtosz since 6.0).
  bool hex = false;
  // -m reads "1.5" as bytes before scaling a bare number to MiB, so a
  // fraction there needs a written suffix; qemu_strtosz_MiB takes "1.5"
  // as 1.5 MiB.
  bool fraction_needs_suffix = true;
};

// Bytes in the -object memory-backend-*,size= property.
inline constexpr SizeSyntax kByteSize{};
// -m [size=]SIZE: a bare number is MiB (vl.c's legacy suffix-less form).
inline constexpr SizeSyntax kMachineMemorySize{.default_unit = kMiB};
// file: migration URI offset (migration/file.c file_parse_offset).
inline constexpr SizeSyntax kFileOffsetSize{.hex = true, .fraction_needs_suffix = false};
// HMP size arguments such as migrate_set_parameter max-bandwidth.
inline constexpr SizeSyntax kHmpSize{
    .default_unit = kMiB, .hex = true, .fraction_needs_suffix = false};

// The error is qemu_strtosz's errno as text: "Invalid argument" for
// malformed text, "Numerical result out of range" for a size past 2^64-1.
// A fraction is rounded to the nearest byte, half up, as QEMU; a fraction
// of a byte ("1.5B", or "1.5" when the unit is bytes) is malformed.
Result<uint64_t> parse_size(std::string_view text, const SizeSyntax& syntax);

// "128 MiB", "2 GiB", "4097 B": the largest binary unit that divides the
// size exactly, for messages.
std::string format_size(uint64_t size);

}  // namespace godwit
