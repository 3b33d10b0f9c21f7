// The CLINT as QEMU's virt machine builds it: an ACLINT MSWI (msip per hart)
// at offset 0 and an ACLINT MTIMER (mtimecmp per hart, one mtime) at 0x4000.
//
//   0x0000 + 4*hart   msip      bit 0 drives the hart's mip.MSIP
//   0x4000 + 8*hart   mtimecmp  32-bit halves or one 64-bit access
//   0xbff8            mtime     10 MHz, from GuestClock plus a guest offset
//
// mtime: guest writes are allowed as in QEMU, which keeps a delta between the
// clock and the guest-visible value (`State::mtime_delta_ticks`). The hart
// compares GuestClock::ticks() against HartControl::mtimecmp(), so the value
// given to the hart is the guest's mtimecmp moved into the clock's frame
// (mtimecmp - delta, clamped). The hart's `time` CSR adds the same delta,
// which the CLINT hands every hart through HartControl::set_time_delta().
//
// Reset matches QEMU: mtime goes back to 0 (the delta absorbs the clock) and
// every mtimecmp reads 0, so MTIP is pending after reset exactly as on QEMU
// (`info registers` there shows mip = 0x80 before the firmware runs).
//
// Migration: msip and mtimecmp per hart and the mtime delta. The delta is
// relative to GuestClock, which the machine migrates itself (it stands still
// while the machine is stopped), so mtime continues where the source left it.
// QEMU splits this between its ACLINT MSWI (no state of its own: msip lives
// in the CPU's mip) and "riscv_mtimer" (timecmp per hart). After loading,
// every HartControl is given its msip, mtimecmp and time delta again.
//
// Threads: read()/write() on hart threads, reset() on the main thread with the
// harts parked, save()/load()/describe() on the migration thread (load with
// the harts parked); one mutex guards the state.
#pragma once

#include <cstdint>
#include <mutex>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "cpu/hart_control.hpp"
#include "memory/mmio_device.hpp"
#include "base/state_elements.hpp"
#include "base/guest_clock.hpp"
#include "migration/stream_reader.hpp"
#include "migration/stream_writer.hpp"
#include "migration/vmstate.hpp"

namespace godwit {

class Clint final : public MmioDevice {
 public:
  static constexpr uint64_t kWindowBytes = 0x10000;
  static constexpr uint64_t kMsipBase = 0x0000;
  static constexpr uint64_t kMtimecmpBase = 0x4000;
  static constexpr uint64_t kMtime = 0xbff8;

  struct State {
    std::vector<uint32_t> msip;      // bit 0 per hart
    std::vector<uint64_t> mtimecmp;  // guest-visible value per hart
    int64_t mtime_delta_ticks = 0;   // mtime = clock.ticks() + delta

    static constexpr VMStateInfo kVMState{"riscv_aclint", 1, 1};
    template <class V>
    void visit_state(V& v) {
      v.equal("num_harts", static_cast<uint32_t>(msip.size()));
      visit_elements(v, "mtimecmp", mtimecmp);
      visit_elements(v, "msip", msip);
      v.field("mtime_delta_ticks", mtime_delta_ticks);
      const size_t bad = first_failing(msip, [](uint32_t value, size_t) { return value <= 1; });
      v.validate(bad == msip.size(), "msip of hart " + std::to_string(bad) + " has bits other than bit 0");
    }
  };

  Clint(std::vector<HartControl*> harts, GuestClock& clock);

  std::string_view name() const override { return "clint"; }
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  void reset();

  // Guest-visible mtime, and its distance from GuestClock::ticks().
  uint64_t mtime() const;
  int64_t mtime_delta_ticks() const;

  State state() const;

  // Migration: writes State; loads one into a copy (a bad stream leaves the
  // CLINT and the harts as they were), then pushes msip, mtimecmp and the
  // time delta to every hart. Load only while the harts are parked.
  void save(StreamWriter& out) const;
  Status load(StreamReader& in, uint32_t version_id);
  nlohmann::json describe() const;

 private:
  uint64_t mtime_locked() const;
  void push_mtimecmp_locked(size_t hart);

  std::vector<HartControl*> harts_;
  GuestClock& clock_;
  mutable std::mutex mutex_;
  State state_;
};

}  // namespace godwit
