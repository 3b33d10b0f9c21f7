// The architectural state of one RV64 hart, as plain data.
//
// Everything a migration stream must carry lives here and nothing else does:
// the TLB and the decoded-instruction cache are host-side accelerators that
// Hart rebuilds (Hart::flush_caches()) after this struct was changed from
// outside. The struct is trivially copyable so it can be saved by value.
//
// Threads: owned by the hart's thread while it runs; others may touch it only
// while the hart is parked (HartControl pause handshake) or not started.
#pragma once

#include <cstdint>
#include <type_traits>

namespace godwit {

enum class Privilege : uint8_t { kUser = 0, kSupervisor = 1, kMachine = 3 };

struct HartState {
  uint64_t x[32];  // x[0] is kept zero
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
  uint64_t pmpcfg[2];  // pmpcfg0 and pmpcfg2: eight 8-bit entries each
  uint64_t pmpaddr[16];

  // LR/SC reservation: the physical address and the value LR loaded. SC
  // succeeds if memory still holds that value (compare-and-swap), as QEMU's
  // TCG implements it across host threads.
  uint64_t reservation_address;
  uint64_t reservation_value;
  bool reservation_valid;
};

static_assert(std::is_trivially_copyable_v<HartState>);
static_assert(std::is_standard_layout_v<HartState>);

}  // namespace godwit
