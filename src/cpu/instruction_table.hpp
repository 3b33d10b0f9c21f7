// The instruction table: one row per instruction {name, mask, match, operand
// format, execute}. The decoder, the disassembler and the tests all read the
// same rows, so what is printed cannot drift from what is executed.
//
// Compressed instructions have rows of their own (16-bit mask/match) whose
// formats extract operands into the same fields as their 32-bit expansion and
// name the same execute function.
//
// An execute function is named by an Op rather than a pointer: the
// interpreter dispatches with a switch over Op, which lets the compiler
// inline the simple ones into its loop (see InterpreterEngine::dispatch).
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace godwit {

// Every execute function (static members of Execute, execute.hpp). Each
// takes (Hart&, const DecodedInstruction&, uint64_t pc) and returns the pc of
// the next instruction, or the trap vector if it trapped.
#define GODWIT_EXECUTE_FUNCTIONS(X) \
  X(lui) X(auipc) X(jal) X(jalr) X(beq) X(bne) X(blt) X(bge) X(bltu) X(bgeu) X(lb) X(lh) X(lw) X(ld) X(lbu) \
  X(lhu) X(lwu) X(sb) X(sh) X(sw) X(sd) X(addi) X(slti) X(sltiu) X(xori) X(ori) X(andi) X(slli) X(srli) X(srai) \
  X(add) X(sub) X(sll) X(slt) X(sltu) X(xor_) X(srl) X(sra) X(or_) X(and_) X(addiw) X(slliw) X(srliw) X(sraiw) \
  X(addw) X(subw) X(sllw) X(srlw) X(sraw) X(mul) X(mulh) X(mulhsu) X(mulhu) X(div) X(divu) X(rem) X(remu) \
  X(mulw) X(divw) X(divuw) X(remw) X(remuw) X(lr_w) X(lr_d) X(sc_w) X(sc_d) X(amoswap_w) X(amoadd_w) \
  X(amoxor_w) X(amoand_w) X(amoor_w) X(amomin_w) X(amomax_w) X(amominu_w) X(amomaxu_w) X(amoswap_d) X(amoadd_d) \
  X(amoxor_d) X(amoand_d) X(amoor_d) X(amomin_d) X(amomax_d) X(amominu_d) X(amomaxu_d) X(csrrw) X(csrrs) \
  X(csrrc) X(csrrwi) X(csrrsi) X(csrrci) X(fence) X(fence_i) X(ecall) X(ebreak) X(mret) X(sret) X(wfi) \
  X(sfence_vma) GODWIT_FLOAT_FUNCTIONS(X) X(illegal)

// F and D (execute_float.cpp).
#define GODWIT_FLOAT_FUNCTIONS(X) \
  X(flw) X(fsw) X(fmadd_s) X(fmsub_s) X(fnmsub_s) X(fnmadd_s) X(fadd_s) X(fsub_s) X(fmul_s) X(fdiv_s) X(fsqrt_s) \
  X(fsgnj_s) X(fsgnjn_s) X(fsgnjx_s) X(fmin_s) X(fmax_s) X(fcvt_w_s) X(fcvt_wu_s) X(fcvt_l_s) X(fcvt_lu_s) \
  X(fmv_x_w) X(feq_s) X(flt_s) X(fle_s) X(fclass_s) X(fcvt_s_w) X(fcvt_s_wu) X(fcvt_s_l) X(fcvt_s_lu) X(fmv_w_x) \
  X(fld) X(fsd) X(fmadd_d) X(fmsub_d) X(fnmsub_d) X(fnmadd_d) X(fadd_d) X(fsub_d) X(fmul_d) X(fdiv_d) X(fsqrt_d) \
  X(fsgnj_d) X(fsgnjn_d) X(fsgnjx_d) X(fmin_d) X(fmax_d) X(fcvt_w_d) X(fcvt_wu_d) X(fcvt_l_d) X(fcvt_lu_d) \
  X(fmv_x_d) X(feq_d) X(flt_d) X(fle_d) X(fclass_d) X(fcvt_d_w) X(fcvt_d_wu) X(fcvt_d_l) X(fcvt_d_lu) X(fmv_d_x) \
  X(fcvt_s_d) X(fcvt_d_s)

enum class Op : uint8_t {
#define GODWIT_OP_ENUMERATOR(name) name,
  GODWIT_EXECUTE_FUNCTIONS(GODWIT_OP_ENUMERATOR)
#undef GODWIT_OP_ENUMERATOR
};

// A decoded instruction: the handler with its operands already extracted.
// Floating-point instructions keep their rounding mode in imm bits 2:0 and,
// for the fused multiply-adds, rs3 in imm bits 7:3 (see float_operands()).
// `raw` tags it: decoding is a pure function of the instruction bits, so an
// entry whose `raw` equals the bits in memory is valid, wherever and
// whenever it was decoded.
struct DecodedInstruction {
  uint32_t raw;
  int32_t imm;  // immediate, shift amount or CSR number (all fit 32 bits)
  Op op;
  uint8_t rd;
  uint8_t rs1;
  uint8_t rs2;
  uint8_t length;     // 2 or 4 bytes
  uint8_t offset;     // bytes from the start of its block (see Hart)
  bool ends_block;    // may change pc, privilege, translation or interrupts
};
static_assert(sizeof(DecodedInstruction) == 16);

// The rm field (0..4 static, 7 dynamic; decode refuses 5 and 6) and rs3.
inline unsigned float_rounding_field(const DecodedInstruction& d) { return static_cast<unsigned>(d.imm) & 7; }
inline unsigned float_rs3(const DecodedInstruction& d) { return (static_cast<unsigned>(d.imm) >> 3) & 31; }

// How operands are found in the bits, and how they are printed.
enum class Format : uint8_t {
  // 32-bit formats.
  kR,       // rd, rs1, rs2
  kI,       // rd, rs1, imm
  kShift,   // rd, rs1, shamt (6 bits; 5 for the W forms, whose mask pins bit 25)
  kLoad,    // rd, imm(rs1)
  kStore,   // rs2, imm(rs1)
  kBranch,  // rs1, rs2, pc-relative target
  kU,       // rd, imm[31:12]
  kJ,       // rd, pc-relative target
  kCsr,     // rd, csr, rs1
  kCsrImm,  // rd, csr, uimm (in rs1)
  kAmo,     // rd, rs2, (rs1)
  kLr,      // rd, (rs1)
  kSfence,  // rs1, rs2
  kNone,    // no operands printed
  // F and D: f for a floating-point register, x for an integer one; "rm"
  // formats carry a rounding mode.
  kFLoad,       // fd, imm(xs1)
  kFStore,      // fs2, imm(xs1)
  kFR4,         // fd, fs1, fs2, fs3, rm
  kFRRm,        // fd, fs1, fs2, rm
  kFR,          // fd, fs1, fs2
  kFUnaryRm,    // fd, fs1, rm
  kFCompare,    // xd, fs1, fs2
  kFToIntRm,    // xd, fs1, rm
  kFToInt,      // xd, fs1
  kIntToFRm,    // fd, xs1, rm
  kIntToF,      // fd, xs1
  // Compressed formats (RVC, unprivileged spec chapter 16).
  kCAddi4spn,
  kCLw,
  kCLd,
  kCSw,
  kCSd,
  kCAddi,   // also c.addiw (rd != 0)
  kCAddiw,
  kCLi,
  kCAddi16sp,
  kCLui,
  kCShift,  // c.srli, c.srai
  kCAndi,
  kCArith,  // c.sub .. c.addw
  kCJ,
  kCBranch,
  kCSlli,
  kCLwsp,
  kCLdsp,
  kCSwsp,
  kCSdsp,
  kCJr,
  kCJalr,
  kCMv,
  kCAdd,
  kCNone,
  kCFld,    // c.fld: fd, as c.ld
  kCFsd,    // c.fsd: fs2, as c.sd
  kCFldsp,  // c.fldsp: fd (f0 allowed), as c.ldsp
  kCFsdsp,  // c.fsdsp: fs2, as c.sdsp
};

struct InstructionInfo {
  const char* name;
  uint32_t mask;
  uint32_t match;
  Format format;
  Op op;
};

// All rows; 32-bit rows first, then compressed ones. Within a group the first
// matching row wins, so more specific rows come first.
std::span<const InstructionInfo> instruction_table();

bool is_compressed(uint32_t raw);
bool is_compressed_format(Format format);

// Decodes the instruction in the low 16 (compressed) or 32 bits of `raw`.
// Unknown or reserved encodings decode to the illegal-instruction handler.
DecodedInstruction decode(uint32_t raw);

// The row that decodes `raw`, or nullptr for an illegal instruction.
const InstructionInfo* find_instruction(uint32_t raw);

std::string disassemble(uint32_t raw, uint64_t pc);

// Disassembly helpers shared with the CSR code.
const char* register_name(unsigned index);
const char* float_register_name(unsigned index);

}  // namespace godwit
