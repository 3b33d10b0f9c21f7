// Where the hart asks its Sdtrig triggers (debug_triggers.hpp). Matching is
// kept off the fast paths: while a trigger watches fetches, the fetch page
// cache stays empty so every instruction is fetched through
// fetch_instruction(); while one watches loads or stores, the data TLB takes
// no entries so every access reaches load_slow()/store_slow(). Guests that
// arm no trigger pay nothing.
#include "cpu/hart.hpp"

namespace godwit {

void Hart::triggers_changed() {
  execute_trigger_armed_ = trigger::armed(state_.triggers, trigger::kExecute);
  data_trigger_armed_ = trigger::armed(state_.triggers, trigger::kLoad | trigger::kStore);
  // Entries made while nothing watched would let accesses slip past.
  if (execute_trigger_armed_ || data_trigger_armed_) flush_tlb();
  stop_batch_ = true;  // the engine picks up the empty fetch page at once
}

// Address-match triggers fire before the access, with priority over every
// fault the access itself could raise (privileged spec table 3.7), and
// report the matched address in xtval as QEMU does. The privilege compared
// is the hart's own, not MPRV's effective one.
bool Hart::trigger_fires(uint64_t kind, unsigned privilege, uint64_t address, unsigned size_bytes) {
  const std::optional<uint64_t> tval = trigger::match(state_.triggers, kind, privilege, address, size_bytes);
  if (!tval) return false;
  raise_exception(cause::kBreakpoint, *tval);
  return true;
}

}  // namespace godwit
