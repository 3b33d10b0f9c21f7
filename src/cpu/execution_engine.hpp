// The seam between a hart's architectural core (Hart) and the engine that
// runs its instructions.
//
// The core owns everything the ISA defines and everything that outlives one
// engine: HartState (registers, pc, privilege, CSRs), the MMU and its TLBs,
// the one-page fetch cache, traps and interrupts, the counters, run control
// (run(), step(), HartControl) and the funnel through which the CPU writes
// guest RAM (memory_access.hpp), which feeds the dirty log. An engine owns
// only host-side caches of code derived from guest memory (decoded blocks,
// and later translated host code) and the loop that runs them; none of it is
// migrated, and all of it may be thrown away at any time.
//
// Threads: an engine belongs to its hart and runs only on the hart's thread
// (inside run() or step()), or on whoever owns the hart while it is parked
// (flush() from Hart::flush_caches() and Hart::restore()).
//
// What an engine must do, so that a trap is precise whichever engine runs:
//  - execute_batch() starts at HartState::pc and leaves it at the next
//    instruction to run; the core has already cleared the batch bookkeeping
//    (Hart::retired_in_batch_, exceptions_in_batch_, stop_batch_) and does
//    the counting (mcycle, minstret) and interrupt checks between batches.
//  - Before an instruction that may trap or read CSRs runs, HartState::pc is
//    its pc and Hart::retired_in_batch_ counts the instructions attempted
//    before it in this batch; then Hart::raise_exception() and the CSR reads
//    of minstret/mcycle see exactly what the interpreter shows them.
//  - Loads and stores go through Hart::load_fast()/store_fast() (TLB hits)
//    and Hart::load_slow()/store_slow() (walks, MMIO, faults), atomics
//    through Hart::atomic_host_ptr() and the ram_* functions: these are the
//    only writers of guest RAM, and the ones that mark the dirty log. Host
//    code a translator emits for a TLB hit must call (or inline)
//    Hart::ram_note_write() after each store, as ram_store() does.
//  - Instruction fetch translates through Hart::fetch_instruction(), which
//    traps on a fault and keeps the fetch page cache that the TLB flushes
//    invalidate.
//  - Code the engine is running is watched through Hart::running_code_ and
//    running_bytes_: a store by this hart into that host range sets
//    Hart::code_written_, and the engine must stop after that store and drop
//    what it built from the old bytes.
//  - Stop the batch when Hart::stop_batch_ is set (an interrupt may have
//    been unmasked, wfi slept, privilege changed), so the core can look.
//
// How a translator plugs in: implement this interface, construct the hart
// with its factory (Hart's constructor takes one), and be a friend of Hart as
// InterpreterEngine is. It can call Execute's functions for instructions it
// does not translate. Its translations depend on memory and on the
// translation state (satp, privilege, MPRV): it must check that they still
// hold when it enters one, as the interpreter compares a block's bytes on
// entry; invalidate_code() and flush() are the core's hints on top of that.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

namespace godwit {

class Hart;

class ExecutionEngine {
 public:
  struct BatchResult {
    uint64_t attempted;  // instructions begun, including those that trapped
    uint64_t retired;    // attempted minus the traps
  };

  virtual ~ExecutionEngine() = default;

  // Runs until `budget` instructions were attempted or Hart::stop_batch_ was
  // set. Leaves HartState::pc at the next instruction.
  virtual BatchResult execute_batch(uint64_t budget) = 0;

  // Guest-physical bytes [address, address + size_bytes) were written by
  // someone other than this hart's store path (a device's DMA, a loader).
  virtual void invalidate_code(uint64_t address, uint64_t size_bytes) = 0;

  // Drops everything cached: the hart's state was replaced or changed from
  // outside (reset, restore, flush_caches()).
  virtual void flush() = 0;
};

// Builds the engine a hart runs with; called once, from Hart's constructor,
// before the hart is reset (so the engine must not read its state yet).
using EngineFactory = std::function<std::unique_ptr<ExecutionEngine>(Hart& hart)>;

// The default: the interpreter of decoded blocks (interpreter_engine.cpp).
std::unique_ptr<ExecutionEngine> make_interpreter_engine(Hart& hart);

}  // namespace godwit
