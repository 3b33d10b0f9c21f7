// One RV64IMAC hart: Zicsr, Zifencei, Zicntr, M/S/U modes, Sv39.
//
// Threads: a Hart belongs to one host thread, the one that calls run() (or
// step() in tests and benchmarks). Other threads talk to it only through its
// HartControl; state() and flush_caches() are for the owner, or for anyone
// while the hart is parked or not running.
//
// Speed comes from host-side caches that are not architectural state:
// blocks of decoded instructions (each block's bytes compared with memory
// when it is entered, so writes by any other hart or by DMA are seen at the
// next block, a store into the running block ends it, and fence.i, which
// ends its block, costs nothing), a
// direct-mapped TLB per privilege and access type holding host addresses of
// RAM pages, and the host address of the page being executed. Instructions
// are counted per batch; run control, the timer and interrupts are looked at
// between batches of at most kBatch instructions, or sooner when an
// instruction may have unmasked an interrupt.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/zeroed_table.hpp"
#include "cpu/hart_control.hpp"
#include "cpu/hart_state.hpp"
#include "cpu/instruction_table.hpp"
#include "base/guest_clock.hpp"
#include "memory/address_space.hpp"
#include "migration/stream_reader.hpp"
#include "migration/stream_writer.hpp"
#include "migration/vmstate.hpp"

namespace godwit {

class Hart {
 public:
  Hart(unsigned hart_id, AddressSpace& memory, HartControl& control, const GuestClock& clock);
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

  // Drops TLB and decoded instructions; call after changing state() from
  // outside (privilege, satp, mstatus, memory mappings).
  void flush_caches();

  // Migration of HartState (the "cpu" description). Like state(), these are
  // for the owner or for anyone while the hart is parked or not running: the
  // migration thread calls them between HartControl::wait_parked() and
  // resume(). load() reads into a copy, so a bad stream leaves the hart as it
  // was; on success it replaces the state and drops the TLB and decoded
  // instructions, which were built for the old state. The device-owned mip
  // bits and mtimecmp arrive through HartControl when the CLINT and PLIC load.
  // instructions_retired() counts what this host ran and is not carried.
  void save(StreamWriter& out) const;
  Status load(StreamReader& in, uint32_t version_id);
  nlohmann::json describe() const;

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

  enum class Access : uint8_t { kRead = 0, kWrite = 1, kExecute = 2 };
  enum class Fault : uint8_t { kNone, kPage, kAccess };

  static constexpr uint64_t kPageSize = 4096;
  static constexpr unsigned kPageShift = 12;
  static constexpr unsigned kTlbEntries = 256;
  static constexpr unsigned kDecodeEntries = 1u << 12;
  static constexpr unsigned kBlocks = 1u << 11;
  static constexpr unsigned kBlockInstructions = 32;  // offsets fit DecodedInstruction::offset
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

  // Straight-line instructions from `pc` up to the first one that ends a
  // block (or kBlockInstructions, or the end of the page). Running a block
  // walks an array instead of computing each next pc from the last. On every
  // entry the block's bytes are compared with a copy taken when it was
  // built, so a block is run only while memory (through the current mapping)
  // still holds what was decoded: writes by other harts or devices are seen
  // at the next block entry, and a store by this hart into the running block
  // ends it after the store. Blocks are found by virtual pc alone: the
  // comparison makes a block built under another mapping (or privilege)
  // correct wherever its bytes match.
  //
  // All-zero bytes are an empty block (see ZeroedTable): the table costs
  // nothing until used, and clearing it is one madvise.
  struct Block {
    uint64_t tag;  // virtual pc of the first instruction, plus one; 0: empty
    uint32_t count;
    uint32_t bytes;       // compared at entry: through the last instruction's 4-byte fetch
    uint32_t end_offset;  // of the pc after the last instruction
    // The blocks that last followed this one, by fall-through (0) and jump
    // (1), as byte offsets in the table: tried before the table, and trusted
    // only if their tag matches. 0 is just another block.
    uint32_t successor[2];
    uint8_t code[kBlockInstructions * 4];
    // `count` instructions, then one whose op is kBlockEnd.
    DecodedInstruction instructions[kBlockInstructions + 1];
  };

  // --- execution loop (hart.cpp) ---
  struct BatchResult {
    uint64_t attempted;
    uint64_t retired;
  };
  BatchResult execute_batch(uint64_t budget);
  // Runs d's execute function (a switch over Op, so the simple ones inline).
  uint64_t dispatch(const DecodedInstruction& d, uint64_t pc);
  const DecodedInstruction* fetch_slow();
  // The decode-cache entry for `raw` at `pc`, decoding on a miss. The tag is
  // all fetched bits, even for a 16-bit instruction.
  const DecodedInstruction* lookup_decoded(uint64_t pc, uint32_t raw);
  void build_block(Block& block, uint64_t pc, const uint8_t* code, uint64_t page_offset);
  bool fetch_parcel(uint64_t va, uint16_t& parcel);
  uint64_t retired_so_far() const { return retired_in_batch_ - exceptions_in_batch_; }
  // Records a store by this hart to RAM at `host`: if it overlaps the block
  // being run, that block stops after the store (execute_batch).
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

  // Per-batch bookkeeping, touched by execute functions. HartState::pc holds
  // the pc of the instruction being executed (its trap epc).
  uint64_t retired_in_batch_ = 0;  // attempts before the current instruction
  uint64_t exceptions_in_batch_ = 0;
  bool stop_batch_ = false;
  uint64_t instructions_retired_ = 0;
  bool code_written_ = false;  // a store hit the running block (note_code_write)

  // Host bytes of the block being run (between blocks: of the last one run;
  // execute_batch discards what a store outside any block reports).
  const uint8_t* running_code_ = nullptr;
  uint64_t running_bytes_ = 0;

  // Host page being executed: host address of fetch_page_va_, or ~0 for none.
  uint64_t fetch_page_va_ = ~0ull;
  const uint8_t* fetch_page_host_ = nullptr;

  Tlb* data_tlb_ = nullptr;             // tlbs_[data_privilege()]
  std::unique_ptr<Tlb[]> tlbs_;         // by Privilege value (index 2 unused)
  std::unique_ptr<DecodedInstruction[]> decode_cache_;
  ZeroedTable<Block> blocks_;
};

}  // namespace godwit
