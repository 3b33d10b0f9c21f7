#include "base/size_parse.hpp"

#include <cerrno>

#include "base/errno_text.hpp"

namespace godwit {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// qemu_strtosz's unit letters; 0 for anything else.
uint64_t suffix_unit(char c) {
  switch (c) {
    case 'B': case 'b': return 1;
    case 'K': case 'k': return uint64_t{1} << 10;
    case 'M': case 'm': return uint64_t{1} << 20;
    case 'G': case 'g': return uint64_t{1} << 30;
    case 'T': case 't': return uint64_t{1} << 40;
    case 'P': case 'p': return uint64_t{1} << 50;
    case 'E': case 'e': return uint64_t{1} << 60;
    default: return 0;
  }
}

std::unexpected<Error> invalid() { return fail(errno_text(EINVAL)); }
std::unexpected<Error> out_of_range() { return fail(errno_text(ERANGE)); }

// "0x..." after the leading zero: QEMU insists on no fraction and no
// suffix, and a bare hex number still takes the default unit.
Result<uint64_t> parse_hex(std::string_view digits, uint64_t default_unit) {
  if (digits.empty()) return invalid();
  unsigned __int128 value = 0;
  for (char c : digits) {
    const int nibble = hex_value(c);
    if (nibble < 0) return invalid();
    value = value * 16 + static_cast<unsigned>(nibble);
    if (value > UINT64_MAX) return out_of_range();
  }
  value *= default_unit;
  if (value > UINT64_MAX) return out_of_range();
  return static_cast<uint64_t>(value);
}

}  // namespace

Result<uint64_t> parse_size(std::string_view text, const SizeSyntax& syntax) {
  size_t pos = 0;
  unsigned __int128 whole = 0;
  while (pos < text.size() && is_digit(text[pos])) {
    whole = whole * 10 + static_cast<unsigned>(text[pos] - '0');
    if (whole > UINT64_MAX) return out_of_range();
    ++pos;
  }
  if (pos == 0) return invalid();  // also rejects "-1", " 1" and ""

  if (syntax.hex && whole == 0 && pos == 1 && pos < text.size() &&
      (text[pos] == 'x' || text[pos] == 'X')) {
    return parse_hex(text.substr(pos + 1), syntax.default_unit);
  }

  // The fraction is kept as digits over a power of ten so that "1.5G" is
  // exact; digits past the eighteenth cannot change the rounded result.
  uint64_t fraction = 0;
  uint64_t fraction_scale = 1;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const size_t fraction_start = pos;
    while (pos < text.size() && is_digit(text[pos])) {
      if (fraction_scale < uint64_t{1000000000000000000}) {
        fraction = fraction * 10 + static_cast<uint64_t>(text[pos] - '0');
        fraction_scale *= 10;
      }
      ++pos;
    }
    if (pos == fraction_start) return invalid();
  }
  const bool has_fraction = fraction_scale > 1;

  uint64_t unit = syntax.default_unit;
  bool written_suffix = false;
  if (pos < text.size()) {
    unit = suffix_unit(text[pos]);
    if (unit == 0) return invalid();
    written_suffix = true;
    ++pos;
  }
  if (pos != text.size()) return invalid();
  if (has_fraction && !written_suffix && syntax.fraction_needs_suffix) return invalid();
  if (fraction != 0 && unit == 1) return invalid();  // a fraction of a byte

  // fraction / scale * unit, rounded half up; scale < 2^60 and unit <= 2^60,
  // so the products fit in 128 bits.
  const unsigned __int128 fraction_bytes =
      (static_cast<unsigned __int128>(fraction) * unit * 2 + fraction_scale) / (2 * fraction_scale);
  const unsigned __int128 bytes = whole * unit + fraction_bytes;
  if (whole > UINT64_MAX / unit || bytes > UINT64_MAX) return out_of_range();
  return static_cast<uint64_t>(bytes);
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
