// Inline fast paths for data accesses, and the funnel for CPU writes to RAM.
// Internal to src/cpu: included by the files that execute memory accesses.
#pragma once

#include <cstring>
#include <type_traits>

#include "cpu/hart.hpp"

namespace godwit {

// TLB hits only: false sends the caller to load_slow/store_slow, kept out
// of line so the execute functions' fast paths need no stack frame.
template <class T>
inline bool Hart::load_fast(uint64_t va, T& value) {
  const uint64_t page = va >> kPageShift;
  const TlbEntry& e = data_tlb_->entries[static_cast<unsigned>(Access::kRead)][page % kTlbEntries];
  // One compare covers "same page" and "does not run off its end", so
  // misaligned accesses inside a RAM page also stay on the fast path.
  if (e.tag == page && (va & (kPageSize - 1)) <= kPageSize - sizeof(T)) [[likely]] {
    std::memcpy(&value, reinterpret_cast<const void*>(va + e.addend), sizeof(T));
    return true;
  }
  return false;
}

template <class T>
inline bool Hart::store_fast(uint64_t va, T value) {
  const uint64_t page = va >> kPageShift;
  const TlbEntry& e = data_tlb_->entries[static_cast<unsigned>(Access::kWrite)][page % kTlbEntries];
  if (e.tag == page && (va & (kPageSize - 1)) <= kPageSize - sizeof(T)) [[likely]] {
    uint8_t* const host = reinterpret_cast<uint8_t*>(va + e.addend);
    ram_store(host, value);
    note_code_write(host, sizeof(T));
    return true;
  }
  return false;
}

// --- Every CPU write to guest RAM goes through the functions below ---
// (stores on the TLB fast path and the slow path, SC, AMOs and page-table
// A/D updates). Each calls ram_note_write after writing, which marks the
// page in the AddressSpace's dirty log while migration runs: one load and
// one predictable branch when it does not. Marking after the write lets a
// migration sync that sees the mark also see the data. The TLB fast path
// calls it too, so no TLB flush is needed to start logging.
inline void Hart::ram_note_write(uint8_t* host, unsigned size) const { memory_.note_ram_write(host, size); }

template <class T>
inline void Hart::ram_store(uint8_t* host, T value) const {
  std::memcpy(host, &value, sizeof(T));
  ram_note_write(host, sizeof(T));
}

inline void Hart::ram_store_byte(uint8_t* host, uint8_t value) const {
  *host = value;
  ram_note_write(host, 1);
}

// A failed compare-exchange wrote nothing, so marks nothing.
template <class T>
inline bool Hart::ram_compare_exchange(uint8_t* host, T& expected, T desired) const {
  const bool stored = __atomic_compare_exchange_n(reinterpret_cast<T*>(host), &expected, desired, false,
                                                  __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  if (stored) ram_note_write(host, sizeof(T));
  return stored;
}

template <class T>
inline T Hart::ram_amo(uint8_t* host, AmoOp op, T operand) const {
  T* p = reinterpret_cast<T*>(host);
  const T old = [&]() -> T {
    using S = std::make_signed_t<T>;
    switch (op) {
      case AmoOp::kSwap: return __atomic_exchange_n(p, operand, __ATOMIC_SEQ_CST);
      case AmoOp::kAdd: return __atomic_fetch_add(p, operand, __ATOMIC_SEQ_CST);
      case AmoOp::kXor: return __atomic_fetch_xor(p, operand, __ATOMIC_SEQ_CST);
      case AmoOp::kAnd: return __atomic_fetch_and(p, operand, __ATOMIC_SEQ_CST);
      case AmoOp::kOr: return __atomic_fetch_or(p, operand, __ATOMIC_SEQ_CST);
      default: break;
    }
    // min/max have no host builtin: compare-and-swap until no other hart
    // changed the word in between.
    T seen = __atomic_load_n(p, __ATOMIC_SEQ_CST);
    for (;;) {
      T desired = seen;
      switch (op) {
        case AmoOp::kMin: desired = static_cast<S>(operand) < static_cast<S>(seen) ? operand : seen; break;
        case AmoOp::kMax: desired = static_cast<S>(operand) > static_cast<S>(seen) ? operand : seen; break;
        case AmoOp::kMinu: desired = operand < seen ? operand : seen; break;
        default: desired = operand > seen ? operand : seen; break;
      }
      if (__atomic_compare_exchange_n(p, &seen, desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) return seen;
    }
  }();
  // An AMO writes even when the value stays the same (RISC-V A: it is a
  // store for every purpose), so it always marks.
  ram_note_write(host, sizeof(T));
  return old;
}

}  // namespace godwit
