// Test helpers for the cpu tests: a one-hart machine with RAM at 0x80000000,
// and a small instruction encoder.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <vector>

#include "cpu/hart.hpp"

namespace godwit::testing {

inline constexpr uint64_t kRamBase = 0x80000000;

// Register numbers by ABI name.
enum Reg : uint32_t {
  zero = 0, ra = 1, sp = 2, gp = 3, tp = 4, t0 = 5, t1 = 6, t2 = 7, s0 = 8, s1 = 9,
  a0 = 10, a1 = 11, a2 = 12, a3 = 13, a4 = 14, a5 = 15, a6 = 16, a7 = 17,
  s2 = 18, s3 = 19, t3 = 28, t4 = 29, t5 = 30, t6 = 31,
};

// --- encoder (unprivileged spec chapter 2 formats) ---
constexpr uint32_t r_type(uint32_t f7, uint32_t rs2, uint32_t rs1, uint32_t f3, uint32_t rd, uint32_t op) {
  return f7 << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}
constexpr uint32_t i_type(int32_t imm, uint32_t rs1, uint32_t f3, uint32_t rd, uint32_t op) {
  return static_cast<uint32_t>(imm & 0xfff) << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}
constexpr uint32_t s_type(int32_t imm, uint32_t rs2, uint32_t rs1, uint32_t f3, uint32_t op) {
  const auto u = static_cast<uint32_t>(imm);
  return ((u >> 5) & 0x7f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | (u & 0x1f) << 7 | op;
}
constexpr uint32_t b_type(int32_t imm, uint32_t rs2, uint32_t rs1, uint32_t f3) {
  const auto u = static_cast<uint32_t>(imm);
  return ((u >> 12) & 1) << 31 | ((u >> 5) & 0x3f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | ((u >> 1) & 0xf) << 8 |
         ((u >> 11) & 1) << 7 | 0x63;
}
constexpr uint32_t u_type(uint32_t imm20, uint32_t rd, uint32_t op) { return imm20 << 12 | rd << 7 | op; }
constexpr uint32_t j_type(int32_t imm, uint32_t rd) {
  const auto u = static_cast<uint32_t>(imm);
  return ((u >> 20) & 1) << 31 | ((u >> 1) & 0x3ff) << 21 | ((u >> 11) & 1) << 20 | ((u >> 12) & 0xff) << 12 |
         rd << 7 | 0x6f;
}

constexpr uint32_t lui(uint32_t rd, uint32_t imm20) { return u_type(imm20, rd, 0x37); }
constexpr uint32_t auipc(uint32_t rd, uint32_t imm20) { return u_type(imm20, rd, 0x17); }
constexpr uint32_t jal(uint32_t rd, int32_t offset) { return j_type(offset, rd); }
constexpr uint32_t jalr(uint32_t rd, uint32_t rs1, int32_t imm) { return i_type(imm, rs1, 0, rd, 0x67); }
constexpr uint32_t beq(uint32_t rs1, uint32_t rs2, int32_t o) { return b_type(o, rs2, rs1, 0); }
constexpr uint32_t bne(uint32_t rs1, uint32_t rs2, int32_t o) { return b_type(o, rs2, rs1, 1); }
constexpr uint32_t blt(uint32_t rs1, uint32_t rs2, int32_t o) { return b_type(o, rs2, rs1, 4); }
constexpr uint32_t bge(uint32_t rs1, uint32_t rs2, int32_t o) { return b_type(o, rs2, rs1, 5); }
constexpr uint32_t bltu(uint32_t rs1, uint32_t rs2, int32_t o) { return b_type(o, rs2, rs1, 6); }
constexpr uint32_t bgeu(uint32_t rs1, uint32_t rs2, int32_t o) { return b_type(o, rs2, rs1, 7); }
constexpr uint32_t load(uint32_t f3, uint32_t rd, uint32_t rs1, int32_t imm) { return i_type(imm, rs1, f3, rd, 0x03); }
constexpr uint32_t lb(uint32_t rd, uint32_t rs1, int32_t imm) { return load(0, rd, rs1, imm); }
constexpr uint32_t lh(uint32_t rd, uint32_t rs1, int32_t imm) { return load(1, rd, rs1, imm); }
constexpr uint32_t lw(uint32_t rd, uint32_t rs1, int32_t imm) { return load(2, rd, rs1, imm); }
constexpr uint32_t ld(uint32_t rd, uint32_t rs1, int32_t imm) { return load(3, rd, rs1, imm); }
constexpr uint32_t lbu(uint32_t rd, uint32_t rs1, int32_t imm) { return load(4, rd, rs1, imm); }
constexpr uint32_t lhu(uint32_t rd, uint32_t rs1, int32_t imm) { return load(5, rd, rs1, imm); }
constexpr uint32_t lwu(uint32_t rd, uint32_t rs1, int32_t imm) { return load(6, rd, rs1, imm); }
constexpr uint32_t sb(uint32_t rs2, uint32_t rs1, int32_t imm) { return s_type(imm, rs2, rs1, 0, 0x23); }
constexpr uint32_t sh(uint32_t rs2, uint32_t rs1, int32_t imm) { return s_type(imm, rs2, rs1, 1, 0x23); }
constexpr uint32_t sw(uint32_t rs2, uint32_t rs1, int32_t imm) { return s_type(imm, rs2, rs1, 2, 0x23); }
constexpr uint32_t sd(uint32_t rs2, uint32_t rs1, int32_t imm) { return s_type(imm, rs2, rs1, 3, 0x23); }
constexpr uint32_t addi(uint32_t rd, uint32_t rs1, int32_t imm) { return i_type(imm, rs1, 0, rd, 0x13); }
constexpr uint32_t slti(uint32_t rd, uint32_t rs1, int32_t imm) { return i_type(imm, rs1, 2, rd, 0x13); }
constexpr uint32_t sltiu(uint32_t rd, uint32_t rs1, int32_t imm) { return i_type(imm, rs1, 3, rd, 0x13); }
constexpr uint32_t xori(uint32_t rd, uint32_t rs1, int32_t imm) { return i_type(imm, rs1, 4, rd, 0x13); }
constexpr uint32_t ori(uint32_t rd, uint32_t rs1, int32_t imm) { return i_type(imm, rs1, 6, rd, 0x13); }
constexpr uint32_t andi(uint32_t rd, uint32_t rs1, int32_t imm) { return i_type(imm, rs1, 7, rd, 0x13); }
constexpr uint32_t slli(uint32_t rd, uint32_t rs1, int32_t sh) { return i_type(sh, rs1, 1, rd, 0x13); }
constexpr uint32_t srli(uint32_t rd, uint32_t rs1, int32_t sh) { return i_type(sh, rs1, 5, rd, 0x13); }
constexpr uint32_t srai(uint32_t rd, uint32_t rs1, int32_t sh) { return i_type(0x400 | sh, rs1, 5, rd, 0x13); }
constexpr uint32_t addiw(uint32_t rd, uint32_t rs1, int32_t imm) { return i_type(imm, rs1, 0, rd, 0x1b); }
constexpr uint32_t slliw(uint32_t rd, uint32_t rs1, int32_t sh) { return i_type(sh, rs1, 1, rd, 0x1b); }
constexpr uint32_t srliw(uint32_t rd, uint32_t rs1, int32_t sh) { return i_type(sh, rs1, 5, rd, 0x1b); }
constexpr uint32_t sraiw(uint32_t rd, uint32_t rs1, int32_t sh) { return i_type(0x400 | sh, rs1, 5, rd, 0x1b); }
constexpr uint32_t op(uint32_t f7, uint32_t f3, uint32_t rd, uint32_t rs1, uint32_t rs2) {
  return r_type(f7, rs2, rs1, f3, rd, 0x33);
}
constexpr uint32_t op32(uint32_t f7, uint32_t f3, uint32_t rd, uint32_t rs1, uint32_t rs2) {
  return r_type(f7, rs2, rs1, f3, rd, 0x3b);
}
constexpr uint32_t add(uint32_t rd, uint32_t rs1, uint32_t rs2) { return op(0, 0, rd, rs1, rs2); }
constexpr uint32_t sub(uint32_t rd, uint32_t rs1, uint32_t rs2) { return op(0x20, 0, rd, rs1, rs2); }
constexpr uint32_t mul(uint32_t rd, uint32_t rs1, uint32_t rs2) { return op(1, 0, rd, rs1, rs2); }
constexpr uint32_t ecall() { return 0x00000073; }
constexpr uint32_t ebreak() { return 0x00100073; }
constexpr uint32_t mret() { return 0x30200073; }
constexpr uint32_t sret() { return 0x10200073; }
constexpr uint32_t wfi() { return 0x10500073; }
constexpr uint32_t fence_i() { return 0x0000100f; }
constexpr uint32_t sfence_vma(uint32_t rs1, uint32_t rs2) { return r_type(0x09, rs2, rs1, 0, 0, 0x73); }
constexpr uint32_t csrrw(uint32_t rd, uint32_t csr, uint32_t rs1) { return csr << 20 | rs1 << 15 | 1 << 12 | rd << 7 | 0x73; }
constexpr uint32_t csrrs(uint32_t rd, uint32_t csr, uint32_t rs1) { return csr << 20 | rs1 << 15 | 2 << 12 | rd << 7 | 0x73; }
constexpr uint32_t csrrc(uint32_t rd, uint32_t csr, uint32_t rs1) { return csr << 20 | rs1 << 15 | 3 << 12 | rd << 7 | 0x73; }
constexpr uint32_t csrrwi(uint32_t rd, uint32_t csr, uint32_t imm) { return csr << 20 | imm << 15 | 5 << 12 | rd << 7 | 0x73; }
constexpr uint32_t csrrsi(uint32_t rd, uint32_t csr, uint32_t imm) { return csr << 20 | imm << 15 | 6 << 12 | rd << 7 | 0x73; }
// A extension: funct5 and width (2 = .w, 3 = .d).
constexpr uint32_t amo(uint32_t funct5, uint32_t width, uint32_t rd, uint32_t rs1, uint32_t rs2) {
  return funct5 << 27 | rs2 << 20 | rs1 << 15 | width << 12 | rd << 7 | 0x2f;
}
constexpr uint32_t lr_w(uint32_t rd, uint32_t rs1) { return amo(2, 2, rd, rs1, 0); }
constexpr uint32_t lr_d(uint32_t rd, uint32_t rs1) { return amo(2, 3, rd, rs1, 0); }
constexpr uint32_t sc_w(uint32_t rd, uint32_t rs1, uint32_t rs2) { return amo(3, 2, rd, rs1, rs2); }
constexpr uint32_t sc_d(uint32_t rd, uint32_t rs1, uint32_t rs2) { return amo(3, 3, rd, rs1, rs2); }
constexpr uint32_t amoadd_w(uint32_t rd, uint32_t rs1, uint32_t rs2) { return amo(0, 2, rd, rs1, rs2); }
constexpr uint32_t amoadd_d(uint32_t rd, uint32_t rs1, uint32_t rs2) { return amo(0, 3, rd, rs1, rs2); }

// A machine with one hart and `ram_bytes` of RAM at kRamBase; the hart is
// reset to run from kRamBase in M-mode.
struct TestMachine {
  explicit TestMachine(uint64_t ram_bytes = 8 << 20, unsigned hart_id = 0)
      : ram(ram_bytes), hart(hart_id, memory, control, clock) {
    EXPECT_TRUE(memory.map_ram(kRamBase, ram).has_value());
    hart.reset(kRamBase);
  }

  // Writes 32-bit instruction words (or data) from `pa` on.
  void load(uint64_t pa, std::initializer_list<uint32_t> words) {
    for (uint32_t w : words) {
      std::memcpy(host(pa), &w, 4);
      pa += 4;
    }
  }
  void load16(uint64_t pa, std::initializer_list<uint16_t> parcels) {
    for (uint16_t p : parcels) {
      std::memcpy(host(pa), &p, 2);
      pa += 2;
    }
  }
  uint8_t* host(uint64_t pa) { return ram.data() + (pa - kRamBase); }
  uint64_t read64(uint64_t pa) {
    uint64_t v;
    std::memcpy(&v, host(pa), 8);
    return v;
  }
  void write64(uint64_t pa, uint64_t v) { std::memcpy(host(pa), &v, 8); }
  uint32_t read32(uint64_t pa) {
    uint32_t v;
    std::memcpy(&v, host(pa), 4);
    return v;
  }
  uint64_t& x(unsigned i) { return hart.state().x[i]; }
  HartState& state() { return hart.state(); }

  std::vector<uint8_t> ram;
  AddressSpace memory;
  HartControl control;
  GuestClock clock;
  Hart hart;
};

}  // namespace godwit::testing
