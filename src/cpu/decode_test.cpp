// Decoder and disassembler tests. The golden list was produced by assembling
// one instance of every instruction with GNU as (rv64imafdc_zicsr_zifencei) and
// disassembling it with objdump -M no-aliases; targets are written as bare
// hex addresses and fence without its sets, as our disassembler prints them.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>

#include "cpu/instruction_table.hpp"

namespace godwit {
namespace {

struct Golden {
  uint32_t raw;
  uint64_t pc;
  const char* text;
};

constexpr Golden kGolden[] = {
    {0x12345537, 0x0, "lui a0,0x12345"},
    {0xfffff317, 0x4, "auipc t1,0xfffff"},
    {0x010000ef, 0x8, "jal ra,0x18"},
    {0x008500e7, 0xc, "jalr ra,8(a0)"},
    {0xfeb50ce3, 0x10, "beq a0,a1,0x8"},
    {0x00b510e3, 0x14, "bne a0,a1,0x814"},
    {0x7eb54fe3, 0x18, "blt a0,a1,0x1016"},
    {0x80b55063, 0x1c, "bge a0,a1,0xfffffffffffff01c"},
    {0x00946663, 0x20, "bltu s0,s1,0x2c"},
    {0x01ff7663, 0x24, "bgeu t5,t6,0x30"},
    {0xfff58503, 0x28, "lb a0,-1(a1)"},
    {0x7ff59503, 0x2c, "lh a0,2047(a1)"},
    {0x8005a503, 0x30, "lw a0,-2048(a1)"},
    {0x00813503, 0x34, "ld a0,8(sp)"},
    {0x0005c503, 0x38, "lbu a0,0(a1)"},
    {0x0025d503, 0x3c, "lhu a0,2(a1)"},
    {0x0045e503, 0x40, "lwu a0,4(a1)"},
    {0xfea58fa3, 0x44, "sb a0,-1(a1)"},
    {0x7ea59fa3, 0x48, "sh a0,2047(a1)"},
    {0x80a5a023, 0x4c, "sw a0,-2048(a1)"},
    {0x00113423, 0x50, "sd ra,8(sp)"},
    {0xffb58513, 0x54, "addi a0,a1,-5"},
    {0x0075a513, 0x58, "slti a0,a1,7"},
    {0x0075b513, 0x5c, "sltiu a0,a1,7"},
    {0xfff5c513, 0x60, "xori a0,a1,-1"},
    {0x7ff5e513, 0x64, "ori a0,a1,2047"},
    {0x8005f513, 0x68, "andi a0,a1,-2048"},
    {0x03f59513, 0x6c, "slli a0,a1,0x3f"},
    {0x0215d513, 0x70, "srli a0,a1,0x21"},
    {0x4015d513, 0x74, "srai a0,a1,0x1"},
    {0x00c58533, 0x78, "add a0,a1,a2"},
    {0x40c58533, 0x7c, "sub a0,a1,a2"},
    {0x00c59533, 0x80, "sll a0,a1,a2"},
    {0x00c5a533, 0x84, "slt a0,a1,a2"},
    {0x00c5b533, 0x88, "sltu a0,a1,a2"},
    {0x00c5c533, 0x8c, "xor a0,a1,a2"},
    {0x00c5d533, 0x90, "srl a0,a1,a2"},
    {0x40c5d533, 0x94, "sra a0,a1,a2"},
    {0x00c5e533, 0x98, "or a0,a1,a2"},
    {0x00c5f533, 0x9c, "and a0,a1,a2"},
    {0xfff5851b, 0xa0, "addiw a0,a1,-1"},
    {0x01f5951b, 0xa4, "slliw a0,a1,0x1f"},
    {0x0035d51b, 0xa8, "srliw a0,a1,0x3"},
    {0x4035d51b, 0xac, "sraiw a0,a1,0x3"},
    {0x00c5853b, 0xb0, "addw a0,a1,a2"},
    {0x40c5853b, 0xb4, "subw a0,a1,a2"},
    {0x00c5953b, 0xb8, "sllw a0,a1,a2"},
    {0x00c5d53b, 0xbc, "srlw a0,a1,a2"},
    {0x40c5d53b, 0xc0, "sraw a0,a1,a2"},
    {0x0ff0000f, 0xc4, "fence"},
    {0x0000100f, 0xc8, "fence.i"},
    {0x00000073, 0xcc, "ecall"},
    {0x00100073, 0xd0, "ebreak"},
    {0x02c58533, 0xd4, "mul a0,a1,a2"},
    {0x02c59533, 0xd8, "mulh a0,a1,a2"},
    {0x02c5a533, 0xdc, "mulhsu a0,a1,a2"},
    {0x02c5b533, 0xe0, "mulhu a0,a1,a2"},
    {0x02c5c533, 0xe4, "div a0,a1,a2"},
    {0x02c5d533, 0xe8, "divu a0,a1,a2"},
    {0x02c5e533, 0xec, "rem a0,a1,a2"},
    {0x02c5f533, 0xf0, "remu a0,a1,a2"},
    {0x02c5853b, 0xf4, "mulw a0,a1,a2"},
    {0x02c5c53b, 0xf8, "divw a0,a1,a2"},
    {0x02c5d53b, 0xfc, "divuw a0,a1,a2"},
    {0x02c5e53b, 0x100, "remw a0,a1,a2"},
    {0x02c5f53b, 0x104, "remuw a0,a1,a2"},
    {0x1005a52f, 0x108, "lr.w a0,(a1)"},
    {0x18c5a52f, 0x10c, "sc.w a0,a2,(a1)"},
    {0x08c5a52f, 0x110, "amoswap.w a0,a2,(a1)"},
    {0x00c5a52f, 0x114, "amoadd.w a0,a2,(a1)"},
    {0x20c5a52f, 0x118, "amoxor.w a0,a2,(a1)"},
    {0x60c5a52f, 0x11c, "amoand.w a0,a2,(a1)"},
    {0x40c5a52f, 0x120, "amoor.w a0,a2,(a1)"},
    {0x80c5a52f, 0x124, "amomin.w a0,a2,(a1)"},
    {0xa0c5a52f, 0x128, "amomax.w a0,a2,(a1)"},
    {0xc0c5a52f, 0x12c, "amominu.w a0,a2,(a1)"},
    {0xe0c5a52f, 0x130, "amomaxu.w a0,a2,(a1)"},
    {0x1605b52f, 0x134, "lr.d a0,(a1)"},
    {0x1ac5b52f, 0x138, "sc.d a0,a2,(a1)"},
    {0x0cc5b52f, 0x13c, "amoswap.d a0,a2,(a1)"},
    {0x00c5b52f, 0x140, "amoadd.d a0,a2,(a1)"},
    {0x20c5b52f, 0x144, "amoxor.d a0,a2,(a1)"},
    {0x60c5b52f, 0x148, "amoand.d a0,a2,(a1)"},
    {0x40c5b52f, 0x14c, "amoor.d a0,a2,(a1)"},
    {0x80c5b52f, 0x150, "amomin.d a0,a2,(a1)"},
    {0xa0c5b52f, 0x154, "amomax.d a0,a2,(a1)"},
    {0xc0c5b52f, 0x158, "amominu.d a0,a2,(a1)"},
    {0xe0c5b52f, 0x15c, "amomaxu.d a0,a2,(a1)"},
    {0x30059573, 0x160, "csrrw a0,mstatus,a1"},
    {0x3415a573, 0x164, "csrrs a0,mepc,a1"},
    {0x1005b573, 0x168, "csrrc a0,sstatus,a1"},
    {0x3402d573, 0x16c, "csrrwi a0,mscratch,5"},
    {0x304fe573, 0x170, "csrrsi a0,mie,31"},
    {0x1440f573, 0x174, "csrrci a0,sip,1"},
    {0x10200073, 0x178, "sret"},
    {0x30200073, 0x17c, "mret"},
    {0x10500073, 0x180, "wfi"},
    {0x12b50073, 0x184, "sfence.vma a0,a1"},
    {0x12000073, 0x188, "sfence.vma zero,zero"},
    {0x00000800, 0x18c, "c.addi4spn s0,sp,16"},
    {0x000041c8, 0x18e, "c.lw a0,4(a1)"},
    {0x00007de8, 0x190, "c.ld a0,248(a1)"},
    {0x0000dde8, 0x192, "c.sw a0,124(a1)"},
    {0x0000e588, 0x194, "c.sd a0,8(a1)"},
    {0x00000001, 0x196, "c.addi zero,0"},
    {0x00001575, 0x198, "c.addi a0,-3"},
    {0x0000257d, 0x19a, "c.addiw a0,31"},
    {0x00005781, 0x19c, "c.li a5,-32"},
    {0x00007101, 0x19e, "c.addi16sp sp,-512"},
    {0x0000617d, 0x1a0, "c.addi16sp sp,496"},
    {0x00007501, 0x1a2, "c.lui a0,0xfffe0"},
    {0x00006285, 0x1a4, "c.lui t0,0x1"},
    {0x0000907d, 0x1a6, "c.srli s0,0x3f"},
    {0x00008785, 0x1a8, "c.srai a5,0x1"},
    {0x00009b7d, 0x1aa, "c.andi a4,-1"},
    {0x00008c05, 0x1ac, "c.sub s0,s1"},
    {0x00008d2d, 0x1ae, "c.xor a0,a1"},
    {0x00008e55, 0x1b0, "c.or a2,a3"},
    {0x00008f7d, 0x1b2, "c.and a4,a5"},
    {0x00009c1d, 0x1b4, "c.subw s0,a5"},
    {0x00009ca9, 0x1b6, "c.addw s1,a0"},
    {0x0000b001, 0x1b8, "c.j 0xfffffffffffff9b8"},
    {0x0000affd, 0x1ba, "c.j 0x9b8"},
    {0x0000d001, 0x1bc, "c.beqz s0,0xbc"},
    {0x0000effd, 0x1be, "c.bnez a5,0x2bc"},
    {0x00001ffe, 0x1c0, "c.slli t6,0x3f"},
    {0x000050fe, 0x1c2, "c.lwsp ra,252(sp)"},
    {0x00007dfe, 0x1c4, "c.ldsp s11,504(sp)"},
    {0x00008082, 0x1c6, "c.jr ra"},
    {0x0000857e, 0x1c8, "c.mv a0,t6"},
    {0x00009002, 0x1ca, "c.ebreak"},
    {0x00009502, 0x1cc, "c.jalr a0"},
    {0x0000947e, 0x1ce, "c.add s0,t6"},
    {0x0000df86, 0x1d0, "c.swsp ra,252(sp)"},
    {0x0000ffee, 0x1d2, "c.sdsp s11,504(sp)"},
    // F and D (rv64imafdc).
    {0xffc5a507, 0x0, "flw fa0,-4(a1)"},
    {0x7f813407, 0x4, "fld fs0,2040(sp)"},
    {0x80a5a027, 0x8, "fsw fa0,-2048(a1)"},
    {0x01f2b427, 0xc, "fsd ft11,8(t0)"},
    {0x68c5f543, 0x10, "fmadd.s fa0,fa1,fa2,fa3"},
    {0x18209047, 0x14, "fmsub.s ft0,ft1,ft2,ft3,rtz"},
    {0x68c5a54b, 0x18, "fnmsub.s fa0,fa1,fa2,fa3,rdn"},
    {0x68c5b54f, 0x1c, "fnmadd.s fa0,fa1,fa2,fa3,rup"},
    {0x6ac5c543, 0x20, "fmadd.d fa0,fa1,fa2,fa3,rmm"},
    {0x9b24f447, 0x24, "fmsub.d fs0,fs1,fs2,fs3"},
    {0xfac5854b, 0x28, "fnmsub.d fa0,fa1,fa2,ft11,rne"},
    {0xfbeefe4f, 0x2c, "fnmadd.d ft8,ft9,ft10,ft11"},
    {0x00c5f553, 0x30, "fadd.s fa0,fa1,fa2"},
    {0x08c59553, 0x34, "fsub.s fa0,fa1,fa2,rtz"},
    {0x10c5f553, 0x38, "fmul.s fa0,fa1,fa2"},
    {0x18c5b553, 0x3c, "fdiv.s fa0,fa1,fa2,rup"},
    {0x5805f553, 0x40, "fsqrt.s fa0,fa1"},
    {0x20c58553, 0x44, "fsgnj.s fa0,fa1,fa2"},
    {0x20c59553, 0x48, "fsgnjn.s fa0,fa1,fa2"},
    {0x20c5a553, 0x4c, "fsgnjx.s fa0,fa1,fa2"},
    {0x28c58553, 0x50, "fmin.s fa0,fa1,fa2"},
    {0x28c59553, 0x54, "fmax.s fa0,fa1,fa2"},
    {0xc0059553, 0x58, "fcvt.w.s a0,fa1,rtz"},
    {0xc015f553, 0x5c, "fcvt.wu.s a0,fa1"},
    {0xc025f553, 0x60, "fcvt.l.s a0,fa1"},
    {0xc035c553, 0x64, "fcvt.lu.s a0,fa1,rmm"},
    {0xe0058553, 0x68, "fmv.x.w a0,fa1"},
    {0xe0059553, 0x6c, "fclass.s a0,fa1"},
    {0xa0c5a553, 0x70, "feq.s a0,fa1,fa2"},
    {0xa0c59553, 0x74, "flt.s a0,fa1,fa2"},
    {0xa0c58553, 0x78, "fle.s a0,fa1,fa2"},
    {0xd005f553, 0x7c, "fcvt.s.w fa0,a1"},
    {0xd0159553, 0x80, "fcvt.s.wu fa0,a1,rtz"},
    {0xd025f553, 0x84, "fcvt.s.l fa0,a1"},
    {0xd035f553, 0x88, "fcvt.s.lu fa0,a1"},
    {0xf0058553, 0x8c, "fmv.w.x fa0,a1"},
    {0x02c5f553, 0x90, "fadd.d fa0,fa1,fa2"},
    {0x0ac5f553, 0x94, "fsub.d fa0,fa1,fa2"},
    {0x12c5a553, 0x98, "fmul.d fa0,fa1,fa2,rdn"},
    {0x1ac5f553, 0x9c, "fdiv.d fa0,fa1,fa2"},
    {0x5a059553, 0xa0, "fsqrt.d fa0,fa1,rtz"},
    {0x22c58553, 0xa4, "fsgnj.d fa0,fa1,fa2"},
    {0x22c59553, 0xa8, "fsgnjn.d fa0,fa1,fa2"},
    {0x22c5a553, 0xac, "fsgnjx.d fa0,fa1,fa2"},
    {0x2ac58553, 0xb0, "fmin.d fa0,fa1,fa2"},
    {0x2ac59553, 0xb4, "fmax.d fa0,fa1,fa2"},
    {0x4015f553, 0xb8, "fcvt.s.d fa0,fa1"},
    {0x42058553, 0xbc, "fcvt.d.s fa0,fa1"},
    {0xc205f553, 0xc0, "fcvt.w.d a0,fa1"},
    {0xc215f553, 0xc4, "fcvt.wu.d a0,fa1"},
    {0xc2259553, 0xc8, "fcvt.l.d a0,fa1,rtz"},
    {0xc235f553, 0xcc, "fcvt.lu.d a0,fa1"},
    {0xe2058553, 0xd0, "fmv.x.d a0,fa1"},
    {0xe2059553, 0xd4, "fclass.d a0,fa1"},
    {0xa2c5a553, 0xd8, "feq.d a0,fa1,fa2"},
    {0xa2c59553, 0xdc, "flt.d a0,fa1,fa2"},
    {0xa2c58553, 0xe0, "fle.d a0,fa1,fa2"},
    {0xd2058553, 0xe4, "fcvt.d.w fa0,a1"},
    {0xd2158553, 0xe8, "fcvt.d.wu fa0,a1"},
    {0xd225f553, 0xec, "fcvt.d.l fa0,a1"},
    {0xd235b553, 0xf0, "fcvt.d.lu fa0,a1,rup"},
    {0xf2058553, 0xf4, "fmv.d.x fa0,a1"},
    {0x2588, 0xf8, "c.fld fa0,8(a1)"},
    {0xbfe4, 0xfa, "c.fsd fs1,248(a5)"},
    {0x307e, 0xfc, "c.fldsp ft0,504(sp)"},
    {0xa07e, 0xfe, "c.fsdsp ft11,0(sp)"},
};

TEST(Disassemble, MatchesObjdumpForEveryInstructionClass) {
  for (const Golden& g : kGolden) {
    EXPECT_EQ(disassemble(g.raw, g.pc), g.text) << std::hex << "raw 0x" << g.raw;
  }
}

TEST(Disassemble, GoldenListCoversEveryTableRow) {
  std::set<const InstructionInfo*> seen;
  for (const Golden& g : kGolden) seen.insert(find_instruction(g.raw));
  for (const InstructionInfo& row : instruction_table()) {
    EXPECT_TRUE(seen.count(&row)) << row.name;
  }
}

TEST(Decode, EveryRowIsReachableAndDecodesToItsHandler) {
  std::mt19937 random(12345);
  for (const InstructionInfo& row : instruction_table()) {
    const bool compressed = is_compressed_format(row.format);
    bool found = false;
    for (int attempt = 0; attempt < 2000 && !found; ++attempt) {
      uint32_t raw = (random() & ~row.mask) | row.match;
      if (compressed) raw &= 0xffff;
      if (find_instruction(raw) != &row) continue;
      const DecodedInstruction d = decode(raw);
      EXPECT_EQ(d.op, row.op) << row.name;
      EXPECT_EQ(d.length, compressed ? 2 : 4) << row.name;
      found = true;
    }
    EXPECT_TRUE(found) << row.name;
  }
}

TEST(Decode, OperandsArePreExtracted) {
  // sd ra,8(sp)
  DecodedInstruction d = decode(0x00113423);
  EXPECT_EQ(d.op, Op::sd);
  EXPECT_EQ(d.rs1, 2);
  EXPECT_EQ(d.rs2, 1);
  EXPECT_EQ(d.imm, 8);
  // bge a0,a1,-4096
  d = decode(0x80b55063);
  EXPECT_EQ(d.op, Op::bge);
  EXPECT_EQ(d.imm, -4096);
  // c.addi16sp sp,-512 expands to addi sp,sp,-512
  d = decode(0x7101);
  EXPECT_EQ(d.op, Op::addi);
  EXPECT_EQ(d.rd, 2);
  EXPECT_EQ(d.rs1, 2);
  EXPECT_EQ(d.imm, -512);
  EXPECT_EQ(d.length, 2);
  // c.mv a0,t6 expands to add a0,zero,t6
  d = decode(0x857e);
  EXPECT_EQ(d.op, Op::add);
  EXPECT_EQ(d.rd, 10);
  EXPECT_EQ(d.rs1, 0);
  EXPECT_EQ(d.rs2, 31);
}

TEST(Decode, UpperBitsOfACompressedParcelAreIgnored) {
  EXPECT_EQ(decode(0xffff4515).op, Op::addi);  // c.li a0,5
  EXPECT_EQ(decode(0xffff4515).imm, 5);
  EXPECT_EQ(disassemble(0xdead4515, 0), "c.li a0,5");
}

TEST(Decode, ReservedAndUnimplementedEncodingsAreIllegal) {
  const uint32_t illegal[] = {
      0x00000000,  // all zeros (c.addi4spn with zero immediate)
      0xffffffff,  // all ones
      0x6081,      // c.lui ra,0 (nzimm = 0 is reserved)
      0x6101,      // c.addi16sp sp,0
      0x2001,      // c.addiw zero,0
      0x4002,      // c.lwsp zero,0(sp)
      0x8002,      // c.jr zero
      0x00b5d553,  // fadd.s with the reserved rm 5
      0x00b5e553,  // fadd.s with the reserved rm 6
      0x4205e553,  // fcvt.d.s with rm 6: reserved even where the result is exact
      0x6cc5f543,  // fmadd with fmt 2 (half precision: no Zfh)
      0x0005c007,  // LOAD-FP funct3=4 (no Q)
      0x0000500f,  // an unassigned MISC-MEM funct3
      0x0000701b,  // an unassigned OP-IMM-32 funct3
      0x00004073,  // SYSTEM funct3=4 (hypervisor loads: no H)
  };
  for (uint32_t raw : illegal) {
    EXPECT_EQ(decode(raw).op, Op::illegal) << std::hex << raw;
    EXPECT_EQ(find_instruction(raw), nullptr) << std::hex << raw;
  }
  EXPECT_EQ(decode(0x4002).imm, 0x4002);  // the bits are kept for xtval
  EXPECT_EQ(disassemble(0x00b5d553, 0), "illegal 0x00b5d553");
}

TEST(Decode, RowsWithinAGroupDoNotShadowEachOther) {
  // A row fully covered by an earlier row's pattern could never be decoded.
  const auto table = instruction_table();
  for (size_t i = 0; i < table.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      const bool same_width = is_compressed_format(table[i].format) == is_compressed_format(table[j].format);
      const bool earlier_covers = (table[i].match & table[j].mask) == table[j].match &&
                                  (table[j].mask & ~table[i].mask) == 0;
      EXPECT_FALSE(same_width && earlier_covers) << table[j].name << " hides " << table[i].name;
    }
  }
}

}  // namespace
}  // namespace godwit
