// Execute functions, one per instruction, referenced by the instruction
// table. They are static members of a friend of Hart so they reach its
// internals without making them public.
#pragma once

#include <cstdint>

#include "cpu/instruction_table.hpp"

namespace godwit {

struct Execute {
  static uint64_t lui(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t auipc(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t jal(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t jalr(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t beq(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t bne(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t blt(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t bge(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t bltu(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t bgeu(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t lb(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t lh(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t lw(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t ld(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t lbu(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t lhu(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t lwu(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t sb(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t sh(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t sw(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t sd(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t addi(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t slti(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t sltiu(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t xori(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t ori(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t andi(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t slli(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t srli(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t srai(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t add(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t sub(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t sll(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t slt(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t sltu(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t xor_(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t srl(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t sra(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t or_(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t and_(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t addiw(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t slliw(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t srliw(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t sraiw(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t addw(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t subw(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t sllw(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t srlw(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t sraw(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t mul(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t mulh(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t mulhsu(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t mulhu(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t div(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t divu(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t rem(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t remu(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t mulw(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t divw(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t divuw(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t remw(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t remuw(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t lr_w(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t lr_d(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t sc_w(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t sc_d(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t amoswap_w(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t amoadd_w(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t amoxor_w(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t amoand_w(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t amoor_w(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t amomin_w(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t amomax_w(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t amominu_w(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t amomaxu_w(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t amoswap_d(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t amoadd_d(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t amoxor_d(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t amoand_d(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t amoor_d(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t amomin_d(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t amomax_d(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t amominu_d(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t amomaxu_d(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t csrrw(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t csrrs(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t csrrc(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t csrrwi(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t csrrsi(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t csrrci(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t fence(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t fence_i(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t ecall(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t ebreak(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t mret(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t sret(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t wfi(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t sfence_vma(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  static uint64_t illegal(Hart& hart, const DecodedInstruction& d, uint64_t pc);

 private:
  enum class CsrOp { kWrite, kSet, kClear };
  template <class T>
  static uint64_t load(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  template <class T>
  static uint64_t load_miss(Hart& hart, const DecodedInstruction& d, uint64_t pc, uint64_t va);
  template <class T>
  static uint64_t store(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  template <class T>
  static uint64_t store_miss(Hart& hart, const DecodedInstruction& d, uint64_t pc, uint64_t va, T value);
  static uint64_t csr_instruction(Hart& hart, const DecodedInstruction& d, uint64_t pc, CsrOp op, uint64_t operand);
};

}  // namespace godwit
