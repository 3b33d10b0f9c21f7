// Loads, stores and the A extension. Plain accesses may be misaligned (the
// TLB path copies bytes, the slow path splits them); LR/SC/AMOs must be
// aligned and in RAM, where they use host atomics so harts on other host
// threads see them as indivisible.
#include "cpu/execute.hpp"
#include "cpu/hart.hpp"
#include "cpu/memory_access.hpp"

namespace godwit {

// Loads sign- or zero-extend by their type (int32_t for lw, uint32_t for lwu).
template <class T>
[[gnu::always_inline]] inline uint64_t Execute::load(Hart& h, const DecodedInstruction& d, uint64_t pc) {
  uint64_t* const x = h.state_.x;
  const uint64_t va = x[d.rs1] + static_cast<uint64_t>(d.imm);
  T value;
  if (!h.load_fast(va, value)) [[unlikely]] return load_miss<T>(h, d, pc, va);
  x[d.rd] = static_cast<uint64_t>(static_cast<int64_t>(value));
  return pc + d.length;
}

template <class T>
[[gnu::noinline]] uint64_t Execute::load_miss(Hart& h, const DecodedInstruction& d, uint64_t pc, uint64_t va) {
  uint64_t wide;
  if (!h.load_slow(va, sizeof(T), wide)) return h.state_.pc;  // trapped
  h.state_.x[d.rd] = static_cast<uint64_t>(static_cast<int64_t>(static_cast<T>(wide)));
  return pc + d.length;
}

template <class T>
[[gnu::always_inline]] inline uint64_t Execute::store(Hart& h, const DecodedInstruction& d, uint64_t pc) {
  const uint64_t* const x = h.state_.x;
  const uint64_t va = x[d.rs1] + static_cast<uint64_t>(d.imm);
  const auto value = static_cast<T>(x[d.rs2]);
  if (!h.store_fast(va, value)) [[unlikely]] return store_miss<T>(h, d, pc, va, value);
  return pc + d.length;
}

template <class T>
[[gnu::noinline]] uint64_t Execute::store_miss(Hart& h, const DecodedInstruction& d, uint64_t pc, uint64_t va,
                                               T value) {
  if (!h.store_slow(va, sizeof(T), value)) return h.state_.pc;  // trapped
  return pc + d.length;
}

uint64_t Execute::lb(Hart& h, const DecodedInstruction& d, uint64_t pc) { return load<int8_t>(h, d, pc); }
uint64_t Execute::lh(Hart& h, const DecodedInstruction& d, uint64_t pc) { return load<int16_t>(h, d, pc); }
uint64_t Execute::lw(Hart& h, const DecodedInstruction& d, uint64_t pc) { return load<int32_t>(h, d, pc); }
uint64_t Execute::ld(Hart& h, const DecodedInstruction& d, uint64_t pc) { return load<int64_t>(h, d, pc); }
uint64_t Execute::lbu(Hart& h, const DecodedInstruction& d, uint64_t pc) { return load<uint8_t>(h, d, pc); }
uint64_t Execute::lhu(Hart& h, const DecodedInstruction& d, uint64_t pc) { return load<uint16_t>(h, d, pc); }
uint64_t Execute::lwu(Hart& h, const DecodedInstruction& d, uint64_t pc) { return load<uint32_t>(h, d, pc); }
uint64_t Execute::sb(Hart& h, const DecodedInstruction& d, uint64_t pc) { return store<uint8_t>(h, d, pc); }
uint64_t Execute::sh(Hart& h, const DecodedInstruction& d, uint64_t pc) { return store<uint16_t>(h, d, pc); }
uint64_t Execute::sw(Hart& h, const DecodedInstruction& d, uint64_t pc) { return store<uint32_t>(h, d, pc); }
uint64_t Execute::sd(Hart& h, const DecodedInstruction& d, uint64_t pc) { return store<uint64_t>(h, d, pc); }

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
      stored = Hart::ram_compare_exchange<type>(host, expected, static_cast<type>(s.x[d.rs2])); \
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
    const type old = Hart::ram_amo<type>(host, Hart::AmoOp::op, static_cast<type>(s.x[d.rs2])); \
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
