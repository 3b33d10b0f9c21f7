// TLB misses of loads and stores, and the A extension. LR/SC/AMOs must be
// aligned and in RAM, where they use host atomics so harts on other host
// threads see them as indivisible.
#include "cpu/execute.hpp"
#include "cpu/hart.hpp"
#include "cpu/memory_access.hpp"

namespace godwit {

uint64_t Execute::load_miss(Hart& h, const DecodedInstruction& d, uint64_t pc, uint64_t va, unsigned size,
                            bool is_signed) {
  h.state_.pc = pc;  // the trap epc, should the access fault
  uint64_t wide;
  if (!h.load_slow(va, size, wide)) return h.state_.pc;  // trapped
  if (is_signed && size < 8) {
    const unsigned shift = 64 - 8 * size;
    wide = static_cast<uint64_t>(static_cast<int64_t>(wide << shift) >> shift);
  }
  h.state_.x[d.rd] = wide;
  return pc + d.length;
}

uint64_t Execute::store_miss(Hart& h, const DecodedInstruction& d, uint64_t pc, uint64_t va, unsigned size,
                             uint64_t value) {
  h.state_.pc = pc;
  if (!h.store_slow(va, size, value)) return h.state_.pc;  // trapped
  return pc + d.length;
}

namespace {

template <class T>
uint64_t sign_extend(T value) {
  return static_cast<uint64_t>(static_cast<int64_t>(static_cast<std::make_signed_t<T>>(value)));
}

}  // namespace

// LR records the physical address and the value read; SC succeeds only if
// memory still holds that value, by compare-and-swap. This is QEMU TCG's
// scheme. It cannot see a store that wrote back the same value (ABA), which
// no lock-free algorithm built on LR/SC can tell apart from no store.
#define GODWIT_LR(name, type)                                                        \
  uint64_t Execute::name(Hart& h, const DecodedInstruction& d, uint64_t pc) {                         \
    HartState& s = h.state_;                                                         \
    uint64_t pa;                                                                     \
    uint8_t* host = h.atomic_host_ptr(s.x[d.rs1], sizeof(type), Hart::Access::kRead, pa); \
    if (host == nullptr) return s.pc;                                                     \
    const type value = __atomic_load_n(reinterpret_cast<type*>(host), __ATOMIC_SEQ_CST); \
    s.reservation_address = pa;                                                      \
    s.reservation_value = value;                                                     \
    s.reservation_valid = true;                                                      \
    s.x[d.rd] = sign_extend(value);                                                  \
    return pc + d.length;                                                            \
  }

#define GODWIT_SC(name, type)                                                         \
  uint64_t Execute::name(Hart& h, const DecodedInstruction& d, uint64_t pc) {                          \
    HartState& s = h.state_;                                                          \
    uint64_t pa;                                                                      \
    uint8_t* host = h.atomic_host_ptr(s.x[d.rs1], sizeof(type), Hart::Access::kWrite, pa); \
    if (host == nullptr) return s.pc;                                                      \
    bool stored = false;                                                              \
    if (s.reservation_valid && s.reservation_address == pa) {                         \
      type expected = static_cast<type>(s.reservation_value);                         \
      stored = h.ram_compare_exchange<type>(host, expected, static_cast<type>(s.x[d.rs2])); \
    }                                                                                 \
    s.reservation_valid = false;                                                      \
    s.x[d.rd] = stored ? 0 : 1;                                                       \
    return pc + d.length;                                                             \
  }

GODWIT_LR(lr_w, uint32_t)
GODWIT_LR(lr_d, uint64_t)
GODWIT_SC(sc_w, uint32_t)
GODWIT_SC(sc_d, uint64_t)
#undef GODWIT_LR
#undef GODWIT_SC

#define GODWIT_AMO(name, type, op)                                                         \
  uint64_t Execute::name(Hart& h, const DecodedInstruction& d, uint64_t pc) {                               \
    HartState& s = h.state_;                                                               \
    uint64_t pa;                                                                           \
    uint8_t* host = h.atomic_host_ptr(s.x[d.rs1], sizeof(type), Hart::Access::kWrite, pa); \
    if (host == nullptr) return s.pc;                                                           \
    const type old = h.ram_amo<type>(host, Hart::AmoOp::op, static_cast<type>(s.x[d.rs2])); \
    s.x[d.rd] = sign_extend(old);                                                          \
    return pc + d.length;                                                                  \
  }

GODWIT_AMO(amoswap_w, uint32_t, kSwap)
GODWIT_AMO(amoadd_w, uint32_t, kAdd)
GODWIT_AMO(amoxor_w, uint32_t, kXor)
GODWIT_AMO(amoand_w, uint32_t, kAnd)
GODWIT_AMO(amoor_w, uint32_t, kOr)
GODWIT_AMO(amomin_w, uint32_t, kMin)
GODWIT_AMO(amomax_w, uint32_t, kMax)
GODWIT_AMO(amominu_w, uint32_t, kMinu)
GODWIT_AMO(amomaxu_w, uint32_t, kMaxu)
GODWIT_AMO(amoswap_d, uint64_t, kSwap)
GODWIT_AMO(amoadd_d, uint64_t, kAdd)
GODWIT_AMO(amoxor_d, uint64_t, kXor)
GODWIT_AMO(amoand_d, uint64_t, kAnd)
GODWIT_AMO(amoor_d, uint64_t, kOr)
GODWIT_AMO(amomin_d, uint64_t, kMin)
GODWIT_AMO(amomax_d, uint64_t, kMax)
GODWIT_AMO(amominu_d, uint64_t, kMinu)
GODWIT_AMO(amomaxu_d, uint64_t, kMaxu)
#undef GODWIT_AMO

}  // namespace godwit
