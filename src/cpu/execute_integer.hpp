// RV64I computational instructions, jumps and branches, and RV64M, inline
// for the interpreter's dispatch switch (InterpreterEngine::dispatch);
// internal to src/cpu. Division follows the spec's table of corner cases
// (unprivileged 13.2): no traps, x/0 = all ones, x%0 = x, INT_MIN/-1 =
// INT_MIN, rem 0.
#pragma once

#include <cstdint>

#include "cpu/execute.hpp"
#include "cpu/hart.hpp"

namespace godwit {
namespace execute_integer_detail {

using i64 = int64_t;
using u64 = uint64_t;
using i32 = int32_t;
using u32 = uint32_t;

inline u64 sext32(u64 value) { return static_cast<u64>(static_cast<i64>(static_cast<i32>(value))); }

}  // namespace execute_integer_detail

// Operands: `a` = x[rs1], `b` = x[rs2], `imm` = the decoded immediate.
#define GODWIT_RESULT(name, expression)                               \
  inline uint64_t Execute::name(Hart& h, const DecodedInstruction& d, uint64_t pc) { \
    using namespace execute_integer_detail;                           \
    u64* const x = h.state_.x.data();                                 \
    [[maybe_unused]] const u64 a = x[d.rs1];                          \
    [[maybe_unused]] const u64 b = x[d.rs2];                          \
    [[maybe_unused]] const u64 imm = static_cast<u64>(d.imm);         \
    x[d.rd] = (expression);                                           \
    return pc + d.length;                                             \
  }

GODWIT_RESULT(lui, imm)
GODWIT_RESULT(auipc, pc + imm)
GODWIT_RESULT(addi, a + imm)
GODWIT_RESULT(slti, static_cast<i64>(a) < static_cast<i64>(imm) ? 1 : 0)
GODWIT_RESULT(sltiu, a < imm ? 1 : 0)
GODWIT_RESULT(xori, a ^ imm)
GODWIT_RESULT(ori, a | imm)
GODWIT_RESULT(andi, a & imm)
GODWIT_RESULT(slli, a << (imm & 63))
GODWIT_RESULT(srli, a >> (imm & 63))
GODWIT_RESULT(srai, static_cast<u64>(static_cast<i64>(a) >> (imm & 63)))
GODWIT_RESULT(add, a + b)
GODWIT_RESULT(sub, a - b)
GODWIT_RESULT(sll, a << (b & 63))
GODWIT_RESULT(slt, static_cast<i64>(a) < static_cast<i64>(b) ? 1 : 0)
GODWIT_RESULT(sltu, a < b ? 1 : 0)
GODWIT_RESULT(xor_, a ^ b)
GODWIT_RESULT(srl, a >> (b & 63))
GODWIT_RESULT(sra, static_cast<u64>(static_cast<i64>(a) >> (b & 63)))
GODWIT_RESULT(or_, a | b)
GODWIT_RESULT(and_, a & b)
GODWIT_RESULT(addiw, sext32(a + imm))
GODWIT_RESULT(slliw, sext32(a << (imm & 31)))
GODWIT_RESULT(srliw, sext32(static_cast<u32>(a) >> (imm & 31)))
GODWIT_RESULT(sraiw, sext32(static_cast<u64>(static_cast<i32>(a) >> (imm & 31))))
GODWIT_RESULT(addw, sext32(a + b))
GODWIT_RESULT(subw, sext32(a - b))
GODWIT_RESULT(sllw, sext32(a << (b & 31)))
GODWIT_RESULT(srlw, sext32(static_cast<u32>(a) >> (b & 31)))
GODWIT_RESULT(sraw, sext32(static_cast<u64>(static_cast<i32>(a) >> (b & 31))))

GODWIT_RESULT(mul, a * b)
GODWIT_RESULT(mulh, static_cast<u64>((static_cast<__int128>(static_cast<i64>(a)) * static_cast<i64>(b)) >> 64))
GODWIT_RESULT(mulhsu,
              static_cast<u64>((static_cast<__int128>(static_cast<i64>(a)) * static_cast<unsigned __int128>(b)) >> 64))
GODWIT_RESULT(mulhu, static_cast<u64>((static_cast<unsigned __int128>(a) * b) >> 64))
GODWIT_RESULT(div, b == 0                                         ? ~0ull
                   : (static_cast<i64>(a) == INT64_MIN && static_cast<i64>(b) == -1) ? a
                                                                                      : static_cast<u64>(static_cast<i64>(a) / static_cast<i64>(b)))
GODWIT_RESULT(divu, b == 0 ? ~0ull : a / b)
GODWIT_RESULT(rem, b == 0                                         ? a
                   : (static_cast<i64>(a) == INT64_MIN && static_cast<i64>(b) == -1) ? 0
                                                                                      : static_cast<u64>(static_cast<i64>(a) % static_cast<i64>(b)))
GODWIT_RESULT(remu, b == 0 ? a : a % b)
GODWIT_RESULT(mulw, sext32(a * b))
GODWIT_RESULT(divw, static_cast<u32>(b) == 0 ? ~0ull
                    : (static_cast<i32>(a) == INT32_MIN && static_cast<i32>(b) == -1)
                        ? sext32(a)
                        : sext32(static_cast<u64>(static_cast<i32>(a) / static_cast<i32>(b))))
GODWIT_RESULT(divuw, static_cast<u32>(b) == 0 ? ~0ull : sext32(static_cast<u32>(a) / static_cast<u32>(b)))
GODWIT_RESULT(remw, static_cast<u32>(b) == 0 ? sext32(a)
                    : (static_cast<i32>(a) == INT32_MIN && static_cast<i32>(b) == -1)
                        ? 0
                        : sext32(static_cast<u64>(static_cast<i32>(a) % static_cast<i32>(b))))
GODWIT_RESULT(remuw, static_cast<u32>(b) == 0 ? sext32(a) : sext32(static_cast<u32>(a) % static_cast<u32>(b)))

#undef GODWIT_RESULT

// With C, instructions are 2-byte aligned and jump targets always have bit 0
// clear (jalr clears it), so jumps never raise address-misaligned.
inline uint64_t Execute::jal(Hart& h, const DecodedInstruction& d, uint64_t pc) {
  h.state_.x[d.rd] = pc + d.length;
  return pc + static_cast<uint64_t>(d.imm);
}

inline uint64_t Execute::jalr(Hart& h, const DecodedInstruction& d, uint64_t pc) {
  uint64_t* const x = h.state_.x.data();
  const uint64_t target = (x[d.rs1] + static_cast<uint64_t>(d.imm)) & ~1ull;  // before rd is written: rd may be rs1
  x[d.rd] = pc + d.length;
  return target;
}

#define GODWIT_BRANCH(name, condition)                                           \
  inline uint64_t Execute::name(Hart& h, const DecodedInstruction& d, uint64_t pc) { \
    using namespace execute_integer_detail;                                      \
    const u64 a = h.state_.x[d.rs1];                                             \
    const u64 b = h.state_.x[d.rs2];                                             \
    return (condition) ? pc + static_cast<u64>(d.imm) : pc + d.length;           \
  }

GODWIT_BRANCH(beq, a == b)
GODWIT_BRANCH(bne, a != b)
GODWIT_BRANCH(blt, static_cast<i64>(a) < static_cast<i64>(b))
GODWIT_BRANCH(bge, static_cast<i64>(a) >= static_cast<i64>(b))
GODWIT_BRANCH(bltu, a < b)
GODWIT_BRANCH(bgeu, a >= b)

#undef GODWIT_BRANCH

}  // namespace godwit
