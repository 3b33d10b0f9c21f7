// The rows of the instruction table: RV64IMAC, Zicsr, Zifencei and the
// privileged instructions. Masks and matches follow the opcode maps of the
// unprivileged spec (chapter 34, "RV32/64G Instruction Set Listings") and the
// RVC tables (chapter 16.8). The aq/rl bits of the A extension are left out of
// the masks: every host atomic used here is sequentially consistent.
#include "cpu/execute.hpp"
#include "cpu/instruction_table.hpp"

namespace godwit {
namespace {

using F = Format;
using E = Execute;

constexpr InstructionInfo kTable[] = {
    // RV64I
    {"lui", 0x0000007f, 0x00000037, F::kU, E::lui},
    {"auipc", 0x0000007f, 0x00000017, F::kU, E::auipc},
    {"jal", 0x0000007f, 0x0000006f, F::kJ, E::jal},
    {"jalr", 0x0000707f, 0x00000067, F::kLoad, E::jalr},
    {"beq", 0x0000707f, 0x00000063, F::kBranch, E::beq},
    {"bne", 0x0000707f, 0x00001063, F::kBranch, E::bne},
    {"blt", 0x0000707f, 0x00004063, F::kBranch, E::blt},
    {"bge", 0x0000707f, 0x00005063, F::kBranch, E::bge},
    {"bltu", 0x0000707f, 0x00006063, F::kBranch, E::bltu},
    {"bgeu", 0x0000707f, 0x00007063, F::kBranch, E::bgeu},
    {"lb", 0x0000707f, 0x00000003, F::kLoad, E::lb},
    {"lh", 0x0000707f, 0x00001003, F::kLoad, E::lh},
    {"lw", 0x0000707f, 0x00002003, F::kLoad, E::lw},
    {"ld", 0x0000707f, 0x00003003, F::kLoad, E::ld},
    {"lbu", 0x0000707f, 0x00004003, F::kLoad, E::lbu},
    {"lhu", 0x0000707f, 0x00005003, F::kLoad, E::lhu},
    {"lwu", 0x0000707f, 0x00006003, F::kLoad, E::lwu},
    {"sb", 0x0000707f, 0x00000023, F::kStore, E::sb},
    {"sh", 0x0000707f, 0x00001023, F::kStore, E::sh},
    {"sw", 0x0000707f, 0x00002023, F::kStore, E::sw},
    {"sd", 0x0000707f, 0x00003023, F::kStore, E::sd},
    {"addi", 0x0000707f, 0x00000013, F::kI, E::addi},
    {"slti", 0x0000707f, 0x00002013, F::kI, E::slti},
    {"sltiu", 0x0000707f, 0x00003013, F::kI, E::sltiu},
    {"xori", 0x0000707f, 0x00004013, F::kI, E::xori},
    {"ori", 0x0000707f, 0x00006013, F::kI, E::ori},
    {"andi", 0x0000707f, 0x00007013, F::kI, E::andi},
    {"slli", 0xfc00707f, 0x00001013, F::kShift, E::slli},
    {"srli", 0xfc00707f, 0x00005013, F::kShift, E::srli},
    {"srai", 0xfc00707f, 0x40005013, F::kShift, E::srai},
    {"add", 0xfe00707f, 0x00000033, F::kR, E::add},
    {"sub", 0xfe00707f, 0x40000033, F::kR, E::sub},
    {"sll", 0xfe00707f, 0x00001033, F::kR, E::sll},
    {"slt", 0xfe00707f, 0x00002033, F::kR, E::slt},
    {"sltu", 0xfe00707f, 0x00003033, F::kR, E::sltu},
    {"xor", 0xfe00707f, 0x00004033, F::kR, E::xor_},
    {"srl", 0xfe00707f, 0x00005033, F::kR, E::srl},
    {"sra", 0xfe00707f, 0x40005033, F::kR, E::sra},
    {"or", 0xfe00707f, 0x00006033, F::kR, E::or_},
    {"and", 0xfe00707f, 0x00007033, F::kR, E::and_},
    {"addiw", 0x0000707f, 0x0000001b, F::kI, E::addiw},
    {"slliw", 0xfe00707f, 0x0000101b, F::kShift, E::slliw},
    {"srliw", 0xfe00707f, 0x0000501b, F::kShift, E::srliw},
    {"sraiw", 0xfe00707f, 0x4000501b, F::kShift, E::sraiw},
    {"addw", 0xfe00707f, 0x0000003b, F::kR, E::addw},
    {"subw", 0xfe00707f, 0x4000003b, F::kR, E::subw},
    {"sllw", 0xfe00707f, 0x0000103b, F::kR, E::sllw},
    {"srlw", 0xfe00707f, 0x0000503b, F::kR, E::srlw},
    {"sraw", 0xfe00707f, 0x4000503b, F::kR, E::sraw},
    // fence.tso and pause are fences with particular fm/pred/succ fields.
    {"fence", 0x0000707f, 0x0000000f, F::kNone, E::fence},
    {"fence.i", 0x0000707f, 0x0000100f, F::kNone, E::fence_i},
    {"ecall", 0xffffffff, 0x00000073, F::kNone, E::ecall},
    {"ebreak", 0xffffffff, 0x00100073, F::kNone, E::ebreak},
    // RV64M
    {"mul", 0xfe00707f, 0x02000033, F::kR, E::mul},
    {"mulh", 0xfe00707f, 0x02001033, F::kR, E::mulh},
    {"mulhsu", 0xfe00707f, 0x02002033, F::kR, E::mulhsu},
    {"mulhu", 0xfe00707f, 0x02003033, F::kR, E::mulhu},
    {"div", 0xfe00707f, 0x02004033, F::kR, E::div},
    {"divu", 0xfe00707f, 0x02005033, F::kR, E::divu},
    {"rem", 0xfe00707f, 0x02006033, F::kR, E::rem},
    {"remu", 0xfe00707f, 0x02007033, F::kR, E::remu},
    {"mulw", 0xfe00707f, 0x0200003b, F::kR, E::mulw},
    {"divw", 0xfe00707f, 0x0200403b, F::kR, E::divw},
    {"divuw", 0xfe00707f, 0x0200503b, F::kR, E::divuw},
    {"remw", 0xfe00707f, 0x0200603b, F::kR, E::remw},
    {"remuw", 0xfe00707f, 0x0200703b, F::kR, E::remuw},
    // RV64A
    {"lr.w", 0xf9f0707f, 0x1000202f, F::kLr, E::lr_w},
    {"sc.w", 0xf800707f, 0x1800202f, F::kAmo, E::sc_w},
    {"amoswap.w", 0xf800707f, 0x0800202f, F::kAmo, E::amoswap_w},
    {"amoadd.w", 0xf800707f, 0x0000202f, F::kAmo, E::amoadd_w},
    {"amoxor.w", 0xf800707f, 0x2000202f, F::kAmo, E::amoxor_w},
    {"amoand.w", 0xf800707f, 0x6000202f, F::kAmo, E::amoand_w},
    {"amoor.w", 0xf800707f, 0x4000202f, F::kAmo, E::amoor_w},
    {"amomin.w", 0xf800707f, 0x8000202f, F::kAmo, E::amomin_w},
    {"amomax.w", 0xf800707f, 0xa000202f, F::kAmo, E::amomax_w},
    {"amominu.w", 0xf800707f, 0xc000202f, F::kAmo, E::amominu_w},
    {"amomaxu.w", 0xf800707f, 0xe000202f, F::kAmo, E::amomaxu_w},
    {"lr.d", 0xf9f0707f, 0x1000302f, F::kLr, E::lr_d},
    {"sc.d", 0xf800707f, 0x1800302f, F::kAmo, E::sc_d},
    {"amoswap.d", 0xf800707f, 0x0800302f, F::kAmo, E::amoswap_d},
    {"amoadd.d", 0xf800707f, 0x0000302f, F::kAmo, E::amoadd_d},
    {"amoxor.d", 0xf800707f, 0x2000302f, F::kAmo, E::amoxor_d},
    {"amoand.d", 0xf800707f, 0x6000302f, F::kAmo, E::amoand_d},
    {"amoor.d", 0xf800707f, 0x4000302f, F::kAmo, E::amoor_d},
    {"amomin.d", 0xf800707f, 0x8000302f, F::kAmo, E::amomin_d},
    {"amomax.d", 0xf800707f, 0xa000302f, F::kAmo, E::amomax_d},
    {"amominu.d", 0xf800707f, 0xc000302f, F::kAmo, E::amominu_d},
    {"amomaxu.d", 0xf800707f, 0xe000302f, F::kAmo, E::amomaxu_d},
    // Zicsr
    {"csrrw", 0x0000707f, 0x00001073, F::kCsr, E::csrrw},
    {"csrrs", 0x0000707f, 0x00002073, F::kCsr, E::csrrs},
    {"csrrc", 0x0000707f, 0x00003073, F::kCsr, E::csrrc},
    {"csrrwi", 0x0000707f, 0x00005073, F::kCsrImm, E::csrrwi},
    {"csrrsi", 0x0000707f, 0x00006073, F::kCsrImm, E::csrrsi},
    {"csrrci", 0x0000707f, 0x00007073, F::kCsrImm, E::csrrci},
    // Privileged
    {"sret", 0xffffffff, 0x10200073, F::kNone, E::sret},
    {"mret", 0xffffffff, 0x30200073, F::kNone, E::mret},
    {"wfi", 0xffffffff, 0x10500073, F::kNone, E::wfi},
    {"sfence.vma", 0xfe007fff, 0x12000073, F::kSfence, E::sfence_vma},

    // RVC quadrant 0. c.fld/c.fsd are absent: no F/D, so they are illegal.
    {"c.addi4spn", 0xe003, 0x0000, F::kCAddi4spn, E::addi},
    {"c.lw", 0xe003, 0x4000, F::kCLw, E::lw},
    {"c.ld", 0xe003, 0x6000, F::kCLd, E::ld},
    {"c.sw", 0xe003, 0xc000, F::kCSw, E::sw},
    {"c.sd", 0xe003, 0xe000, F::kCSd, E::sd},
    // Quadrant 1.
    {"c.addi", 0xe003, 0x0001, F::kCAddi, E::addi},
    {"c.addiw", 0xe003, 0x2001, F::kCAddiw, E::addiw},
    {"c.li", 0xe003, 0x4001, F::kCLi, E::addi},
    {"c.addi16sp", 0xef83, 0x6101, F::kCAddi16sp, E::addi},
    {"c.lui", 0xe003, 0x6001, F::kCLui, E::lui},
    {"c.srli", 0xec03, 0x8001, F::kCShift, E::srli},
    {"c.srai", 0xec03, 0x8401, F::kCShift, E::srai},
    {"c.andi", 0xec03, 0x8801, F::kCAndi, E::andi},
    {"c.sub", 0xfc63, 0x8c01, F::kCArith, E::sub},
    {"c.xor", 0xfc63, 0x8c21, F::kCArith, E::xor_},
    {"c.or", 0xfc63, 0x8c41, F::kCArith, E::or_},
    {"c.and", 0xfc63, 0x8c61, F::kCArith, E::and_},
    {"c.subw", 0xfc63, 0x9c01, F::kCArith, E::subw},
    {"c.addw", 0xfc63, 0x9c21, F::kCArith, E::addw},
    {"c.j", 0xe003, 0xa001, F::kCJ, E::jal},
    {"c.beqz", 0xe003, 0xc001, F::kCBranch, E::beq},
    {"c.bnez", 0xe003, 0xe001, F::kCBranch, E::bne},
    // Quadrant 2. c.fldsp/c.fsdsp are absent (no F/D).
    {"c.slli", 0xe003, 0x0002, F::kCSlli, E::slli},
    {"c.lwsp", 0xe003, 0x4002, F::kCLwsp, E::lw},
    {"c.ldsp", 0xe003, 0x6002, F::kCLdsp, E::ld},
    {"c.jr", 0xf07f, 0x8002, F::kCJr, E::jalr},
    {"c.mv", 0xf003, 0x8002, F::kCMv, E::add},
    {"c.ebreak", 0xffff, 0x9002, F::kCNone, E::ebreak},
    {"c.jalr", 0xf07f, 0x9002, F::kCJalr, E::jalr},
    {"c.add", 0xf003, 0x9002, F::kCAdd, E::add},
    {"c.swsp", 0xe003, 0xc002, F::kCSwsp, E::sw},
    {"c.sdsp", 0xe003, 0xe002, F::kCSdsp, E::sd},
};

}  // namespace

std::span<const InstructionInfo> instruction_table() { return kTable; }

}  // namespace godwit
