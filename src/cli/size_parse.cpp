#include "cli/size_parse.hpp"

#include <cctype>
#include <cmath>

namespace godwit {

std::optional<uint64_t> parse_size(std::string_view text, uint64_t default_unit) {
  size_t pos = 0;
  uint64_t whole = 0;
  const size_t digits_start = pos;
  while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
    const uint64_t digit = static_cast<uint64_t>(text[pos] - '0');
    if (whole > (UINT64_MAX - digit) / 10) return std::nullopt;
    whole = whole * 10 + digit;
    ++pos;
  }
  if (pos == digits_start) return std::nullopt;  // also rejects "-1" and ""

  // The fraction is kept as digits over a power of ten so that "1.5G" is
  // exact; QEMU goes through a double, which agrees for sane inputs.
  uint64_t fraction = 0;
  uint64_t fraction_scale = 1;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const size_t fraction_start = pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      if (fraction_scale < uint64_t{1000000000000000000}) {
        fraction = fraction * 10 + static_cast<uint64_t>(text[pos] - '0');
        fraction_scale *= 10;
      }
      ++pos;
    }
    if (pos == fraction_start) return std::nullopt;
  }

  uint64_t unit = default_unit;
  bool explicit_suffix = false;
  if (pos < text.size()) {
    switch (std::tolower(static_cast<unsigned char>(text[pos]))) {
      case 'b': unit = 1; break;
      case 'k': unit = uint64_t{1} << 10; break;
      case 'm': unit = uint64_t{1} << 20; break;
      case 'g': unit = uint64_t{1} << 30; break;
      case 't': unit = uint64_t{1} << 40; break;
      case 'p': unit = uint64_t{1} << 50; break;
      case 'e': unit = uint64_t{1} << 60; break;
      default: return std::nullopt;
    }
    explicit_suffix = true;
    ++pos;
  }
  if (pos != text.size()) return std::nullopt;
  // QEMU allows a fraction only with a suffix ("1.5G", not "1.5").
  if (fraction_scale > 1 && !explicit_suffix) return std::nullopt;

  if (whole > UINT64_MAX / unit) return std::nullopt;
  const uint64_t whole_bytes = whole * unit;
  // fraction/fraction_scale * unit, rounded down; the scale is at most 1e18
  // and the unit at most 2^60, so use long double for the product.
  const long double fraction_bytes =
      std::floor(static_cast<long double>(fraction) / static_cast<long double>(fraction_scale) *
                 static_cast<long double>(unit));
  if (fraction_bytes > static_cast<long double>(UINT64_MAX - whole_bytes)) return std::nullopt;
  return whole_bytes + static_cast<uint64_t>(fraction_bytes);
}

std::string format_size(uint64_t size) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  unsigned unit = 0;
  while (unit < 6 && size != 0 && size % 1024 == 0) {
    size /= 1024;
    ++unit;
  }
  return std::to_string(size) + " " + kUnits[unit];
}

}  // namespace godwit
