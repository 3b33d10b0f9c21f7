// The architectural state of one RV64 hart, as plain data.
//
// Everything a migration stream must carry lives here and nothing else does:
// the TLB and the execution engine's caches are host-side accelerators that
// Hart rebuilds (Hart::flush_caches()) after this struct was changed from
// outside. The struct is trivially copyable so it can be saved by value.
//
// Migration: visit_state() is the "cpu" description, every field above in
// order; Hart::snapshot() hands it out and Hart::restore() takes it back,
// and the stream side writes and reads it. State added after version 1
// travels in subsections sent only when it differs from its reset value
// ("cpu/fpu" once the FPU was used: mstatus.FS not Off, or any f register
// or fcsr nonzero; "cpu/sstc", "cpu/debug"), so a guest that never touched
// it produces the same stream as before and older streams still load.
// QEMU's RISC-V "cpu" carries more (vector, hypervisor) for extensions
// this hart does not have. The device-owned mip bits (MSIP, MTIP, MEIP) are not here:
// the CLINT and PLIC re-drive them when they are loaded.
//
// Threads: owned by the hart's thread while it runs; others may touch it only
// while the hart is parked (HartControl pause handshake) or not started.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <type_traits>

#include "cpu/csr_defs.hpp"
#include "cpu/debug_triggers.hpp"
#include "cpu/hart_control.hpp"
#include "base/state_description.hpp"

namespace godwit {

enum class Privilege : uint8_t { kUser = 0, kSupervisor = 1, kMachine = 3 };

struct HartState {
  std::array<uint64_t, 32> x;  // x[0] is kept zero
  uint64_t pc;
  Privilege privilege;

  // Trap setup and handling (privileged spec chapter 3 and 10).
  uint64_t mstatus;  // only the writable bits; UXL/SXL are added on read
  uint64_t medeleg;
  uint64_t mideleg;
  uint64_t mie;
  uint64_t mip;  // software-writable bits only (SSIP, STIP, SEIP); see csr.cpp
  uint64_t mtvec;
  uint64_t mscratch;
  uint64_t mepc;
  uint64_t mcause;
  uint64_t mtval;
  uint64_t mcounteren;
  uint64_t mcountinhibit;
  uint64_t menvcfg;

  uint64_t stvec;
  uint64_t sscratch;
  uint64_t sepc;
  uint64_t scause;
  uint64_t stval;
  uint64_t scounteren;
  uint64_t senvcfg;
  uint64_t satp;

  // Zicntr: cycle counts retired instructions, as QEMU's does without icount.
  uint64_t mcycle;
  uint64_t minstret;

  // Physical memory protection: 16 entries as QEMU's default, stored but not
  // enforced (every access is allowed, as with no PMP entries configured).
  std::array<uint64_t, 2> pmpcfg;  // pmpcfg0 and pmpcfg2: eight 8-bit entries each
  std::array<uint64_t, 16> pmpaddr;

  // LR/SC reservation: the physical address and the value LR loaded. SC
  // succeeds if memory still holds that value (compare-and-swap), as QEMU's
  // TCG implements it across host threads.
  uint64_t reservation_address;
  uint64_t reservation_value;
  bool reservation_valid;

  // Sstc: STIP is time >= stimecmp while menvcfg.STCE is set.
  uint64_t stimecmp;

  // Sdtrig: tselect and each trigger's tdata1/tdata2 (debug_triggers.hpp).
  DebugTriggers triggers;

  // Reset values of the fields that travel in subsections.
  bool triggers_at_reset() const {
    for (unsigned i = 0; i < DebugTriggers::kCount; ++i) {
      if (triggers.tdata1[i] != trigger::reset_tdata1() || triggers.tdata2[i] != 0) return false;
    }
    return triggers.tselect == 0;
  }
  void reset_triggers() {
    triggers.tselect = 0;
    triggers.tdata1.fill(trigger::reset_tdata1());
    triggers.tdata2.fill(0);
  }

  // F and D: 64-bit f registers (a single is NaN-boxed: upper 32 bits all
  // ones) and fcsr (frm in bits 7:5, fflags in 4:0).
  std::array<uint64_t, 32> f;
  uint32_t fcsr;

  bool fpu_in_use() const {
    if ((mstatus & mstatus::kFS) != 0 || fcsr != 0) return true;
    for (uint64_t value : f) {
      if (value != 0) return true;
    }
    return false;
  }

  static constexpr VMStateInfo kVMState{"cpu", 1, 1};
  template <class V>
  void visit_state(V& v) {
    v.field("x", x);
    v.field("pc", pc);
    v.field("privilege", privilege);
    v.field("mstatus", mstatus);
    v.field("medeleg", medeleg);
    v.field("mideleg", mideleg);
    v.field("mie", mie);
    v.field("mip", mip);
    v.field("mtvec", mtvec);
    v.field("mscratch", mscratch);
    v.field("mepc", mepc);
    v.field("mcause", mcause);
    v.field("mtval", mtval);
    v.field("mcounteren", mcounteren);
    v.field("mcountinhibit", mcountinhibit);
    v.field("menvcfg", menvcfg);
    v.field("stvec", stvec);
    v.field("sscratch", sscratch);
    v.field("sepc", sepc);
    v.field("scause", scause);
    v.field("stval", stval);
    v.field("scounteren", scounteren);
    v.field("senvcfg", senvcfg);
    v.field("satp", satp);
    v.field("mcycle", mcycle);
    v.field("minstret", minstret);
    v.field("pmpcfg", pmpcfg);
    v.field("pmpaddr", pmpaddr);
    v.field("reservation_address", reservation_address);
    v.field("reservation_value", reservation_value);
    v.field("reservation_valid", reservation_valid);
    // A stream without the subsection comes from a hart whose FPU was never
    // used: its registers are zero, whatever this copy held before.
    if (v.loading()) {
      f = {};
      fcsr = 0;
    }
    v.subsection("cpu/fpu", 1, fpu_in_use(), [&](auto& sub) {
      sub.field("f", f);
      sub.field("fcsr", fcsr);
    });

    // Values the CSR writes never produce and the hart relies on never
    // seeing: an unknown privilege indexes the TLBs, MPP=2 would be entered
    // by mret, an unknown satp mode would be walked as Sv39.
    const auto level = static_cast<uint8_t>(privilege);
    v.validate(level == 0 || level == 1 || level == 3, "privilege " + std::to_string(level) + " is not U, S or M");
    v.validate((mstatus & ~mstatus::kWritable) == 0, "mstatus has bits that are not writable");
    v.validate((mstatus & mstatus::kMPP) >> mstatus::kMPPShift != 2, "mstatus.MPP is the reserved value 2");
    const uint64_t satp_mode = satp >> 60;
    v.validate(satp_mode == 0 || satp_mode == 8, "satp mode " + std::to_string(satp_mode) + " is neither Bare nor Sv39");
    // MSIP, MTIP and MEIP are the CLINT's and PLIC's wires, not stored here.
    v.validate((mip & ~(mip::kSSIP | mip::kSTIP | mip::kSEIP)) == 0, "mip has bits software cannot write");
    v.validate(x[0] == 0, "x0 is not zero");
    v.validate((fcsr & ~0xffu) == 0, "fcsr has bits above frm and fflags");
    v.validate((menvcfg & ~envcfg::kMenvcfgWritable) == 0, "menvcfg has bits that are not writable");
    v.validate((senvcfg & ~envcfg::kSenvcfgWritable) == 0, "senvcfg has bits that are not writable");

    // A stream without a subsection carries the reset value.
    if constexpr (V::loading()) {
      stimecmp = 0;
      reset_triggers();
    }
    v.subsection("cpu/sstc", 1, stimecmp != 0, [&](auto& sub) { sub.field("stimecmp", stimecmp); });
    v.subsection("cpu/debug", 1, !triggers_at_reset(), [&](auto& sub) {
      sub.field("tselect", triggers.tselect);
      sub.field("tdata1", triggers.tdata1);
      sub.field("tdata2", triggers.tdata2);
      sub.validate(triggers.tselect < DebugTriggers::kCount,
                   "tselect " + std::to_string(triggers.tselect) + " names no trigger");
      for (uint64_t tdata1 : triggers.tdata1) sub.validate(trigger::valid_tdata1(tdata1), "tdata1 is not a legal value");
    });
  }
};

static_assert(std::is_trivially_copyable_v<HartState>);
static_assert(std::is_standard_layout_v<HartState>);

}  // namespace godwit
