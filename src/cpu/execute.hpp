// Execute functions, one per instruction, named by the instruction table's
// Op. They are static members of a friend of Hart so they reach its
// internals without making them public. The simple ones are defined inline
// (execute_integer.hpp, execute_memory.hpp) so the dispatch switch can inline
// them; the rest live in execute_memory.cpp and execute_system.cpp.
#pragma once

#include <cstdint>

#include "cpu/instruction_table.hpp"

namespace godwit {

class Hart;

struct Execute {
#define GODWIT_DECLARE_EXECUTE(name) static uint64_t name(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  GODWIT_EXECUTE_FUNCTIONS(GODWIT_DECLARE_EXECUTE)
#undef GODWIT_DECLARE_EXECUTE

 private:
  enum class CsrOp { kWrite, kSet, kClear };
  template <class T>
  static uint64_t load(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  template <class T>
  static uint64_t store(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  // TLB misses, out of line; `is_signed` picks how the loaded bits extend.
  static uint64_t load_miss(Hart& hart, const DecodedInstruction& d, uint64_t pc, uint64_t va, unsigned size,
                            bool is_signed);
  static uint64_t store_miss(Hart& hart, const DecodedInstruction& d, uint64_t pc, uint64_t va, unsigned size,
                             uint64_t value);
  static uint64_t csr_instruction(Hart& hart, const DecodedInstruction& d, uint64_t pc, CsrOp op, uint64_t operand);
};

}  // namespace godwit
