// SiFive PLIC as QEMU's virt machine configures it (hart-config "MS" per
// hart, VIRT_IRQCHIP_NUM_PRIO_BITS = 3, so priorities 0..7).
//
//   0x000000 + 4*source        priority (WARL: value mod 8, as QEMU)
//   0x001000 + 4*word          pending bits, read-only
//   0x002000 + 0x80*context    enable bits
//   0x200000 + 0x1000*context  threshold; +4 claim (read) / complete (write)
//
// Context 2h is hart h's M mode (drives mip.MEIP), 2h+1 its S mode (SEIP).
// Sources are level-triggered through a gateway: a raised line sets pending
// unless the source is claimed; claiming clears pending and marks it claimed;
// completing clears claimed and, if the line is still high, pends it again.
// Lowering the line clears pending, as QEMU's set_irq does. reset() clears
// claims and re-pends sources whose line is still high. A context's interrupt
// is the highest-priority pending, enabled, unclaimed source whose priority
// exceeds the threshold (lowest id on a tie); priority 0 never fires.
// Only 4-byte accesses are honoured, as QEMU's valid.{min,max}_access_size.
//
// Migration: QEMU's "riscv_sifive_plic" fields (source priorities, context
// thresholds, pending, claimed, enables) plus the input line levels, which
// QEMU does not keep but which decide whether a completed source pends
// again. The counts of sources and contexts must match on both sides. After
// loading, every context's MEIP/SEIP is driven again from the loaded state.
//
// Threads: read()/write() on hart threads, set_irq() on any thread, reset()
// on the main thread with the harts parked, save()/load()/describe() on the
// migration thread (load with the harts parked); one mutex guards the state.
#pragma once

#include <cstdint>
#include <mutex>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "cpu/hart_control.hpp"
#include "devices/irq_line.hpp"
#include "memory/mmio_device.hpp"
#include "base/state_elements.hpp"
#include "migration/stream_reader.hpp"
#include "migration/stream_writer.hpp"
#include "migration/vmstate.hpp"

namespace godwit {

class Plic final : public MmioDevice, public InterruptController {
 public:
  static constexpr uint64_t kWindowBytes = 0x600000;
  static constexpr uint64_t kPriorityBase = 0x0;
  static constexpr uint64_t kPendingBase = 0x1000;
  static constexpr uint64_t kEnableBase = 0x2000;
  static constexpr uint64_t kEnableStride = 0x80;
  static constexpr uint64_t kContextBase = 0x200000;
  static constexpr uint64_t kContextStride = 0x1000;
  static constexpr unsigned kPriorityBits = 3;  // QEMU VIRT_IRQCHIP_NUM_PRIO_BITS
  static constexpr uint32_t kMaxPriority = (1u << kPriorityBits) - 1;

  // Word arrays hold one bit per source id, source 0 included (never set).
  struct State {
    std::vector<uint32_t> priority;   // per source id, index 0 unused
    std::vector<uint32_t> pending;    // bitfield words
    std::vector<uint32_t> claimed;    // bitfield words
    std::vector<uint32_t> level;      // bitfield words: input line levels
    std::vector<uint32_t> enable;     // words_per_context words per context
    std::vector<uint32_t> threshold;  // per context

    static constexpr VMStateInfo kVMState{"riscv_sifive_plic", 1, 1};
    template <class V>
    void visit_state(V& v) {
      // The arrays below are sized by these: a destination with other counts
      // fails here, before reading a single element.
      const auto num_sources = static_cast<uint32_t>(priority.size() - 1);
      v.equal("num_sources", num_sources);
      v.equal("num_contexts", static_cast<uint32_t>(threshold.size()));
      visit_elements(v, "priority", priority);
      visit_elements(v, "pending", pending);
      visit_elements(v, "enable", enable);
      visit_elements(v, "threshold", threshold);
      visit_elements(v, "claimed", claimed);
      visit_elements(v, "level", level);

      auto at_most_max = [](uint32_t value, size_t) { return value <= kMaxPriority; };
      size_t bad = first_failing(priority, at_most_max);
      v.validate(bad == priority.size(), "priority of source " + std::to_string(bad) + " is above 7");
      bad = first_failing(threshold, at_most_max);
      v.validate(bad == threshold.size(), "threshold of context " + std::to_string(bad) + " is above 7");
      // Bitfields hold sources 1..num_sources only: bit 0 and bits past the
      // last source stay clear (source 0 means "none" to a claim).
      auto only_sources = [num_sources](uint32_t word, size_t index) {
        uint32_t allowed = ~0u;
        if (index == 0) allowed &= ~1u;
        const size_t first = index * 32;
        if (first + 31 > num_sources) allowed &= num_sources >= first ? (2u << (num_sources - first)) - 1 : 0;
        return (word & ~allowed) == 0;
      };
      v.validate(first_failing(pending, only_sources) == pending.size(), "pending has bits of no source");
      v.validate(first_failing(claimed, only_sources) == claimed.size(), "claimed has bits of no source");
      v.validate(first_failing(level, only_sources) == level.size(), "level has bits of no source");
    }
  };

  // `num_sources` counts the usable sources 1..num_sources (the device tree's
  // riscv,ndev; QEMU's own num-sources property counts source 0 too).
  explicit Plic(std::vector<HartControl*> harts, unsigned num_sources = 95);

  std::string_view name() const override { return "plic"; }
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  void set_irq(unsigned source, bool level) override;
  void reset();

  unsigned num_sources() const { return num_sources_; }
  size_t num_contexts() const { return harts_.size() * 2; }

  State state() const;

  // Migration: writes State; loads one into a copy (a bad stream leaves the
  // PLIC and the harts' MEIP/SEIP as they were), then drives every context's
  // output again. Load only while the harts are parked.
  void save(StreamWriter& out) const;
  Status load(StreamReader& in, uint32_t version_id);
  nlohmann::json describe() const;

 private:
  bool bit(const std::vector<uint32_t>& words, unsigned source) const {
    return (words[source >> 5] >> (source & 31)) & 1;
  }
  void set_bit(std::vector<uint32_t>& words, unsigned source, bool value) {
    const uint32_t mask = 1u << (source & 31);
    words[source >> 5] = value ? (words[source >> 5] | mask) : (words[source >> 5] & ~mask);
  }
  unsigned best_source_locked(size_t context) const;
  void update_locked();

  std::vector<HartControl*> harts_;
  unsigned num_sources_;
  unsigned words_;  // bitfield words covering sources 0..num_sources
  mutable std::mutex mutex_;
  State state_;
  std::vector<int8_t> outputs_;  // last level driven per context, -1 unknown; derived, not state
};

}  // namespace godwit
