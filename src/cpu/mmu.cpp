// Sv39 address translation (privileged spec 12.3 and 12.4), the TLB, and the
// slow paths of loads and stores: MMIO, TLB misses, accesses that straddle
// pages, and misaligned accesses outside RAM (split into byte accesses).
//
// Accessed and dirty bits are set by the walker, as QEMU does by default
// (Svadu behaviour), with a compare-and-swap on the PTE so a concurrent
// update by another hart or by the guest is never lost.
#include <cstring>

#include "base/byte_order.hpp"
#include "cpu/csr_defs.hpp"
#include "cpu/memory_access.hpp"

namespace godwit {
namespace {

namespace pte {
inline constexpr uint64_t kV = 1 << 0;
inline constexpr uint64_t kR = 1 << 1;
inline constexpr uint64_t kW = 1 << 2;
inline constexpr uint64_t kX = 1 << 3;
inline constexpr uint64_t kU = 1 << 4;
inline constexpr uint64_t kA = 1 << 6;
inline constexpr uint64_t kD = 1 << 7;
inline constexpr uint64_t kPpnMask = (1ull << 44) - 1;
}  // namespace pte

constexpr uint64_t kSatpModeSv39 = 8;

static_assert(static_cast<unsigned>(Hart::AccessType::kRead) == 0 && static_cast<unsigned>(Hart::AccessType::kWrite) == 1 &&
              static_cast<unsigned>(Hart::AccessType::kExecute) == 2);  // the values of Hart::Access

}  // namespace

Privilege Hart::data_privilege() const {
  const HartState& s = state_;
  if (s.privilege == Privilege::kMachine && (s.mstatus & mstatus::kMPRV)) {
    return static_cast<Privilege>((s.mstatus & mstatus::kMPP) >> mstatus::kMPPShift);
  }
  return s.privilege;
}

Hart::Fault Hart::translate(uint64_t va, Access access, Privilege privilege, uint64_t& pa) {
  return walk(va, access, privilege, /*update_pte=*/true, pa);
}

std::optional<uint64_t> Hart::translate_for_debug(uint64_t vaddr, AccessType type) const {
  const auto access = static_cast<Access>(type);
  const Privilege privilege = access == Access::kExecute ? state_.privilege : data_privilege();
  uint64_t pa;
  if (walk(vaddr, access, privilege, /*update_pte=*/false, pa) != Fault::kNone) return std::nullopt;
  return pa;
}

Hart::Fault Hart::walk(uint64_t va, Access access, Privilege privilege, bool update_pte, uint64_t& pa) const {
  const HartState& s = state_;
  if (privilege == Privilege::kMachine || (s.satp >> 60) != kSatpModeSv39) {
    pa = va;
    return Fault::kNone;
  }
  // Bits 63..39 must all equal bit 38.
  if (static_cast<uint64_t>(static_cast<int64_t>(va << 25) >> 25) != va) return Fault::kPage;

  uint64_t table = (s.satp & pte::kPpnMask) << kPageShift;
  for (int level = 2; level >= 0; --level) {
    const uint64_t pte_pa = table + ((va >> (kPageShift + 9 * level)) & 0x1ff) * 8;
    // Page tables outside RAM raise an access fault (PMP/PMA check of the walk).
    uint8_t* const pte_host = memory_.writable_ram_ptr(pte_pa, 8, RamWriteKey{});
    if (pte_host == nullptr) return Fault::kAccess;
    uint64_t entry = __atomic_load_n(reinterpret_cast<uint64_t*>(pte_host), __ATOMIC_ACQUIRE);
    for (;;) {
      if (!(entry & pte::kV) || (!(entry & pte::kR) && (entry & pte::kW))) return Fault::kPage;
      // Bits 63..54 hold N, PBMT and reserved bits: no Svnapot or Svpbmt here.
      if (entry >> 54) return Fault::kPage;
      const uint64_t ppn = (entry >> 10) & pte::kPpnMask;
      if (!(entry & (pte::kR | pte::kX))) {
        if (level == 0) return Fault::kPage;
        table = ppn << kPageShift;
        break;  // next level
      }
      if (level > 0 && (ppn & ((1ull << (9 * level)) - 1)) != 0) return Fault::kPage;  // misaligned superpage
      if (privilege == Privilege::kUser) {
        if (!(entry & pte::kU)) return Fault::kPage;
      } else if (entry & pte::kU) {
        // S-mode reaches user pages only for data, and only with SUM.
        if (access == Access::kExecute || !(s.mstatus & mstatus::kSUM)) return Fault::kPage;
      }
      bool allowed = false;
      switch (access) {
        case Access::kRead:
          allowed = (entry & pte::kR) || ((s.mstatus & mstatus::kMXR) && (entry & pte::kX));
          break;
        case Access::kWrite: allowed = (entry & pte::kW) != 0; break;
        case Access::kExecute: allowed = (entry & pte::kX) != 0; break;
      }
      if (!allowed) return Fault::kPage;
      const uint64_t updated = entry | pte::kA | (access == Access::kWrite ? pte::kD : 0);
      // On failure `entry` holds the new PTE value: check it again.
      if (update_pte && updated != entry && !ram_compare_exchange<uint64_t>(pte_host, entry, updated)) continue;
      const uint64_t offset_mask = (1ull << (kPageShift + 9 * level)) - 1;
      pa = ((ppn << kPageShift) & ~offset_mask) | (va & offset_mask);
      return Fault::kNone;
    }
  }
  return Fault::kPage;  // not reached: level 0 always ends the walk
}

void Hart::fill_tlb(Tlb& tlb, Access access, uint64_t va, uint64_t pa) {
  if (data_trigger_armed_) return;  // every access must reach the trigger check
  const uint64_t page_pa = pa & ~(kPageSize - 1);
  uint8_t* const host = memory_.writable_ram_ptr(page_pa, kPageSize, RamWriteKey{});
  if (host == nullptr) return;
  TlbEntry& e = tlb.entries[static_cast<unsigned>(access)][(va >> kPageShift) % kTlbEntries];
  e.tag = va >> kPageShift;
  e.addend = reinterpret_cast<uint64_t>(host) - (va & ~(kPageSize - 1));
}

void Hart::flush_tlb() {
  for (unsigned privilege = 0; privilege < 4; ++privilege) {
    for (auto& by_access : tlbs_[privilege].entries) {
      for (TlbEntry& e : by_access) e.tag = ~0ull;
    }
  }
  fetch_page_va_ = kNoFetchPage;
  select_data_tlb();
}

void Hart::flush_tlb_of(Privilege privilege) {
  for (auto& by_access : tlbs_[static_cast<unsigned>(privilege)].entries) {
    for (TlbEntry& e : by_access) e.tag = ~0ull;
  }
  fetch_page_va_ = kNoFetchPage;
}

void Hart::flush_tlb_page(uint64_t va) {
  const uint64_t page = va >> kPageShift;
  for (unsigned privilege = 0; privilege < 4; ++privilege) {
    for (auto& by_access : tlbs_[privilege].entries) {
      TlbEntry& e = by_access[page % kTlbEntries];
      if (e.tag == page) e.tag = ~0ull;
    }
  }
  fetch_page_va_ = kNoFetchPage;
}

void Hart::select_data_tlb() { data_tlb_ = &tlbs_[static_cast<unsigned>(data_privilege())]; }

void Hart::raise_access_fault(Access access, Fault fault, uint64_t va) {
  static constexpr uint64_t kPageFault[] = {cause::kLoadPageFault, cause::kStorePageFault,
                                            cause::kInstructionPageFault};
  static constexpr uint64_t kAccessFault[] = {cause::kLoadAccessFault, cause::kStoreAccessFault,
                                              cause::kInstructionAccessFault};
  const unsigned index = static_cast<unsigned>(access);
  raise_exception(fault == Fault::kPage ? kPageFault[index] : kAccessFault[index], va);
}

bool Hart::load_slow(uint64_t va, unsigned size, uint64_t& value) {
  const auto own_privilege = static_cast<unsigned>(state_.privilege);
  if (data_trigger_armed_ && trigger_fires(trigger::kLoad, own_privilege, va, size)) return false;
  const Privilege privilege = data_privilege();
  uint64_t pa;
  if (const Fault fault = translate(va, Access::kRead, privilege, pa); fault != Fault::kNone) {
    raise_access_fault(Access::kRead, fault, va);
    return false;
  }
  const uint64_t in_first_page = kPageSize - (va & (kPageSize - 1));
  if (size <= in_first_page) {
    if (const uint8_t* host = memory_.ram_ptr(pa, size)) {
      fill_tlb(*data_tlb_, Access::kRead, va, pa);
      value = load_le_sized(host, size);
      return true;
    }
    if ((pa & (size - 1)) == 0) {
      if (memory_.read(pa, size, value)) return true;
      raise_access_fault(Access::kRead, Fault::kAccess, va);
      return false;
    }
  }
  // Misaligned outside RAM, or straddling two pages: byte by byte, after
  // translating the second page too.
  uint64_t second_pa = pa + in_first_page;
  if (size > in_first_page) {
    if (const Fault fault = translate(va + in_first_page, Access::kRead, privilege, second_pa); fault != Fault::kNone) {
      raise_access_fault(Access::kRead, fault, va + in_first_page);
      return false;
    }
  }
  value = 0;
  for (unsigned i = 0; i < size; ++i) {
    const uint64_t byte_pa = i < in_first_page ? pa + i : second_pa + (i - in_first_page);
    uint64_t byte;
    if (!memory_.read(byte_pa, 1, byte)) {
      raise_access_fault(Access::kRead, Fault::kAccess, va + i);
      return false;
    }
    value |= byte << (8 * i);
  }
  return true;
}

namespace {

// Splits a RAM store into its natural size so it goes through the funnel.
template <class Store>
void store_sized(uint8_t* host, unsigned size, uint64_t value, Store&& store) {
  switch (size) {
    case 1: store(host, static_cast<uint8_t>(value)); break;
    case 2: store(host, static_cast<uint16_t>(value)); break;
    case 4: store(host, static_cast<uint32_t>(value)); break;
    default: store(host, value); break;
  }
}

}  // namespace

bool Hart::store_slow(uint64_t va, unsigned size, uint64_t value) {
  const auto own_privilege = static_cast<unsigned>(state_.privilege);
  if (data_trigger_armed_ && trigger_fires(trigger::kStore, own_privilege, va, size)) return false;
  const Privilege privilege = data_privilege();
  uint64_t pa;
  if (const Fault fault = translate(va, Access::kWrite, privilege, pa); fault != Fault::kNone) {
    raise_access_fault(Access::kWrite, fault, va);
    return false;
  }
  const uint64_t in_first_page = kPageSize - (va & (kPageSize - 1));
  if (size <= in_first_page) {
    if (uint8_t* host = memory_.writable_ram_ptr(pa, size, RamWriteKey{})) {
      fill_tlb(*data_tlb_, Access::kWrite, va, pa);
      store_sized(host, size, value, [this](uint8_t* h, auto v) { ram_store(h, v); });
      note_code_write(host, size);
      return true;
    }
    if ((pa & (size - 1)) == 0) {
      if (memory_.write(pa, size, value, RamWriteKey{})) return true;
      raise_access_fault(Access::kWrite, Fault::kAccess, va);
      return false;
    }
  }
  // Both pages are translated before any byte is written, so a fault on the
  // second page leaves memory untouched.
  uint64_t second_pa = pa + in_first_page;
  if (size > in_first_page) {
    if (const Fault fault = translate(va + in_first_page, Access::kWrite, privilege, second_pa);
        fault != Fault::kNone) {
      raise_access_fault(Access::kWrite, fault, va + in_first_page);
      return false;
    }
  }
  for (unsigned i = 0; i < size; ++i) {
    const uint64_t byte_pa = i < in_first_page ? pa + i : second_pa + (i - in_first_page);
    const auto byte = static_cast<uint8_t>(value >> (8 * i));
    if (uint8_t* host = memory_.writable_ram_ptr(byte_pa, 1, RamWriteKey{})) {
      ram_store_byte(host, byte);
      note_code_write(host, 1);
    } else if (!memory_.write(byte_pa, 1, byte, RamWriteKey{})) {
      raise_access_fault(Access::kWrite, Fault::kAccess, va + i);
      return false;
    }
  }
  return true;
}

uint8_t* Hart::atomic_host_ptr(uint64_t va, unsigned size, Access access, uint64_t& pa) {
  // An AMO reads too, but is matched as the store it also is.
  const uint64_t kind = access == Access::kRead ? trigger::kLoad : trigger::kStore;
  if (data_trigger_armed_ && trigger_fires(kind, static_cast<unsigned>(state_.privilege), va, size)) return nullptr;
  // LR/SC/AMO must be naturally aligned (A extension, "Zaamo"/"Zalrsc": no
  // misaligned atomicity granule here).
  if (va & (size - 1)) {
    raise_exception(access == Access::kRead ? cause::kLoadMisaligned : cause::kStoreMisaligned, va);
    return nullptr;
  }
  if (const Fault fault = translate(va, access, data_privilege(), pa); fault != Fault::kNone) {
    raise_access_fault(access, fault, va);
    return nullptr;
  }
  uint8_t* host = memory_.writable_ram_ptr(pa, size, RamWriteKey{});
  if (host == nullptr) {
    raise_access_fault(access, Fault::kAccess, va);  // no atomics on MMIO or ROM
  } else if (access == Access::kWrite) {
    note_code_write(host, size);
  }
  return host;
}

}  // namespace godwit
