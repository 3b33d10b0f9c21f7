// Disassembly from the same rows and operand extraction the decoder uses.
// Operands print as GNU objdump -M no-aliases prints them (ABI register
// names, decimal immediates, hex shift amounts and upper immediates), except
// that targets are bare absolute hex addresses and fence prints no sets.
#include <cinttypes>
#include <cstdio>

#include "cpu/csr.hpp"
#include "cpu/instruction_table.hpp"

namespace godwit {

const char* register_name(unsigned index) {
  static constexpr const char* kNames[32] = {"zero", "ra", "sp", "gp", "tp",  "t0",  "t1", "t2", "s0", "s1", "a0",
                                             "a1",   "a2", "a3", "a4", "a5",  "a6",  "a7", "s2", "s3", "s4", "s5",
                                             "s6",   "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6"};
  return index < 32 ? kNames[index] : "?";
}

const char* float_register_name(unsigned index) {
  static constexpr const char* kNames[32] = {"ft0", "ft1", "ft2",  "ft3",  "ft4", "ft5", "ft6",  "ft7",
                                             "fs0", "fs1", "fa0",  "fa1",  "fa2", "fa3", "fa4",  "fa5",
                                             "fa6", "fa7", "fs2",  "fs3",  "fs4", "fs5", "fs6",  "fs7",
                                             "fs8", "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11"};
  return index < 32 ? kNames[index] : "?";
}

namespace {

// A static rounding mode as objdump prints it after the operands; nothing
// for dynamic (7), nor for the conversions that are always exact.
const char* rounding_suffix(const DecodedInstruction& d) {
  static constexpr const char* kSuffixes[8] = {",rne", ",rtz", ",rdn", ",rup", ",rmm", ",?", ",?", ""};
  if (d.op == Op::fcvt_d_s || d.op == Op::fcvt_d_w || d.op == Op::fcvt_d_wu) return "";
  return kSuffixes[float_rounding_field(d)];
}

}  // namespace

std::string disassemble(uint32_t raw, uint64_t pc) {
  const InstructionInfo* row = find_instruction(raw);
  char text[96];
  if (row == nullptr) {
    std::snprintf(text, sizeof text, "illegal 0x%0*x", is_compressed(raw) ? 4 : 8,
                  is_compressed(raw) ? raw & 0xffff : raw);
    return text;
  }
  const DecodedInstruction d = decode(raw);
  const char* rd = register_name(d.rd);
  const char* rs1 = register_name(d.rs1);
  const char* rs2 = register_name(d.rs2);
  const char* fd = float_register_name(d.rd);
  const char* fs1 = float_register_name(d.rs1);
  const char* fs2 = float_register_name(d.rs2);
  const char* name = row->name;
  const long long imm = d.imm;
  const unsigned long long target = pc + static_cast<uint64_t>(d.imm);
  const unsigned upper = static_cast<unsigned>((static_cast<uint64_t>(d.imm) >> 12) & 0xfffff);

  switch (row->format) {
    case Format::kR:
      std::snprintf(text, sizeof text, "%s %s,%s,%s", name, rd, rs1, rs2);
      break;
    case Format::kShift:
      std::snprintf(text, sizeof text, "%s %s,%s,0x%llx", name, rd, rs1, static_cast<unsigned long long>(imm));
      break;
    case Format::kI:
    case Format::kCAddi4spn:
      std::snprintf(text, sizeof text, "%s %s,%s,%lld", name, rd, rs1, imm);
      break;
    case Format::kLoad:
    case Format::kCLw:
    case Format::kCLd:
    case Format::kCLwsp:
    case Format::kCLdsp:
      std::snprintf(text, sizeof text, "%s %s,%lld(%s)", name, rd, imm, rs1);
      break;
    case Format::kStore:
    case Format::kCSw:
    case Format::kCSd:
    case Format::kCSwsp:
    case Format::kCSdsp:
      std::snprintf(text, sizeof text, "%s %s,%lld(%s)", name, rs2, imm, rs1);
      break;
    case Format::kBranch:
      std::snprintf(text, sizeof text, "%s %s,%s,0x%llx", name, rs1, rs2, target);
      break;
    case Format::kU:
    case Format::kCLui:
      std::snprintf(text, sizeof text, "%s %s,0x%x", name, rd, upper);
      break;
    case Format::kJ:
      std::snprintf(text, sizeof text, "%s %s,0x%llx", name, rd, target);
      break;
    case Format::kCsr:
      std::snprintf(text, sizeof text, "%s %s,%s,%s", name, rd, csr_name(static_cast<uint16_t>(d.imm)).c_str(), rs1);
      break;
    case Format::kCsrImm:
      std::snprintf(text, sizeof text, "%s %s,%s,%u", name, rd, csr_name(static_cast<uint16_t>(d.imm)).c_str(),
                    static_cast<unsigned>(d.rs1));
      break;
    case Format::kAmo:
      std::snprintf(text, sizeof text, "%s %s,%s,(%s)", name, rd, rs2, rs1);
      break;
    case Format::kLr:
      std::snprintf(text, sizeof text, "%s %s,(%s)", name, rd, rs1);
      break;
    case Format::kSfence:
      std::snprintf(text, sizeof text, "%s %s,%s", name, rs1, rs2);
      break;
    case Format::kNone:
    case Format::kCNone:
      std::snprintf(text, sizeof text, "%s", name);
      break;
    case Format::kCShift:
    case Format::kCSlli:
      std::snprintf(text, sizeof text, "%s %s,0x%llx", name, rd, static_cast<unsigned long long>(imm));
      break;
    case Format::kCAddi:
    case Format::kCAddiw:
    case Format::kCLi:
    case Format::kCAddi16sp:
    case Format::kCAndi:
      std::snprintf(text, sizeof text, "%s %s,%lld", name, rd, imm);
      break;
    case Format::kCArith:
    case Format::kCMv:
    case Format::kCAdd:
      std::snprintf(text, sizeof text, "%s %s,%s", name, rd, rs2);
      break;
    case Format::kCJ:
      std::snprintf(text, sizeof text, "%s 0x%llx", name, target);
      break;
    case Format::kCBranch:
      std::snprintf(text, sizeof text, "%s %s,0x%llx", name, rs1, target);
      break;
    case Format::kCJr:
    case Format::kCJalr:
      std::snprintf(text, sizeof text, "%s %s", name, rs1);
      break;
    case Format::kFLoad:
    case Format::kCFld:
    case Format::kCFldsp:
      std::snprintf(text, sizeof text, "%s %s,%lld(%s)", name, fd, imm, rs1);
      break;
    case Format::kFStore:
    case Format::kCFsd:
    case Format::kCFsdsp:
      std::snprintf(text, sizeof text, "%s %s,%lld(%s)", name, fs2, imm, rs1);
      break;
    case Format::kFR4:
      std::snprintf(text, sizeof text, "%s %s,%s,%s,%s%s", name, fd, fs1, fs2, float_register_name(float_rs3(d)),
                    rounding_suffix(d));
      break;
    case Format::kFRRm:
      std::snprintf(text, sizeof text, "%s %s,%s,%s%s", name, fd, fs1, fs2, rounding_suffix(d));
      break;
    case Format::kFR:
      std::snprintf(text, sizeof text, "%s %s,%s,%s", name, fd, fs1, fs2);
      break;
    case Format::kFUnaryRm:
      std::snprintf(text, sizeof text, "%s %s,%s%s", name, fd, fs1, rounding_suffix(d));
      break;
    case Format::kFCompare:
      std::snprintf(text, sizeof text, "%s %s,%s,%s", name, rd, fs1, fs2);
      break;
    case Format::kFToIntRm:
      std::snprintf(text, sizeof text, "%s %s,%s%s", name, rd, fs1, rounding_suffix(d));
      break;
    case Format::kFToInt:
      std::snprintf(text, sizeof text, "%s %s,%s", name, rd, fs1);
      break;
    case Format::kIntToFRm:
      std::snprintf(text, sizeof text, "%s %s,%s%s", name, fd, rs1, rounding_suffix(d));
      break;
    case Format::kIntToF:
      std::snprintf(text, sizeof text, "%s %s,%s", name, fd, rs1);
      break;
  }
  return text;
}

}  // namespace godwit
