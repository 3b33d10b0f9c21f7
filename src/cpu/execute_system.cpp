// Zicsr, fences, and the privileged instructions: ecall, ebreak, mret, sret,
// wfi, sfence.vma; plus the handler for everything not implemented.
#include "cpu/csr_defs.hpp"
#include "cpu/execute.hpp"
#include "cpu/hart.hpp"

namespace godwit {
namespace {

// QEMU puts the instruction bits into xtval for illegal instructions.
uint64_t instruction_bits(const DecodedInstruction& d) { return d.length == 2 ? d.raw & 0xffff : d.raw; }

}  // namespace

uint64_t Execute::illegal(Hart& h, const DecodedInstruction& d, uint64_t) {
  h.raise_exception(cause::kIllegalInstruction, instruction_bits(d));
  return h.state_.pc;
}

// csrrw always writes and reads only when rd != x0; csrrs/csrrc always read
// and write only when the source (register number or immediate) is nonzero
// (Zicsr 7.1). Checks come first, so a faulting instruction changes nothing.
uint64_t Execute::csr_instruction(Hart& h, const DecodedInstruction& d, uint64_t pc, CsrOp op, uint64_t operand) {
  HartState& s = h.state_;
  const auto number = static_cast<uint16_t>(d.imm);
  const bool writes = op == CsrOp::kWrite || d.rs1 != 0;
  const bool reads = op != CsrOp::kWrite || d.rd != 0;
  if (!h.csr_accessible(number, writes)) return illegal(h, d, pc);
  uint64_t old = 0;
  if (reads && !h.csr_read(number, old)) return illegal(h, d, pc);
  if (writes) {
    // A read-modify-write of mip or sip starts from the software-writable
    // bits, not from what a read returns (3.1.9): SEIP reads as the software
    // bit OR the PLIC's line, and OpenSBI's `csrs mip, SSIP` for an IPI must
    // not latch a device interrupt that happens to be pending into the
    // software bit, where nothing would ever clear it.
    const uint64_t base = (number == csr::kMip || number == csr::kSip) ? s.mip : old;
    uint64_t value = operand;
    if (op == CsrOp::kSet) value = base | operand;
    if (op == CsrOp::kClear) value = base & ~operand;
    if (!h.csr_write(number, value)) return illegal(h, d, pc);
  }
  s.x[d.rd] = old;
  return pc + 4;
}

uint64_t Execute::csrrw(Hart& h, const DecodedInstruction& d, uint64_t pc) {
  return csr_instruction(h, d, pc, CsrOp::kWrite, h.state_.x[d.rs1]);
}
uint64_t Execute::csrrs(Hart& h, const DecodedInstruction& d, uint64_t pc) {
  return csr_instruction(h, d, pc, CsrOp::kSet, h.state_.x[d.rs1]);
}
uint64_t Execute::csrrc(Hart& h, const DecodedInstruction& d, uint64_t pc) {
  return csr_instruction(h, d, pc, CsrOp::kClear, h.state_.x[d.rs1]);
}
uint64_t Execute::csrrwi(Hart& h, const DecodedInstruction& d, uint64_t pc) {
  return csr_instruction(h, d, pc, CsrOp::kWrite, d.rs1);
}
uint64_t Execute::csrrsi(Hart& h, const DecodedInstruction& d, uint64_t pc) {
  return csr_instruction(h, d, pc, CsrOp::kSet, d.rs1);
}
uint64_t Execute::csrrci(Hart& h, const DecodedInstruction& d, uint64_t pc) {
  return csr_instruction(h, d, pc, CsrOp::kClear, d.rs1);
}

// Guest memory is shared host memory: a full host fence orders this hart's
// accesses as any RISC-V fence asks (QEMU's TCG emits a host barrier too).
uint64_t Execute::fence(Hart&, const DecodedInstruction&, uint64_t pc) {
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  return pc + 4;
}

// fence.i ends its block, and every block is compared with memory when it is
// entered (see Hart::Block), so there is nothing to invalidate.
uint64_t Execute::fence_i(Hart&, const DecodedInstruction&, uint64_t pc) { return pc + 4; }

uint64_t Execute::ecall(Hart& h, const DecodedInstruction&, uint64_t) {
  static constexpr uint64_t kCause[] = {cause::kEcallFromU, cause::kEcallFromS, 10, cause::kEcallFromM};
  h.raise_exception(kCause[static_cast<unsigned>(h.state_.privilege)], 0);
  return h.state_.pc;
}

uint64_t Execute::ebreak(Hart& h, const DecodedInstruction&, uint64_t pc) {
  h.raise_exception(cause::kBreakpoint, pc);  // QEMU reports the pc in xtval
  return h.state_.pc;
}

uint64_t Execute::mret(Hart& h, const DecodedInstruction& d, uint64_t pc) {
  if (h.state_.privilege != Privilege::kMachine) return illegal(h, d, pc);
  return h.do_mret();
}

uint64_t Execute::sret(Hart& h, const DecodedInstruction& d, uint64_t pc) {
  const HartState& s = h.state_;
  if (s.privilege == Privilege::kUser ||
      (s.privilege == Privilege::kSupervisor && (s.mstatus & mstatus::kTSR))) {
    return illegal(h, d, pc);
  }
  return h.do_sret();
}

// In U-mode wfi is illegal (S-mode exists); in S-mode too when TW is set:
// QEMU traps at once rather than after a time limit (3.1.6.6).
uint64_t Execute::wfi(Hart& h, const DecodedInstruction& d, uint64_t pc) {
  const HartState& s = h.state_;
  if (s.privilege == Privilege::kUser ||
      (s.privilege == Privilege::kSupervisor && (s.mstatus & mstatus::kTW))) {
    return illegal(h, d, pc);
  }
  h.do_wfi();
  return pc + 4;
}

uint64_t Execute::sfence_vma(Hart& h, const DecodedInstruction& d, uint64_t pc) {
  const HartState& s = h.state_;
  if (s.privilege == Privilege::kUser ||
      (s.privilege == Privilege::kSupervisor && (s.mstatus & mstatus::kTVM))) {
    return illegal(h, d, pc);
  }
  // ASIDs are not tagged in the TLB, so rs2 does not narrow the flush.
  if (d.rs1 != 0) {
    h.flush_tlb_page(s.x[d.rs1]);
  } else {
    h.flush_tlb();
  }
  return pc + 4;
}

}  // namespace godwit
