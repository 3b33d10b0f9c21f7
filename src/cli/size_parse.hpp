// Sizes as QEMU's command line reads them (qemu_strtosz): a decimal number,
// a fraction only together with a suffix, and one optional suffix letter
// B, K, M, G, T, P or E (either case; binary multiples). "64MB" and "64MiB"
// are rejected, as QEMU rejects them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace godwit {

inline constexpr uint64_t kKiB = uint64_t{1} << 10;
inline constexpr uint64_t kMiB = uint64_t{1} << 20;
inline constexpr uint64_t kGiB = uint64_t{1} << 30;

// `default_unit` multiplies a number without a suffix: 1 for byte sizes,
// kMiB for -m. Returns nothing for malformed or out-of-range text.
std::optional<uint64_t> parse_size(std::string_view text, uint64_t default_unit);

// "128 MiB", "2 GiB", "4097 B": the largest binary unit that divides the
// size exactly, for messages.
std::string format_size(uint64_t size);

}  // namespace godwit
