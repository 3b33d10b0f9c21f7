// Trap entry and return, interrupt selection and wfi (privileged spec 3.1.6,
// 3.1.9, 3.3.2, 3.3.3 and 10.1).
#include <algorithm>

#include "cpu/csr_defs.hpp"
#include "cpu/hart.hpp"

namespace godwit {
namespace {

// Interrupts in decreasing priority (privileged spec 3.1.9): MEI, MSI, MTI,
// SEI, SSI, STI.
constexpr unsigned kInterruptOrder[] = {11, 3, 7, 9, 1, 5};

uint64_t highest_priority(uint64_t pending) {
  for (unsigned code : kInterruptOrder) {
    if (pending & (1ull << code)) return code;
  }
  return ~0ull;
}

}  // namespace

uint64_t Hart::read_mip() const {
  // SEIP reads as the software bit OR the PLIC's line (3.1.9); MSIP and MEIP
  // come only from devices; MTIP is compared here against the guest clock,
  // and so is STIP while Sstc owns it (menvcfg.STCE).
  uint64_t value = state_.mip | control_.external_mip();
  if (clock_.ticks() >= control_.mtimecmp()) value |= mip::kMTIP;
  if (sstc_enabled()) value = (value & ~mip::kSTIP) | (stimecmp_reached() ? mip::kSTIP : 0);
  return value;
}

void Hart::check_interrupts() {
  HartState& s = state_;
  if (s.mie == 0) return;  // nothing enabled: skip the clock read
  const uint64_t pending = read_mip() & s.mie;
  if (pending == 0) return;
  // M-level interrupts (not delegated) are taken in S and U always, in M when
  // MIE; S-level ones in U always, in S when SIE, never in M.
  const bool m_enabled = s.privilege != Privilege::kMachine || (s.mstatus & mstatus::kMIE);
  const bool s_enabled = s.privilege == Privilege::kUser ||
                         (s.privilege == Privilege::kSupervisor && (s.mstatus & mstatus::kSIE));
  uint64_t code = m_enabled ? highest_priority(pending & ~s.mideleg) : ~0ull;
  if (code == ~0ull && s_enabled) code = highest_priority(pending & s.mideleg);
  if (code == ~0ull) return;
  take_trap(cause::kInterruptBit | code, 0);
}

void Hart::raise_exception(uint64_t cause, uint64_t tval) {
  ++exceptions_in_batch_;
  take_trap(cause, tval);
}

void Hart::take_trap(uint64_t trap_cause, uint64_t tval) {
  HartState& s = state_;
  const bool interrupt = (trap_cause & cause::kInterruptBit) != 0;
  const uint64_t code = trap_cause & ~cause::kInterruptBit;
  const uint64_t delegated = interrupt ? s.mideleg : s.medeleg;
  uint64_t vector;
  if (s.privilege != Privilege::kMachine && code < 64 && ((delegated >> code) & 1)) {
    s.scause = trap_cause;
    s.sepc = s.pc;
    s.stval = tval;
    uint64_t status = s.mstatus & ~(mstatus::kSPP | mstatus::kSPIE | mstatus::kSIE);
    if (s.privilege == Privilege::kSupervisor) status |= mstatus::kSPP;
    if (s.mstatus & mstatus::kSIE) status |= mstatus::kSPIE;
    s.mstatus = status;
    s.privilege = Privilege::kSupervisor;
    vector = s.stvec;
  } else {
    s.mcause = trap_cause;
    s.mepc = s.pc;
    s.mtval = tval;
    uint64_t status = s.mstatus & ~(mstatus::kMPP | mstatus::kMPIE | mstatus::kMIE);
    status |= static_cast<uint64_t>(s.privilege) << mstatus::kMPPShift;
    if (s.mstatus & mstatus::kMIE) status |= mstatus::kMPIE;
    s.mstatus = status;
    s.privilege = Privilege::kMachine;
    vector = s.mtvec;
  }
  // Vectored mode (xtvec.MODE = 1) sends interrupts to BASE + 4 * cause.
  uint64_t target = vector & ~3ull;
  if ((vector & 1) && interrupt) target += 4 * code;
  s.pc = target;
  privilege_changed();
}

uint64_t Hart::do_mret() {
  HartState& s = state_;
  const auto previous = static_cast<Privilege>((s.mstatus & mstatus::kMPP) >> mstatus::kMPPShift);
  uint64_t status = s.mstatus & ~(mstatus::kMIE | mstatus::kMPP);
  if (s.mstatus & mstatus::kMPIE) status |= mstatus::kMIE;
  status |= mstatus::kMPIE;
  if (previous != Privilege::kMachine) status &= ~mstatus::kMPRV;
  s.mstatus = status;
  s.privilege = previous;
  privilege_changed();
  stop_batch_ = true;  // interrupts may have become enabled
  return s.mepc;
}

uint64_t Hart::do_sret() {
  HartState& s = state_;
  const Privilege previous = (s.mstatus & mstatus::kSPP) ? Privilege::kSupervisor : Privilege::kUser;
  uint64_t status = s.mstatus & ~(mstatus::kSIE | mstatus::kSPP | mstatus::kMPRV);
  if (s.mstatus & mstatus::kSPIE) status |= mstatus::kSIE;
  status |= mstatus::kSPIE;
  s.mstatus = status;
  s.privilege = previous;
  privilege_changed();
  stop_batch_ = true;
  return s.sepc;
}

// wfi: the caller has checked TW. Sleeps the host thread until an enabled
// interrupt is pending (ignoring the global enables, as 3.3.3 says), the next
// timer interrupt is due, or run control wants the hart.
void Hart::do_wfi() {
  HartState& s = state_;
  stop_batch_ = true;
  if ((read_mip() & s.mie) != 0) return;
  int64_t deadline_ns = INT64_MAX;
  if ((s.mie & mip::kMTIP) && clock_.running()) deadline_ns = clock_.host_ns_at_ticks(control_.mtimecmp());
  if ((s.mie & mip::kSTIP) && sstc_enabled() && clock_.running()) {
    deadline_ns = std::min(deadline_ns, stimecmp_host_ns());
  }
  control_.wait_for_interrupt(deadline_ns);
}

void Hart::privilege_changed() {
  fetch_page_va_ = kNoFetchPage;
  select_data_tlb();
}

}  // namespace godwit
