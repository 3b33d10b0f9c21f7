// Loads and stores, inline for the interpreter's dispatch
// (InterpreterEngine::dispatch); internal to src/cpu. Plain accesses may be misaligned:
// the TLB path copies bytes, the slow path (execute_memory.cpp, mmu.cpp)
// splits them.
#pragma once

#include <type_traits>

#include "cpu/execute.hpp"
#include "cpu/hart.hpp"
#include "cpu/memory_access.hpp"

namespace godwit {

// Loads sign- or zero-extend by their type (int32_t for lw, uint32_t for lwu).
template <class T>
[[gnu::always_inline]] inline uint64_t Execute::load(Hart& h, const DecodedInstruction& d, uint64_t pc) {
  uint64_t* const x = h.state_.x.data();
  const uint64_t va = x[d.rs1] + static_cast<uint64_t>(d.imm);
  T value;
  if (!h.load_fast(va, value)) [[unlikely]] return load_miss(h, d, pc, va, sizeof(T), std::is_signed_v<T>);
  x[d.rd] = static_cast<uint64_t>(static_cast<int64_t>(value));
  return pc + d.length;
}

template <class T>
[[gnu::always_inline]] inline uint64_t Execute::store(Hart& h, const DecodedInstruction& d, uint64_t pc) {
  const uint64_t* const x = h.state_.x.data();
  const uint64_t va = x[d.rs1] + static_cast<uint64_t>(d.imm);
  const auto value = static_cast<T>(x[d.rs2]);
  if (!h.store_fast(va, value)) [[unlikely]] return store_miss(h, d, pc, va, sizeof(T), value);
  return pc + d.length;
}

inline uint64_t Execute::lb(Hart& h, const DecodedInstruction& d, uint64_t pc) { return load<int8_t>(h, d, pc); }
inline uint64_t Execute::lh(Hart& h, const DecodedInstruction& d, uint64_t pc) { return load<int16_t>(h, d, pc); }
inline uint64_t Execute::lw(Hart& h, const DecodedInstruction& d, uint64_t pc) { return load<int32_t>(h, d, pc); }
inline uint64_t Execute::ld(Hart& h, const DecodedInstruction& d, uint64_t pc) { return load<int64_t>(h, d, pc); }
inline uint64_t Execute::lbu(Hart& h, const DecodedInstruction& d, uint64_t pc) { return load<uint8_t>(h, d, pc); }
inline uint64_t Execute::lhu(Hart& h, const DecodedInstruction& d, uint64_t pc) { return load<uint16_t>(h, d, pc); }
inline uint64_t Execute::lwu(Hart& h, const DecodedInstruction& d, uint64_t pc) { return load<uint32_t>(h, d, pc); }
inline uint64_t Execute::sb(Hart& h, const DecodedInstruction& d, uint64_t pc) { return store<uint8_t>(h, d, pc); }
inline uint64_t Execute::sh(Hart& h, const DecodedInstruction& d, uint64_t pc) { return store<uint16_t>(h, d, pc); }
inline uint64_t Execute::sw(Hart& h, const DecodedInstruction& d, uint64_t pc) { return store<uint32_t>(h, d, pc); }
inline uint64_t Execute::sd(Hart& h, const DecodedInstruction& d, uint64_t pc) { return store<uint64_t>(h, d, pc); }

}  // namespace godwit
