// Sstc (privileged spec, "Sstc" extension): the supervisor timer compare.
// While menvcfg.STCE is set, mip.STIP is `time >= stimecmp`, evaluated by
// the hart against the guest clock like the CLINT's MTIP, and S-mode may
// reach stimecmp when mcounteren.TM allows `time` too (csr.cpp). The hart
// runs on its own thread and stimecmp is written only by it, so a wfi sleep
// simply ends at the deadline computed here (trap.cpp) and no other thread
// needs to be told.
#include "cpu/hart.hpp"

namespace godwit {

uint64_t Hart::time_now() const { return clock_.ticks() + static_cast<uint64_t>(control_.time_delta()); }

int64_t Hart::stimecmp_host_ns() const {
  // time = ticks + delta, so time reaches stimecmp at ticks = stimecmp -
  // delta; clamp so "already due" stays due and "never" stays far away.
  const __int128 ticks = static_cast<__int128>(state_.stimecmp) - control_.time_delta();
  if (ticks <= 0) return 0;
  if (ticks >= static_cast<__int128>(UINT64_MAX)) return INT64_MAX;
  return clock_.host_ns_at_ticks(static_cast<uint64_t>(ticks));
}

}  // namespace godwit
