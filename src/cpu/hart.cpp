// The architectural core's life cycle and run loop: reset, restore, batches
// on the engine and the counting after them, and instruction fetch.
#include "cpu/hart.hpp"

#include <cstring>
#include <string>

#include "cpu/instruction_table.hpp"

namespace godwit {

Hart::Hart(unsigned hart_id, AddressSpace& memory, HartControl& control, const GuestClock& clock,
           EngineFactory make_engine)
    : hart_id_(hart_id),
      memory_(memory),
      control_(control),
      clock_(clock),
      tlbs_(std::make_unique<Tlb[]>(4)),
      engine_(make_engine(*this)) {
  reset(0);
}

Hart::~Hart() = default;

void Hart::reset(uint64_t pc) {
  state_ = HartState{};
  state_.pc = pc;
  state_.privilege = Privilege::kMachine;
  instructions_retired_ = 0;
  flush_caches();
}

void Hart::flush_caches() {
  flush_tlb();
  engine_->flush();
}

namespace {

// Walks a description for its validate() checks alone: the first one that
// fails, with the description's name in front as a load would put it.
class StateChecker {
 public:
  static constexpr bool saving() { return false; }
  static constexpr bool loading() { return false; }
  template <class T>
  void field(std::string_view, T&) {}
  template <class Fn>
  void subsection(std::string_view, uint32_t, bool, Fn&& body) {
    body(*this);
  }
  void validate(bool ok, const std::string& message) {
    if (!ok && error_.empty()) error_ = message;
  }
  const std::string& error() const { return error_; }

 private:
  std::string error_;
};

}  // namespace

Status Hart::restore(const HartState& state) {
  HartState checked = state;
  StateChecker checker;
  checked.visit_state(checker);
  if (!checker.error().empty()) return fail(std::string(HartState::kVMState.name) + ": " + checker.error());
  state_ = state;
  flush_caches();
  return {};
}

void Hart::run() {
  for (;;) {
    if (control_.attention() && !control_.service()) break;
    check_interrupts();
    run_batch(kBatch);
  }
  control_.mark_exited();
}

uint64_t Hart::step(uint64_t max_instructions) {
  uint64_t retired = 0;
  while (max_instructions > 0) {
    check_interrupts();
    const ExecutionEngine::BatchResult batch = run_batch(max_instructions < kBatch ? max_instructions : kBatch);
    retired += batch.retired;
    max_instructions -= batch.attempted;
  }
  return retired;
}

ExecutionEngine::BatchResult Hart::run_batch(uint64_t budget) {
  exceptions_in_batch_ = 0;
  stop_batch_ = false;
  const ExecutionEngine::BatchResult result = engine_->execute_batch(budget);
  HartState& s = state_;
  const uint64_t retired = result.retired;
  // Zicntr: mcountinhibit.CY (bit 0) and .IR (bit 2) freeze the counters.
  if ((s.mcountinhibit & 1) == 0) s.mcycle += retired;
  if ((s.mcountinhibit & 4) == 0) s.minstret += retired;
  instructions_retired_ += retired;
  retired_in_batch_ = 0;
  exceptions_in_batch_ = 0;
  return result;
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

// A new page (enter it in the page cache when it is RAM or a whole ROM page),
// the last two bytes of a page, or a ROM smaller than a page.
bool Hart::fetch_instruction(uint32_t& raw) {
  HartState& s = state_;
  const uint64_t page_va = s.pc & ~(kPageSize - 1);
  uint64_t pa;
  const Fault fault = translate(s.pc, Access::kExecute, s.privilege, pa);
  if (fault != Fault::kNone) {
    raise_access_fault(Access::kExecute, fault, s.pc);
    return false;
  }
  const uint64_t page_pa = pa & ~(kPageSize - 1);
  if (const uint8_t* host = memory_.readable_ptr(page_pa, kPageSize)) {
    fetch_page_va_ = page_va;
    fetch_page_host_ = host;
    if (s.pc - page_va <= kPageSize - 4) {
      std::memcpy(&raw, host + (s.pc - page_va), 4);
      return true;
    }
  }
  // Parcel by parcel: the instruction may straddle two pages.
  uint16_t low;
  if (!fetch_parcel(s.pc, low)) return false;
  raw = low;
  if (!is_compressed(raw)) {
    uint16_t high;
    if (!fetch_parcel(s.pc + 2, high)) return false;
    raw |= static_cast<uint32_t>(high) << 16;
  }
  return true;
}

}  // namespace godwit
