// Decoding: find the table row, then pull the operands out of the bits
// according to the row's format. Runs once per cache miss, so it favours
// clarity; the rows are grouped by major opcode to keep the scan short.
#include <array>
#include <vector>

#include "cpu/instruction_table.hpp"

namespace godwit {
namespace {

constexpr uint32_t bits(uint32_t raw, unsigned hi, unsigned lo) { return (raw >> lo) & ((1u << (hi - lo + 1)) - 1); }
constexpr uint32_t bit(uint32_t raw, unsigned n) { return (raw >> n) & 1; }
constexpr int64_t sign_extend(uint64_t value, unsigned width) {
  const uint64_t m = 1ull << (width - 1);
  return static_cast<int64_t>((value ^ m) - m);
}
// The x8..x15 registers named by 3-bit fields of RVC.
constexpr uint8_t creg(uint32_t field) { return static_cast<uint8_t>(8 + field); }

// Fills d's operands from `raw` for `format`; false for a reserved encoding.
bool extract(Format format, uint32_t raw, DecodedInstruction& d) {
  const uint8_t rd = bits(raw, 11, 7);
  const uint8_t rs1 = bits(raw, 19, 15);
  const uint8_t rs2 = bits(raw, 24, 20);
  const uint8_t crs2 = bits(raw, 6, 2);  // RVC full-register rs2
  const uint8_t crd_low = creg(bits(raw, 4, 2));
  const uint8_t crs1_low = creg(bits(raw, 9, 7));
  d.rd = d.rs1 = d.rs2 = 0;
  d.imm = 0;
  switch (format) {
    case Format::kR:
    case Format::kAmo:
    case Format::kLr:
    case Format::kSfence:
      d.rd = rd, d.rs1 = rs1, d.rs2 = rs2;
      return true;
    case Format::kI:
    case Format::kLoad:
      d.rd = rd, d.rs1 = rs1, d.imm = sign_extend(raw >> 20, 12);
      return true;
    case Format::kShift:
      d.rd = rd, d.rs1 = rs1, d.imm = bits(raw, 25, 20);
      return true;
    case Format::kStore:
      d.rs1 = rs1, d.rs2 = rs2, d.imm = sign_extend((bits(raw, 31, 25) << 5) | bits(raw, 11, 7), 12);
      return true;
    case Format::kBranch:
      d.rs1 = rs1, d.rs2 = rs2;
      d.imm = sign_extend(
          (bit(raw, 31) << 12) | (bit(raw, 7) << 11) | (bits(raw, 30, 25) << 5) | (bits(raw, 11, 8) << 1), 13);
      return true;
    case Format::kU:
      d.rd = rd, d.imm = sign_extend(raw & 0xfffff000u, 32);
      return true;
    case Format::kJ:
      d.rd = rd;
      d.imm = sign_extend(
          (bit(raw, 31) << 20) | (bits(raw, 19, 12) << 12) | (bit(raw, 20) << 11) | (bits(raw, 30, 21) << 1), 21);
      return true;
    case Format::kCsr:
    case Format::kCsrImm:
      d.rd = rd, d.rs1 = rs1, d.imm = bits(raw, 31, 20);
      return true;
    case Format::kNone:
      return true;

    // F and D. rm values 5 and 6 are reserved: illegal whatever the
    // instruction (7, dynamic, is checked against frm when it runs).
    case Format::kFLoad:
      d.rd = rd, d.rs1 = rs1, d.imm = sign_extend(raw >> 20, 12);
      return true;
    case Format::kFStore:
      d.rs1 = rs1, d.rs2 = rs2, d.imm = sign_extend((bits(raw, 31, 25) << 5) | bits(raw, 11, 7), 12);
      return true;
    case Format::kFR4:
    case Format::kFRRm:
    case Format::kFUnaryRm:
    case Format::kFToIntRm:
    case Format::kIntToFRm: {
      const uint32_t rm = bits(raw, 14, 12);
      d.rd = rd, d.rs1 = rs1, d.rs2 = rs2;
      d.imm = static_cast<int32_t>(rm | (format == Format::kFR4 ? bits(raw, 31, 27) << 3 : 0));
      return rm != 5 && rm != 6;
    }
    case Format::kFR:
    case Format::kFCompare:
    case Format::kFToInt:
    case Format::kIntToF:
      d.rd = rd, d.rs1 = rs1, d.rs2 = rs2;
      return true;

    case Format::kCAddi4spn:
      d.rd = crd_low, d.rs1 = 2;
      d.imm = (bits(raw, 12, 11) << 4) | (bits(raw, 10, 7) << 6) | (bit(raw, 6) << 2) | (bit(raw, 5) << 3);
      return d.imm != 0;
    case Format::kCLw:
    case Format::kCSw:
      d.imm = (bits(raw, 12, 10) << 3) | (bit(raw, 6) << 2) | (bit(raw, 5) << 6);
      d.rs1 = crs1_low;
      (format == Format::kCLw ? d.rd : d.rs2) = crd_low;
      return true;
    case Format::kCLd:
    case Format::kCSd:
      d.imm = (bits(raw, 12, 10) << 3) | (bits(raw, 6, 5) << 6);
      d.rs1 = crs1_low;
      (format == Format::kCLd ? d.rd : d.rs2) = crd_low;
      return true;
    case Format::kCAddi:
    case Format::kCAddiw:
    case Format::kCLi:
      d.rd = rd;
      d.rs1 = format == Format::kCLi ? 0 : rd;
      d.imm = sign_extend((bit(raw, 12) << 5) | bits(raw, 6, 2), 6);
      return format != Format::kCAddiw || rd != 0;  // c.addiw with rd=0 is reserved
    case Format::kCAddi16sp:
      d.rd = d.rs1 = 2;
      d.imm = sign_extend((bit(raw, 12) << 9) | (bit(raw, 6) << 4) | (bit(raw, 5) << 6) | (bits(raw, 4, 3) << 7) |
                              (bit(raw, 2) << 5),
                          10);
      return d.imm != 0;
    case Format::kCLui:
      d.rd = rd;
      d.imm = sign_extend((bit(raw, 12) << 17) | (bits(raw, 6, 2) << 12), 18);
      return d.imm != 0;
    case Format::kCShift:
      d.rd = d.rs1 = crs1_low;
      d.imm = (bit(raw, 12) << 5) | bits(raw, 6, 2);
      return true;
    case Format::kCAndi:
      d.rd = d.rs1 = crs1_low;
      d.imm = sign_extend((bit(raw, 12) << 5) | bits(raw, 6, 2), 6);
      return true;
    case Format::kCArith:
      d.rd = d.rs1 = crs1_low, d.rs2 = crd_low;
      return true;
    case Format::kCJ:
      d.rd = 0;
      d.imm = sign_extend((bit(raw, 12) << 11) | (bit(raw, 11) << 4) | (bits(raw, 10, 9) << 8) | (bit(raw, 8) << 10) |
                              (bit(raw, 7) << 6) | (bit(raw, 6) << 7) | (bits(raw, 5, 3) << 1) | (bit(raw, 2) << 5),
                          12);
      return true;
    case Format::kCBranch:
      d.rs1 = crs1_low, d.rs2 = 0;
      d.imm = sign_extend((bit(raw, 12) << 8) | (bits(raw, 11, 10) << 3) | (bits(raw, 6, 5) << 6) |
                              (bits(raw, 4, 3) << 1) | (bit(raw, 2) << 5),
                          9);
      return true;
    case Format::kCSlli:
      d.rd = d.rs1 = rd;
      d.imm = (bit(raw, 12) << 5) | bits(raw, 6, 2);
      return true;
    case Format::kCLwsp:
      d.rd = rd, d.rs1 = 2;
      d.imm = (bit(raw, 12) << 5) | (bits(raw, 6, 4) << 2) | (bits(raw, 3, 2) << 6);
      return rd != 0;
    case Format::kCLdsp:
      d.rd = rd, d.rs1 = 2;
      d.imm = (bit(raw, 12) << 5) | (bits(raw, 6, 5) << 3) | (bits(raw, 4, 2) << 6);
      return rd != 0;
    case Format::kCSwsp:
      d.rs1 = 2, d.rs2 = crs2;
      d.imm = (bits(raw, 12, 9) << 2) | (bits(raw, 8, 7) << 6);
      return true;
    case Format::kCSdsp:
      d.rs1 = 2, d.rs2 = crs2;
      d.imm = (bits(raw, 12, 10) << 3) | (bits(raw, 9, 7) << 6);
      return true;
    case Format::kCJr:
      d.rd = 0, d.rs1 = rd;
      return rd != 0;
    case Format::kCJalr:
      d.rd = 1, d.rs1 = rd;
      return true;  // rs1=0 is c.ebreak, matched by an earlier row
    case Format::kCMv:
      d.rd = rd, d.rs1 = 0, d.rs2 = crs2;
      return true;
    case Format::kCAdd:
      d.rd = d.rs1 = rd, d.rs2 = crs2;
      return true;
    case Format::kCNone:
      return true;
    case Format::kCFld:
    case Format::kCFsd:
      d.imm = (bits(raw, 12, 10) << 3) | (bits(raw, 6, 5) << 6);
      d.rs1 = crs1_low;
      (format == Format::kCFld ? d.rd : d.rs2) = crd_low;
      return true;
    case Format::kCFldsp:
      d.rd = rd, d.rs1 = 2;
      d.imm = (bit(raw, 12) << 5) | (bits(raw, 6, 5) << 3) | (bits(raw, 4, 2) << 6);
      return true;
    case Format::kCFsdsp:
      d.rs1 = 2, d.rs2 = crs2;
      d.imm = (bits(raw, 12, 10) << 3) | (bits(raw, 9, 7) << 6);
      return true;
  }
  return false;
}

// Rows grouped by opcode bits: 32-bit rows by raw[6:2], compressed rows by
// quadrant and funct3. Built once from the constant table, then read-only.
class Index {
 public:
  Index() {
    for (const InstructionInfo& row : instruction_table()) {
      buckets_[bucket(row.match)].push_back(&row);
    }
  }
  static size_t bucket(uint32_t raw) {
    if (is_compressed(raw)) return 32 + ((raw & 3) << 3 | bits(raw, 15, 13));
    return bits(raw, 6, 2);
  }
  const std::vector<const InstructionInfo*>& rows_for(uint32_t raw) const { return buckets_[bucket(raw)]; }

 private:
  std::array<std::vector<const InstructionInfo*>, 32 + 24> buckets_;
};

const Index& index() {
  static const Index built;
  return built;
}

const InstructionInfo* lookup(uint32_t raw, DecodedInstruction& d) {
  for (const InstructionInfo* row : index().rows_for(raw)) {
    if ((raw & row->mask) == row->match) {
      return extract(row->format, raw, d) ? row : nullptr;
    }
  }
  return nullptr;
}

}  // namespace

bool is_compressed(uint32_t raw) { return (raw & 3) != 3; }

bool is_compressed_format(Format format) { return format >= Format::kCAddi4spn; }

DecodedInstruction decode(uint32_t raw) {
  const bool compressed = is_compressed(raw);
  if (compressed) raw &= 0xffff;
  DecodedInstruction d{};
  d.raw = raw;
  d.length = compressed ? 2 : 4;
  if (const InstructionInfo* row = lookup(raw, d)) {
    d.op = row->op;
    switch (row->format) {
      case Format::kBranch: case Format::kJ: case Format::kCsr: case Format::kCsrImm: case Format::kNone:
      case Format::kSfence: case Format::kCJ: case Format::kCBranch: case Format::kCJr: case Format::kCJalr:
      case Format::kCNone:
        d.ends_block = true;
        break;
      default:
        d.ends_block = row->op == Op::jalr;
        break;
    }
  } else {
    d.ends_block = true;
    d.op = Op::illegal;
    d.rd = d.rs1 = d.rs2 = 0;
    d.imm = static_cast<int32_t>(raw);
  }
  return d;
}

const InstructionInfo* find_instruction(uint32_t raw) {
  if (is_compressed(raw)) raw &= 0xffff;
  DecodedInstruction scratch{};
  return lookup(raw, scratch);
}

}  // namespace godwit
