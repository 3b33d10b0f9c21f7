// The interpreter: blocks of decoded instructions, run by threaded dispatch.
//
// Speed comes from host-side caches that are not architectural state: a
// decode cache indexed by pc, and blocks of decoded instructions (each
// block's bytes compared with memory when it is entered, so writes by any
// other hart or by DMA are seen at the next block, a store into the running
// block ends it, and fence.i, which ends its block, costs nothing). Because
// of that comparison a block stays correct across satp, privilege and
// mapping changes and across writes by others, so invalidate_code() has
// nothing to do; flush() empties both caches.
//
// Threads: the hart's (see execution_engine.hpp). Internal to src/cpu.
#pragma once

#include <cstdint>
#include <memory>

#include "base/zeroed_table.hpp"
#include "cpu/execution_engine.hpp"
#include "cpu/instruction_table.hpp"

namespace godwit {

class InterpreterEngine final : public ExecutionEngine {
 public:
  explicit InterpreterEngine(Hart& hart);
  ~InterpreterEngine() override;
  InterpreterEngine(const InterpreterEngine&) = delete;
  InterpreterEngine& operator=(const InterpreterEngine&) = delete;

  BatchResult execute_batch(uint64_t budget) override;
  void invalidate_code(uint64_t address, uint64_t size_bytes) override;
  void flush() override;

 private:
  static constexpr unsigned kDecodeEntries = 1u << 12;
  static constexpr unsigned kBlocks = 1u << 11;
  static constexpr unsigned kBlockInstructions = 32;  // offsets fit DecodedInstruction::offset

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

  // Runs d's execute function (a switch over Op, so the simple ones inline).
  static uint64_t dispatch(Hart& hart, const DecodedInstruction& d, uint64_t pc);
  // One instruction at HartState::pc fetched the slow way, or null if the
  // fetch trapped.
  const DecodedInstruction* fetch_slow();
  // The decode-cache entry for `raw` at `pc`, decoding on a miss. The tag is
  // all fetched bits, even for a 16-bit instruction.
  const DecodedInstruction* lookup_decoded(uint64_t pc, uint32_t raw);
  void build_block(Block& block, uint64_t pc, const uint8_t* code, uint64_t page_offset);

  Hart& hart_;
  std::unique_ptr<DecodedInstruction[]> decode_cache_;
  ZeroedTable<Block> blocks_;
};

}  // namespace godwit
