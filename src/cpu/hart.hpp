// One RV64IMAFDC (RV64GC) hart: Zicsr, Zifencei, Zicntr, Sstc, Sdtrig, M/S/U modes, Sv39.
//
// Hart is the architectural core: HartState (registers, pc, privilege,
// CSRs), the MMU with its TLBs, traps, interrupts, the counters and run
// control. Instructions are run by an ExecutionEngine the hart owns, chosen
// at construction (the interpreter unless told otherwise); the contract
// between the two is written in execution_engine.hpp. Execute (one function
// per instruction) and the engines are friends: they reach the core's
// internals directly, which keeps the hot path free of calls.
//
// Threads: a Hart belongs to one host thread, the one that calls run() (or
// step() in tests and benchmarks). Other threads talk to it only through its
// HartControl; state(), snapshot(), restore() and flush_caches() are for the
// owner, or for anyone while the hart is parked or not running.
//
// Host-side caches that are not architectural state: a direct-mapped TLB
// per privilege and access type holding host addresses of RAM pages, the
// host address of the page being executed, and whatever the engine keeps.
// Instructions are counted per batch; run control, the timer and interrupts
// are looked at between batches of at most kBatch instructions, or sooner
// when an instruction may have unmasked an interrupt.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/error.hpp"
#include "base/guest_clock.hpp"
#include "base/state_description.hpp"
#include "cpu/execution_engine.hpp"
#include "cpu/hart_control.hpp"
#include "cpu/hart_state.hpp"
#include "memory/address_space.hpp"

namespace godwit {

class Hart {
 public:
  using State = HartState;

  Hart(unsigned hart_id, AddressSpace& memory, HartControl& control, const GuestClock& clock,
       EngineFactory make_engine = make_interpreter_engine);
  ~Hart();
  Hart(const Hart&) = delete;
  Hart& operator=(const Hart&) = delete;

  // QEMU's reset (riscv_cpu_reset_hold): M-mode, registers and CSRs zero,
  // execution at `pc`.
  void reset(uint64_t pc);

  HartState& state() { return state_; }
  const HartState& state() const { return state_; }

  // Thread body: executes until control.service() returns false, then calls
  // control.mark_exited().
  void run();

  // Runs at most `max_instructions` on the calling thread (instructions that
  // trap count against the limit but not in the result); interrupts are
  // checked before each batch. Returns the number retired.
  uint64_t step(uint64_t max_instructions);

  // Drops the TLB and everything the engine cached; call after changing
  // state() from outside (privilege, satp, mstatus, memory mappings).
  void flush_caches();

  // Guest-physical bytes [address, address + size_bytes) were written by
  // something other than this hart (DMA, a loader): tells the engine.
  void invalidate_code(uint64_t address, uint64_t size_bytes) { engine_->invalidate_code(address, size_bytes); }

  // The hart's state as plain data (the "cpu" description, HartState). Like
  // state(), these are for the owner or for anyone while the hart is parked
  // or not running: the migration thread calls them between
  // HartControl::wait_parked() and resume(). restore() checks what HartState
  // says it must hold and refuses a state that breaks it, leaving the hart as
  // it was; on success it replaces the state and drops the TLB and the
  // engine's caches, which were built for the old state. The device-owned mip
  // bits and mtimecmp arrive through HartControl when the CLINT and PLIC are
  // restored. instructions_retired() counts what this host ran and is not
  // carried.
  HartState snapshot() const { return state_; }
  Status restore(const HartState& state);

  unsigned hart_id() const { return hart_id_; }

  // Instructions retired since reset(), whatever the guest wrote to minstret
  // or mcountinhibit.
  uint64_t instructions_retired() const { return instructions_retired_; }

  enum class AccessType : uint8_t { kRead, kWrite, kExecute };

  // The physical address `vaddr` translates to for an access of `type` under
  // the current satp, privilege and MPRV (execute ignores MPRV), or nullopt
  // if the access would fault. No side effects: no A/D updates, no TLB
  // fill, no trap; QEMU's cpu_get_phys_page_debug, used by the monitor's
  // memsave and `x`. In M-mode without MPRV, and with satp.MODE Bare, the
  // identity.
  std::optional<uint64_t> translate_for_debug(uint64_t vaddr, AccessType type = AccessType::kRead) const;

 private:
  friend struct Execute;
  friend class InterpreterEngine;

  enum class Access : uint8_t { kRead = 0, kWrite = 1, kExecute = 2 };
  enum class Fault : uint8_t { kNone, kPage, kAccess };

  static constexpr uint64_t kPageSize = 4096;
  static constexpr unsigned kPageShift = 12;
  static constexpr unsigned kTlbEntries = 256;
  static constexpr uint64_t kBatch = 2048;  // about 5 us of guest time

  // A TLB entry maps the 4 KiB page `tag` (va >> 12) to host memory: the host
  // address of va is va + addend. Only RAM pages are entered; MMIO and ROM
  // data accesses always take the slow path.
  struct TlbEntry {
    uint64_t tag;
    uint64_t addend;
  };
  struct Tlb {
    TlbEntry entries[3][kTlbEntries];  // by Access
  };

  // --- batches (hart.cpp) ---
  // Runs one batch on the engine, then counts what retired.
  ExecutionEngine::BatchResult run_batch(uint64_t budget);
  // The raw bits of the instruction at HartState::pc, through the fetch page
  // cache (which this fills when the page is RAM or a whole ROM page); traps
  // and returns false on a fault. Both parcels may be fetched separately, as
  // an instruction may straddle two pages.
  bool fetch_instruction(uint32_t& raw);
  bool fetch_parcel(uint64_t va, uint16_t& parcel);
  uint64_t retired_so_far() const { return retired_in_batch_ - exceptions_in_batch_; }
  // Records a store by this hart to RAM at `host`: if it overlaps the code
  // the engine is running, the engine stops after the store.
  void note_code_write(const uint8_t* host, unsigned size) {
    const uintptr_t distance = reinterpret_cast<uintptr_t>(host) + size - 1 - reinterpret_cast<uintptr_t>(running_code_);
    if (distance < running_bytes_ + size - 1) [[unlikely]] code_written_ = true;
  }

  // --- traps and interrupts (trap.cpp) ---
  uint64_t read_mip() const;  // software bits | device lines | MTIP
  void check_interrupts();
  void raise_exception(uint64_t cause, uint64_t tval);
  void take_trap(uint64_t cause, uint64_t tval);
  uint64_t do_mret();  // returns the new pc
  uint64_t do_sret();
  void do_wfi();
  void privilege_changed();

  // --- CSRs (csr.cpp); false means illegal instruction ---
  bool csr_accessible(uint16_t number, bool writes) const;
  bool csr_read(uint16_t number, uint64_t& value) const;
  bool csr_write(uint16_t number, uint64_t value);
  bool counter_enabled(uint16_t number) const;
  void write_mstatus(uint64_t value);
  void write_satp(uint64_t value);
  bool trigger_csr_read(uint16_t number, uint64_t& value) const;
  bool trigger_csr_write(uint16_t number, uint64_t value);

  // --- Sstc (sstc.cpp) ---
  // The value the `time` CSR reads now.
  uint64_t time_now() const;
  // Whether menvcfg.STCE hands STIP to stimecmp, and if so its level.
  bool sstc_enabled() const { return (state_.menvcfg & envcfg::kSTCE) != 0; }
  bool stimecmp_reached() const { return time_now() >= state_.stimecmp; }
  // Host monotonic ns at which `time` reaches stimecmp (wfi's deadline).
  int64_t stimecmp_host_ns() const;

  // --- Sdtrig (debug_triggers.hpp; checked on the slow paths only) ---
  // Recomputes the armed flags after the triggers changed; an armed kind of
  // access is kept off the fast paths (no TLB or fetch-page entries).
  void triggers_changed();
  // Raises the breakpoint and returns true if a trigger of `kind` matches.
  bool trigger_fires(uint64_t kind, unsigned privilege, uint64_t address, unsigned size_bytes);

  // --- memory (mmu.cpp, memory_access.hpp) ---
  Privilege data_privilege() const;
  Fault translate(uint64_t va, Access access, Privilege privilege, uint64_t& pa);
  // The page walk behind translate(); with `update_pte` false it only reads.
  Fault walk(uint64_t va, Access access, Privilege privilege, bool update_pte, uint64_t& pa) const;
  void fill_tlb(Tlb& tlb, Access access, uint64_t va, uint64_t pa);
  void flush_tlb();
  void flush_tlb_of(Privilege privilege);
  void flush_tlb_page(uint64_t va);
  void select_data_tlb();
  void raise_access_fault(Access access, Fault fault, uint64_t va);
  template <class T>
  bool load_fast(uint64_t va, T& value);
  template <class T>
  bool store_fast(uint64_t va, T value);
  bool load_slow(uint64_t va, unsigned size, uint64_t& value);
  bool store_slow(uint64_t va, unsigned size, uint64_t value);
  // Translates an aligned LR/SC/AMO address to a RAM host pointer, or traps.
  uint8_t* atomic_host_ptr(uint64_t va, unsigned size, Access access, uint64_t& pa);

  // The only ways the CPU writes guest RAM (memory_access.hpp). Each one
  // reports its write to the AddressSpace's dirty log (ram_note_write).
  template <class T>
  void ram_store(uint8_t* host, T value) const;
  void ram_store_byte(uint8_t* host, uint8_t value) const;
  template <class T>
  bool ram_compare_exchange(uint8_t* host, T& expected, T desired) const;
  enum class AmoOp : uint8_t { kSwap, kAdd, kXor, kAnd, kOr, kMin, kMax, kMinu, kMaxu };
  template <class T>
  T ram_amo(uint8_t* host, AmoOp op, T operand) const;
  void ram_note_write(uint8_t* host, unsigned size) const;

  HartState state_{};
  const unsigned hart_id_;
  AddressSpace& memory_;
  HartControl& control_;
  const GuestClock& clock_;

  // Per-batch bookkeeping, shared by the engine, execute functions, traps and
  // CSRs. HartState::pc holds the pc of the instruction being executed (its
  // trap epc).
  uint64_t retired_in_batch_ = 0;  // attempts before the current instruction
  uint64_t exceptions_in_batch_ = 0;
  bool stop_batch_ = false;
  uint64_t instructions_retired_ = 0;
  bool code_written_ = false;  // a store hit the running code (note_code_write)
  // Some trigger watches instruction fetch / loads or stores (Sdtrig).
  bool execute_trigger_armed_ = false;
  bool data_trigger_armed_ = false;

  // Host bytes of the code the engine is running (the interpreter: the block
  // being run, between blocks the last one run; it discards what a store
  // outside any block reports).
  const uint8_t* running_code_ = nullptr;
  uint64_t running_bytes_ = 0;

  // Host page being executed: host address of fetch_page_va_, or
  // kNoFetchPage for none. The engine tests pc - fetch_page_va_ <= 4092, so
  // the marker makes [kNoFetchPage, kNoFetchPage + 4092] look cached: it is
  // put where no fetch can succeed (not canonical under Sv39, above any
  // physical address), never near 0 where a jump to a null pointer lands.
  static constexpr uint64_t kNoFetchPage = 1ull << 63;
  uint64_t fetch_page_va_ = kNoFetchPage;
  const uint8_t* fetch_page_host_ = nullptr;

  Tlb* data_tlb_ = nullptr;             // tlbs_[data_privilege()]
  std::unique_ptr<Tlb[]> tlbs_;         // by Privilege value (index 2 unused)

  std::unique_ptr<ExecutionEngine> engine_;
};

static_assert(StateOwner<Hart>);

}  // namespace godwit
