// Sdtrig address-match triggers (debug spec 1.0, 5.7.3 mcontrol and 5.7.17
// mcontrol6): the legal values of tdata1 and the match itself.
#include "cpu/debug_triggers.hpp"

namespace godwit::trigger {
namespace {

// Mode bits, the same in both types: U, S and M enable matching in that
// privilege (bit 3 + privilege). Bit 5 is reserved in mcontrol and the
// "uncertain" enable in mcontrol6; neither is offered.
constexpr unsigned kModeShift = 3;
constexpr uint64_t kModes = (1ull << 3) | (1ull << 4) | (1ull << 6);
constexpr uint64_t kAccesses = kLoad | kStore | kExecute;

// The size fields: mcontrol splits it into sizelo (17:16) and sizehi
// (22:21); mcontrol6 has one field at 18:16. Encodings 0 (any), 1, 2, 3 and
// 5 (1, 2, 4 and 8 bytes) are kept; others read back as 0, as QEMU does.
constexpr uint64_t kSizeLo = 3ull << 16;
constexpr uint64_t kSizeHi = 3ull << 21;
constexpr uint64_t kSize6 = 7ull << 16;

constexpr bool legal_size(uint64_t encoding) { return encoding <= 3 || encoding == 5; }

uint64_t type_of(uint64_t tdata1) { return tdata1 >> kTypeShift; }

bool enabled(uint64_t tdata1, uint64_t kind, unsigned privilege) {
  const uint64_t type = type_of(tdata1);
  if (type != kTypeMcontrol && type != kTypeMcontrol6) return false;
  return (tdata1 & kind) != 0 && ((tdata1 >> (kModeShift + privilege)) & 1) != 0;
}

}  // namespace

uint64_t write_tdata1(uint64_t old, uint64_t value) {
  const uint64_t type = type_of(value);
  uint64_t size = 0;
  if (type == kTypeMcontrol) {
    const uint64_t encoding = ((value & kSizeHi) >> 19) | ((value & kSizeLo) >> 16);
    if (legal_size(encoding)) size = value & (kSizeHi | kSizeLo);
  } else if (type == kTypeMcontrol6) {
    if (legal_size((value & kSize6) >> 16)) size = value & kSize6;
  } else {
    return old;  // QEMU ignores a write naming a type it does not offer
  }
  return (type << kTypeShift) | size | (value & (kModes | kAccesses));
}

bool valid_tdata1(uint64_t tdata1) { return write_tdata1(~tdata1, tdata1) == tdata1; }

bool armed(const DebugTriggers& triggers, uint64_t kind) {
  for (uint64_t tdata1 : triggers.tdata1) {
    const uint64_t type = type_of(tdata1);
    if ((type == kTypeMcontrol || type == kTypeMcontrol6) && (tdata1 & kind) && (tdata1 & kModes)) return true;
  }
  return false;
}

std::optional<uint64_t> match(const DebugTriggers& triggers, uint64_t kind, unsigned privilege, uint64_t address,
                              unsigned size_bytes) {
  for (unsigned i = 0; i < DebugTriggers::kCount; ++i) {
    if (!enabled(triggers.tdata1[i], kind, privilege)) continue;
    const uint64_t target = triggers.tdata2[i];
    // The access touches the target byte (wrapping at the top of the
    // address space like the access itself).
    if (target - address < size_bytes) return target;
  }
  return std::nullopt;
}

}  // namespace godwit::trigger
