// The execution loop: find the block of decoded instructions at pc (through
// the current-page cache), run it instruction by instruction after checking
// each against memory, and between batches look at run control, the timer
// and interrupts.
#include "cpu/hart.hpp"

#include <cstring>

#include "cpu/csr_defs.hpp"
#include "cpu/execute.hpp"
#include "cpu/execute_integer.hpp"
#include "cpu/execute_memory.hpp"
#include "cpu/memory_access.hpp"

namespace godwit {

Hart::Hart(unsigned hart_id, AddressSpace& memory, HartControl& control, const GuestClock& clock)
    : hart_id_(hart_id),
      memory_(memory),
      control_(control),
      clock_(clock),
      tlbs_(std::make_unique<Tlb[]>(4)),
      decode_cache_(std::make_unique<DecodedInstruction[]>(kDecodeEntries)),
      blocks_(std::make_unique<Block[]>(kBlocks)) {
  reset(0);
}

Hart::~Hart() = default;

void Hart::reset(uint64_t pc) {
  state_ = HartState{};
  state_.pc = pc;
  state_.privilege = Privilege::kMachine;
  flush_caches();
}

void Hart::flush_caches() {
  flush_tlb();
  // Raw bits 0 are an illegal instruction, so an all-zero tag decoded as
  // such is a valid entry: no separate "empty" marker is needed.
  const DecodedInstruction empty = decode(0);
  for (unsigned i = 0; i < kDecodeEntries; ++i) decode_cache_[i] = empty;
  for (unsigned i = 0; i < kBlocks; ++i) blocks_[i].pc = ~0ull;
}

void Hart::run() {
  for (;;) {
    if (control_.attention() && !control_.service()) break;
    check_interrupts();
    execute_batch(kBatch);
  }
  control_.mark_exited();
}

uint64_t Hart::step(uint64_t max_instructions) {
  uint64_t retired = 0;
  while (max_instructions > 0) {
    check_interrupts();
    const BatchResult batch = execute_batch(max_instructions < kBatch ? max_instructions : kBatch);
    retired += batch.retired;
    max_instructions -= batch.attempted;
  }
  return retired;
}

[[gnu::always_inline]] inline uint64_t Hart::dispatch(const DecodedInstruction& d, uint64_t pc) {
  switch (d.op) {
#define GODWIT_DISPATCH(name) \
  case Op::name:              \
    return Execute::name(*this, d, pc);
    GODWIT_EXECUTE_FUNCTIONS(GODWIT_DISPATCH)
#undef GODWIT_DISPATCH
  }
  __builtin_unreachable();  // decode() only produces the enumerators above
}

// Runs until `budget` instructions were attempted or an execute function
// asked to stop (an interrupt may have become pending, or wfi slept).
// Adds the instructions retired to the counters.
Hart::BatchResult Hart::execute_batch(uint64_t budget) {
  HartState& s = state_;
  exceptions_in_batch_ = 0;
  stop_batch_ = false;
  uint64_t pc = s.pc;
  uint64_t attempted = 0;
  while (attempted < budget && !stop_batch_) {
    const uint64_t page_offset = pc - fetch_page_va_;
    if (page_offset > kPageSize - 4) [[unlikely]] {
      // Another page, the page's last two bytes, or no host page: one
      // instruction the slow way.
      s.pc = pc;
      retired_in_batch_ = attempted;
      if (const DecodedInstruction* d = fetch_slow()) {
        pc = dispatch(*d, pc);
        s.x[0] = 0;
      } else {
        pc = s.pc;  // the fetch trapped
      }
      ++attempted;  // a fetch fault counts too, so a trap loop cannot spin forever
      continue;
    }
    const uint8_t* const code = fetch_page_host_ + page_offset;
    Block& block = blocks_[(pc >> 1) % kBlocks];
    if (block.pc != pc) [[unlikely]] build_block(block, pc, code, page_offset);
    const uint64_t limit = block.count < budget - attempted ? block.count : budget - attempted;
    // Only CSR instructions read the count, and they always end their block.
    retired_in_batch_ = attempted + block.count - 1;
    uint64_t next = pc;
    uint64_t i = 0;
    while (i < limit) {
      const DecodedInstruction& d = block.instructions[i];
      const uint64_t here = pc + d.offset;
      uint32_t raw;
      std::memcpy(&raw, code + d.offset, 4);
      if (raw != d.raw) [[unlikely]] {  // the code changed: rebuild from here
        block.pc = ~0ull;
        next = here;
        break;
      }
      s.pc = here;  // stored for traps and CSRs, never reloaded here
      next = dispatch(d, here);
      s.x[0] = 0;
      ++i;
      if (next != here + d.length) [[unlikely]] break;  // jumped or trapped
    }
    attempted += i;
    pc = next;
  }
  s.pc = pc;
  retired_in_batch_ = attempted;
  const BatchResult result{attempted, retired_so_far()};
  const uint64_t retired = result.retired;
  // Zicntr: mcountinhibit.CY (bit 0) and .IR (bit 2) freeze the counters.
  if ((s.mcountinhibit & 1) == 0) s.mcycle += retired;
  if ((s.mcountinhibit & 4) == 0) s.minstret += retired;
  retired_in_batch_ = 0;
  exceptions_in_batch_ = 0;
  return result;
}

void Hart::build_block(Block& block, uint64_t pc, const uint8_t* code, uint64_t page_offset) {
  block.pc = pc;
  block.count = 0;
  uint32_t offset = 0;
  // Every instruction's 4-byte fetch must stay inside the page.
  while (block.count < kBlockInstructions && page_offset + offset <= kPageSize - 4) {
    uint32_t raw;
    std::memcpy(&raw, code + offset, 4);
    DecodedInstruction& d = block.instructions[block.count++];
    d = *lookup_decoded(pc + offset, raw);
    d.offset = static_cast<uint8_t>(offset);
    offset += d.length;
    if (d.ends_block) break;
  }
}

// Fetches one 16-bit parcel; traps (and returns false) on a fault.
bool Hart::fetch_parcel(uint64_t va, uint16_t& parcel) {
  uint64_t pa;
  const Fault fault = translate(va, Access::kExecute, state_.privilege, pa);
  if (fault != Fault::kNone) {
    raise_access_fault(Access::kExecute, fault, va);
    return false;
  }
  const uint8_t* host = memory_.readable_ptr(pa, 2);
  if (host == nullptr) {
    raise_access_fault(Access::kExecute, Fault::kAccess, va);
    return false;
  }
  std::memcpy(&parcel, host, 2);
  return true;
}

// The slow fetch: a new page (enter it in the page cache when it is RAM or a
// whole ROM page), the last two bytes of a page, or a ROM smaller than a page.
const DecodedInstruction* Hart::fetch_slow() {
  HartState& s = state_;
  const uint64_t page_va = s.pc & ~(kPageSize - 1);
  uint64_t pa;
  const Fault fault = translate(s.pc, Access::kExecute, s.privilege, pa);
  if (fault != Fault::kNone) {
    raise_access_fault(Access::kExecute, fault, s.pc);
    return nullptr;
  }
  const uint64_t page_pa = pa & ~(kPageSize - 1);
  if (const uint8_t* host = memory_.readable_ptr(page_pa, kPageSize)) {
    fetch_page_va_ = page_va;
    fetch_page_host_ = host;
    if (s.pc - page_va <= kPageSize - 4) {
      uint32_t raw;
      std::memcpy(&raw, host + (s.pc - page_va), 4);
      return lookup_decoded(s.pc, raw);
    }
  }
  // Parcel by parcel: the instruction may straddle two pages.
  uint16_t low;
  if (!fetch_parcel(s.pc, low)) return nullptr;
  uint32_t raw = low;
  if (!is_compressed(raw)) {
    uint16_t high;
    if (!fetch_parcel(s.pc + 2, high)) return nullptr;
    raw |= static_cast<uint32_t>(high) << 16;
  }
  return lookup_decoded(s.pc, raw);
}

const DecodedInstruction* Hart::lookup_decoded(uint64_t pc, uint32_t raw) {
  DecodedInstruction* entry = &decode_cache_[(pc >> 1) % kDecodeEntries];
  if (entry->raw != raw) {
    *entry = decode(raw);
    entry->raw = raw;
  }
  return entry;
}

}  // namespace godwit
