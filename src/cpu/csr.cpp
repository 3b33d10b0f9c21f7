// The CSR file (privileged spec chapters 2, 3, 10; Zicntr, Sstc, Sdtrig).
// Reads and writes are switches over the numbers in csr_defs.hpp; a number
// missing here is an illegal instruction, as QEMU raises for CSRs it does not
// implement (OpenSBI and Linux probe optional CSRs that way: mstateen0,
// scountovf, seed, the hypervisor's, mcontext...).
#include "cpu/csr.hpp"

#include <cstdio>

#include "cpu/csr_defs.hpp"
#include "cpu/float_csr.hpp"
#include "cpu/hart.hpp"

namespace godwit {
namespace {

struct CsrName {
  uint16_t number;
  const char* name;
};

constexpr CsrName kNames[] = {
    {csr::kFflags, "fflags"},        {csr::kFrm, "frm"},
    {csr::kFcsr, "fcsr"},
    {csr::kCycle, "cycle"},          {csr::kTime, "time"},
    {csr::kInstret, "instret"},      {csr::kSstatus, "sstatus"},
    {csr::kSie, "sie"},              {csr::kStvec, "stvec"},
    {csr::kScounteren, "scounteren"}, {csr::kSenvcfg, "senvcfg"},
    {csr::kSscratch, "sscratch"},    {csr::kSepc, "sepc"},
    {csr::kScause, "scause"},        {csr::kStval, "stval"},
    {csr::kSip, "sip"},              {csr::kSatp, "satp"},
    {csr::kStimecmp, "stimecmp"},    {csr::kTselect, "tselect"},
    {csr::kTdata1, "tdata1"},        {csr::kTdata2, "tdata2"},
    {csr::kTdata3, "tdata3"},        {csr::kTinfo, "tinfo"},
    {csr::kMvendorid, "mvendorid"},  {csr::kMarchid, "marchid"},
    {csr::kMimpid, "mimpid"},        {csr::kMhartid, "mhartid"},
    {csr::kMconfigptr, "mconfigptr"}, {csr::kMstatus, "mstatus"},
    {csr::kMisa, "misa"},            {csr::kMedeleg, "medeleg"},
    {csr::kMideleg, "mideleg"},      {csr::kMie, "mie"},
    {csr::kMtvec, "mtvec"},          {csr::kMcounteren, "mcounteren"},
    {csr::kMenvcfg, "menvcfg"},      {csr::kMcountinhibit, "mcountinhibit"},
    {csr::kMscratch, "mscratch"},    {csr::kMepc, "mepc"},
    {csr::kMcause, "mcause"},        {csr::kMtval, "mtval"},
    {csr::kMip, "mip"},              {csr::kMcycle, "mcycle"},
    {csr::kMinstret, "minstret"},
};

// misa: MXL=2 (RV64) and the extensions I, M, A, F, D, C, S, U.
constexpr uint64_t kMisa = (2ull << 62) | (1u << ('I' - 'A')) | (1u << ('M' - 'A')) | (1u << ('A' - 'A')) |
                           (1u << ('F' - 'A')) | (1u << ('D' - 'A')) | (1u << ('C' - 'A')) | (1u << ('S' - 'A')) |
                           (1u << ('U' - 'A'));

constexpr uint64_t kMieWritable = mip::kSSIP | mip::kMSIP | mip::kSTIP | mip::kMTIP | mip::kSEIP | mip::kMEIP;
// mip bits software may write (3.1.9): the three S-level pending bits,
// except STIP while Sstc drives it (menvcfg.STCE); MSIP/MTIP/MEIP belong to
// the CLINT and PLIC.
constexpr uint64_t kMipWritable = mip::kSSIP | mip::kSTIP | mip::kSEIP;
// Only S-level interrupts can be delegated, as in QEMU (delegable_ints).
constexpr uint64_t kDelegableInterrupts = mip::kSSIP | mip::kSTIP | mip::kSEIP;
constexpr uint64_t kPmpaddrMask = (1ull << 54) - 1;
// pmpcfg entries: R, W, X, A and L; bits 5 and 6 are reserved (WARL zero).
constexpr uint64_t kPmpcfgMask = 0x9f9f9f9f9f9f9f9full;

bool in(uint16_t number, uint16_t first, uint16_t last) { return number >= first && number <= last; }

// xtvec: MODE 0 (direct) and 1 (vectored); QEMU ignores writes of the
// reserved modes.
void write_tvec(uint64_t& tvec, uint64_t value) {
  if ((value & 3) < 2) tvec = value;
}

}  // namespace

std::string csr_name(uint16_t number) {
  for (const CsrName& entry : kNames) {
    if (entry.number == number) return entry.name;
  }
  char text[8];
  std::snprintf(text, sizeof text, "0x%03x", number);
  return text;
}

bool Hart::counter_enabled(uint16_t number) const {
  const uint64_t bit = 1ull << (number - csr::kCycle);
  switch (state_.privilege) {
    case Privilege::kMachine: return true;
    case Privilege::kSupervisor: return (state_.mcounteren & bit) != 0;
    case Privilege::kUser: return (state_.mcounteren & state_.scounteren & bit) != 0;
  }
  return false;
}

// The checks every CSR instruction makes before touching the register (2.1).
bool Hart::csr_accessible(uint16_t number, bool writes) const {
  const unsigned lowest_privilege = (number >> 8) & 3;
  if (static_cast<unsigned>(state_.privilege) < lowest_privilege) return false;
  if (writes && (number >> 10) == 3) return false;  // read-only space
  if (number == csr::kSatp && state_.privilege == Privilege::kSupervisor && (state_.mstatus & mstatus::kTVM)) {
    return false;
  }
  if (in(number, csr::kCycle, csr::kHpmcounter31) && !counter_enabled(number)) return false;
  // Sstc: S-mode reaches stimecmp only when M-mode lets it read `time`
  // (mcounteren.TM) and has turned the extension on (menvcfg.STCE).
  if (number == csr::kStimecmp && state_.privilege == Privilege::kSupervisor &&
      !((state_.mcounteren & counteren::kTM) && (state_.menvcfg & envcfg::kSTCE))) {
    return false;
  }
  if (is_float_csr(number) && !float_enabled(state_)) return false;
  return true;
}

bool Hart::csr_read(uint16_t number, uint64_t& value) const {
  const HartState& s = state_;
  const uint64_t in_flight = retired_so_far();  // this batch, not yet in the counters
  switch (number) {
    case csr::kCycle:
    case csr::kMcycle: value = s.mcycle + ((s.mcountinhibit & 1) ? 0 : in_flight); return true;
    case csr::kTime: value = time_now(); return true;
    case csr::kInstret:
    case csr::kMinstret: value = s.minstret + ((s.mcountinhibit & 4) ? 0 : in_flight); return true;
    case csr::kFflags:
    case csr::kFrm:
    case csr::kFcsr: value = read_float_csr(s, number); return true;
    case csr::kSstatus:
      value = (s.mstatus | mstatus::kXlen64 | mstatus::sd_bit(s.mstatus)) & mstatus::kSstatusReadable;
      return true;
    case csr::kSie: value = s.mie & s.mideleg; return true;
    case csr::kStvec: value = s.stvec; return true;
    case csr::kScounteren: value = s.scounteren; return true;
    case csr::kSenvcfg: value = s.senvcfg; return true;
    case csr::kSscratch: value = s.sscratch; return true;
    case csr::kSepc: value = s.sepc; return true;
    case csr::kScause: value = s.scause; return true;
    case csr::kStval: value = s.stval; return true;
    case csr::kSip: value = read_mip() & s.mideleg; return true;
    case csr::kSatp: value = s.satp; return true;
    case csr::kStimecmp: value = s.stimecmp; return true;
    case csr::kMvendorid:
    case csr::kMarchid:
    case csr::kMimpid:
    case csr::kMconfigptr: value = 0; return true;
    case csr::kMhartid: value = hart_id_; return true;
    case csr::kMstatus: value = s.mstatus | mstatus::kXlen64 | mstatus::sd_bit(s.mstatus); return true;
    case csr::kMisa: value = kMisa; return true;
    case csr::kMedeleg: value = s.medeleg; return true;
    case csr::kMideleg: value = s.mideleg; return true;
    case csr::kMie: value = s.mie; return true;
    case csr::kMtvec: value = s.mtvec; return true;
    case csr::kMcounteren: value = s.mcounteren; return true;
    case csr::kMenvcfg: value = s.menvcfg; return true;
    case csr::kMcountinhibit: value = s.mcountinhibit; return true;
    case csr::kMscratch: value = s.mscratch; return true;
    case csr::kMepc: value = s.mepc; return true;
    case csr::kMcause: value = s.mcause; return true;
    case csr::kMtval: value = s.mtval; return true;
    case csr::kMip: value = read_mip(); return true;
    default: break;
  }
  if (in(number, csr::kTselect, csr::kTinfo)) return trigger_csr_read(number, value);
  // No hardware performance counters: they and their events read zero.
  if (in(number, csr::kHpmcounter3, csr::kHpmcounter31) || in(number, csr::kMhpmcounter3, csr::kMhpmcounter31) ||
      in(number, csr::kMhpmevent3, csr::kMhpmevent31)) {
    value = 0;
    return true;
  }
  if (in(number, csr::kPmpcfg0, csr::kPmpcfg15)) {
    if (number & 1) return false;  // odd pmpcfg registers exist only on RV32
    const unsigned index = (number - csr::kPmpcfg0) / 2;
    value = index < 2 ? s.pmpcfg[index] : 0;  // entries 16..63 do not exist: read zero
    return true;
  }
  if (in(number, csr::kPmpaddr0, csr::kPmpaddr63)) {
    const unsigned index = number - csr::kPmpaddr0;
    value = index < 16 ? s.pmpaddr[index] : 0;
    return true;
  }
  return false;
}

bool Hart::csr_write(uint16_t number, uint64_t value) {
  HartState& s = state_;
  switch (number) {
    case csr::kFflags:
    case csr::kFrm:
    case csr::kFcsr: write_float_csr(s, number, value); return true;
    case csr::kSstatus:
      write_mstatus((s.mstatus & ~mstatus::kSstatusWritable) | (value & mstatus::kSstatusWritable));
      return true;
    case csr::kSie:
      s.mie = (s.mie & ~s.mideleg) | (value & s.mideleg & kMieWritable);
      stop_batch_ = true;
      return true;
    case csr::kStvec: write_tvec(s.stvec, value); return true;
    case csr::kScounteren: s.scounteren = value & 0xffffffff; return true;
    case csr::kSenvcfg: s.senvcfg = value & envcfg::kSenvcfgWritable; return true;
    case csr::kSscratch: s.sscratch = value; return true;
    case csr::kSepc: s.sepc = value & ~1ull; return true;
    case csr::kScause: s.scause = value; return true;
    case csr::kStval: s.stval = value; return true;
    case csr::kSip: {
      // Through sip only SSIP is writable, and only when delegated (10.1.3).
      const uint64_t writable = s.mideleg & mip::kSSIP;
      s.mip = (s.mip & ~writable) | (value & writable);
      stop_batch_ = true;
      return true;
    }
    case csr::kSatp: write_satp(value); return true;
    case csr::kStimecmp:
      s.stimecmp = value;
      stop_batch_ = true;  // STIP may have changed
      return true;
    case csr::kMstatus: write_mstatus(value); return true;
    case csr::kMisa: return true;  // WARL: the extensions cannot be turned off
    case csr::kMedeleg: s.medeleg = value & cause::kDelegableExceptions; return true;
    case csr::kMideleg:
      s.mideleg = value & kDelegableInterrupts;
      stop_batch_ = true;
      return true;
    case csr::kMie:
      s.mie = value & kMieWritable;
      stop_batch_ = true;
      return true;
    case csr::kMtvec: write_tvec(s.mtvec, value); return true;
    case csr::kMcounteren: s.mcounteren = value & 0xffffffff; return true;
    case csr::kMenvcfg:
      s.menvcfg = value & envcfg::kMenvcfgWritable;
      stop_batch_ = true;  // STCE hands STIP to or from stimecmp
      return true;
    case csr::kMcountinhibit: {
      // The batch adds its retired count at its end unless inhibited then:
      // move this batch's count so far (this instruction included) in or out.
      const uint64_t so_far = retired_so_far() + 1;
      const uint64_t updated = value & 5;  // CY and IR
      const uint64_t starts = s.mcountinhibit & ~updated;
      const uint64_t stops = updated & ~s.mcountinhibit;
      if (stops & 1) s.mcycle += so_far;
      if (stops & 4) s.minstret += so_far;
      if (starts & 1) s.mcycle -= so_far;
      if (starts & 4) s.minstret -= so_far;
      s.mcountinhibit = updated;
      return true;
    }
    case csr::kMscratch: s.mscratch = value; return true;
    case csr::kMepc: s.mepc = value & ~1ull; return true;
    case csr::kMcause: s.mcause = value; return true;
    case csr::kMtval: s.mtval = value; return true;
    case csr::kMip: {
      // With Sstc on, STIP is stimecmp's: writes leave the software bit be.
      const uint64_t writable = sstc_enabled() ? kMipWritable & ~mip::kSTIP : kMipWritable;
      s.mip = (s.mip & ~writable) | (value & writable);
      stop_batch_ = true;
      return true;
    }
    // The written value is what the counter holds after this instruction
    // retires; the batch adds this instruction back when it ends.
    case csr::kMcycle: s.mcycle = (s.mcountinhibit & 1) ? value : value - retired_so_far() - 1; return true;
    case csr::kMinstret: s.minstret = (s.mcountinhibit & 4) ? value : value - retired_so_far() - 1; return true;
    default: break;
  }
  if (in(number, csr::kMhpmcounter3, csr::kMhpmcounter31) || in(number, csr::kMhpmevent3, csr::kMhpmevent31)) {
    return true;  // read-only zero
  }
  if (in(number, csr::kTselect, csr::kTinfo)) return trigger_csr_write(number, value);
  if (in(number, csr::kPmpcfg0, csr::kPmpcfg15)) {
    if (number & 1) return false;
    const unsigned index = (number - csr::kPmpcfg0) / 2;
    if (index < 2) s.pmpcfg[index] = value & kPmpcfgMask;
    return true;
  }
  if (in(number, csr::kPmpaddr0, csr::kPmpaddr63)) {
    const unsigned index = number - csr::kPmpaddr0;
    if (index < 16) s.pmpaddr[index] = value & kPmpaddrMask;
    return true;
  }
  return false;
}

void Hart::write_mstatus(uint64_t value) {
  HartState& s = state_;
  uint64_t updated = value & mstatus::kWritable;
  // MPP=2 is reserved (no hypervisor): legalise it to U.
  if (((updated & mstatus::kMPP) >> mstatus::kMPPShift) == 2) updated &= ~mstatus::kMPP;
  const uint64_t changed = s.mstatus ^ updated;
  s.mstatus = updated;
  // SUM changes what S-mode may touch, MXR what S and U may read: their
  // cached translations go. MPRV/MPP change which TLB serves data accesses.
  if (changed & mstatus::kSUM) flush_tlb_of(Privilege::kSupervisor);
  if (changed & mstatus::kMXR) {
    flush_tlb_of(Privilege::kSupervisor);
    flush_tlb_of(Privilege::kUser);
  }
  if (changed & (mstatus::kMPRV | mstatus::kMPP)) select_data_tlb();
  stop_batch_ = true;  // MIE/SIE may have enabled a pending interrupt
}

void Hart::write_satp(uint64_t value) {
  // Only Bare (0) and Sv39 (8); a write selecting another mode has no effect
  // at all, which the spec allows (12.1.11).
  const uint64_t mode = value >> 60;
  if (mode != 0 && mode != 8) return;
  state_.satp = value;
  flush_tlb();
}

// Sdtrig's CSRs (debug spec 5.7): tdata1/tdata2 of the trigger tselect
// names; tdata3 (textra) reads zero; tinfo is read-only, its writes ignored
// as QEMU does.
bool Hart::trigger_csr_read(uint16_t number, uint64_t& value) const {
  const DebugTriggers& t = state_.triggers;
  switch (number) {
    case csr::kTselect: value = t.tselect; return true;
    case csr::kTdata1: value = t.tdata1[t.tselect]; return true;
    case csr::kTdata2: value = t.tdata2[t.tselect]; return true;
    case csr::kTdata3: value = 0; return true;
    case csr::kTinfo: value = trigger::kTinfo; return true;
    default: return false;
  }
}

bool Hart::trigger_csr_write(uint16_t number, uint64_t value) {
  DebugTriggers& t = state_.triggers;
  switch (number) {
    case csr::kTselect:
      if (value < DebugTriggers::kCount) t.tselect = value;  // WARL: no such trigger, no change
      return true;
    case csr::kTdata1:
      t.tdata1[t.tselect] = trigger::write_tdata1(t.tdata1[t.tselect], value);
      triggers_changed();
      return true;
    case csr::kTdata2:
      t.tdata2[t.tselect] = value;
      triggers_changed();
      return true;
    case csr::kTdata3:
    case csr::kTinfo: return true;
    default: return false;
  }
}

}  // namespace godwit
