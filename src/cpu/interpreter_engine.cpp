// The interpreter's loop: find the block of decoded instructions at pc
// (through the current-page cache and the previous block's successors),
// compare its bytes with memory, and run it.
#include "cpu/interpreter_engine.hpp"

#include <cstring>
#include <iterator>

#include "cpu/execute.hpp"
#include "cpu/execute_integer.hpp"
#include "cpu/execute_memory.hpp"
#include "cpu/hart.hpp"
#include "cpu/memory_access.hpp"

namespace godwit {

std::unique_ptr<ExecutionEngine> make_interpreter_engine(Hart& hart) {
  return std::make_unique<InterpreterEngine>(hart);
}

InterpreterEngine::InterpreterEngine(Hart& hart)
    : hart_(hart), decode_cache_(std::make_unique<DecodedInstruction[]>(kDecodeEntries)), blocks_(kBlocks) {
  flush();
}

InterpreterEngine::~InterpreterEngine() = default;

void InterpreterEngine::flush() {
  // Raw bits 0 are an illegal instruction, so an all-zero tag decoded as
  // such is a valid entry: no separate "empty" marker is needed.
  const DecodedInstruction empty = decode(0);
  for (unsigned i = 0; i < kDecodeEntries; ++i) decode_cache_[i] = empty;
  blocks_.clear();
}

// Blocks compare their bytes with memory on entry, and the decode cache is
// tagged by the instruction bits: neither can go stale.
void InterpreterEngine::invalidate_code(uint64_t, uint64_t) {}

[[gnu::always_inline]] inline uint64_t InterpreterEngine::dispatch(Hart& hart, const DecodedInstruction& d, uint64_t pc) {
  switch (d.op) {
#define GODWIT_DISPATCH(name) \
  case Op::name:              \
    return Execute::name(hart, d, pc);
    GODWIT_EXECUTE_FUNCTIONS(GODWIT_DISPATCH)
#undef GODWIT_DISPATCH
  }
  __builtin_unreachable();  // decode() only produces the enumerators above
}

namespace {

// Execute functions defined out of line (execute_memory.cpp,
// execute_system.cpp) may trap or read the pc from HartState: the loop stores
// the pc before calling them. The inline ones take it as an argument, and
// loads and stores store it themselves on their slow paths.
constexpr bool is_out_of_line(Op op) { return op >= Op::lr_w; }
static_assert(Op::remuw < Op::lr_w && Op::lr_w < Op::illegal, "GODWIT_EXECUTE_FUNCTIONS lists the inline ones first");

// Instructions that may write RAM: the loop checks whether they hit the
// running block.
constexpr bool may_write_memory(Op op) {
  return (op >= Op::sb && op <= Op::sd) || (op >= Op::sc_w && op <= Op::amomaxu_d) || op == Op::fsw ||
         op == Op::fsd;
}

// Instructions that write no register, so x0 needs no repair after them.
constexpr bool writes_no_register(Op op) {
  return (op >= Op::beq && op <= Op::bgeu) || (op >= Op::sb && op <= Op::sd) || op == Op::fsw || op == Op::fsd;
}

// Not an execute function: the entry after a block's last instruction,
// whose handler leaves the block.
#define GODWIT_COUNT_OP(name) +1
constexpr auto kBlockEnd = static_cast<Op>(0 GODWIT_EXECUTE_FUNCTIONS(GODWIT_COUNT_OP));
#undef GODWIT_COUNT_OP

// Whether the `size` (at least 4) bytes at `memory` equal `copy`: in 16-byte
// chunks, the last one overlapping the one before it rather than reading
// past the end. The branches depend only on the block, so they predict.
[[gnu::always_inline]] inline bool same_bytes(const uint8_t* memory, const uint8_t* copy, uint32_t size) {
  using Chunk = uint64_t __attribute__((vector_size(16)));
  auto chunk = [&](uint32_t at) {
    Chunk a, b;
    std::memcpy(&a, memory + at, 16);
    std::memcpy(&b, copy + at, 16);
    return a ^ b;
  };
  auto word = [&](uint32_t at) {
    uint64_t a, b;
    std::memcpy(&a, memory + at, 8);
    std::memcpy(&b, copy + at, 8);
    return a ^ b;
  };
  if (size < 16) {
    if (size >= 8) return (word(0) | word(size - 8)) == 0;
    uint32_t a, b, c, d;
    std::memcpy(&a, memory, 4);
    std::memcpy(&b, copy, 4);
    std::memcpy(&c, memory + size - 4, 4);
    std::memcpy(&d, copy + size - 4, 4);
    return ((a ^ b) | (c ^ d)) == 0;
  }
  Chunk difference = chunk(size - 16);
  if (size > 16) difference |= chunk(0);
  if (size > 32) difference |= chunk(16);
  if (size > 48) difference |= chunk(32);
  if (size > 64) [[unlikely]] {
    for (uint32_t at = 48; at + 16 < size; at += 16) difference |= chunk(at);
  }
  return (difference[0] | difference[1]) == 0;
}

}  // namespace

// Runs until `budget` instructions were attempted or an execute function
// asked to stop (an interrupt may have become pending, or wfi slept). The
// core counts what retired (Hart::run_batch).
//
// Inside a block each instruction jumps straight to the next one's handler
// (GCC's labels as values): one indirect branch per handler predicts far
// better than the single shared one of a switch.
ExecutionEngine::BatchResult InterpreterEngine::execute_batch(uint64_t budget) {
  static const void* const kHandlers[] = {
#define GODWIT_HANDLER_ADDRESS(name) &&handle_##name,
      GODWIT_EXECUTE_FUNCTIONS(GODWIT_HANDLER_ADDRESS)
#undef GODWIT_HANDLER_ADDRESS
      &&block_end,  // kBlockEnd
  };
  static_assert(std::size(kHandlers) == static_cast<unsigned>(kBlockEnd) + 1);
  // The hart in a local, so that it stays in a register: a member reference
  // may be reloaded after each store through a byte pointer.
  Hart& h = hart_;
  HartState& s = h.state_;
  uint64_t pc = s.pc;
  uint64_t attempted = 0;
  uint8_t* const table = reinterpret_cast<uint8_t*>(blocks_.data());
  Block* previous = &blocks_[0];  // any block: successors are checked by tag
  uint64_t previous_end = ~0ull;  // pc after previous's last instruction
  while (attempted < budget && !h.stop_batch_) {
    const uint64_t page_offset = pc - h.fetch_page_va_;
    if (page_offset > Hart::kPageSize - 4) [[unlikely]] {
      // Another page, the page's last two bytes, or no host page: one
      // instruction the slow way.
      s.pc = pc;
      h.retired_in_batch_ = attempted;
      if (const DecodedInstruction* d = fetch_slow()) {
        pc = dispatch(h, *d, pc);
        s.x[0] = 0;
        h.code_written_ = false;  // it may have hit the last block run: no matter
      } else {
        pc = s.pc;  // the fetch trapped
      }
      ++attempted;  // a fetch fault counts too, so a trap loop cannot spin forever
      continue;
    }
    const uint8_t* const code = h.fetch_page_host_ + page_offset;
    Block* block = reinterpret_cast<Block*>(table + previous->successor[pc != previous_end]);
    if (block->tag != pc + 1) [[unlikely]] {
      block = &blocks_[(pc >> 1) % kBlocks];
      if (block->tag != pc + 1) build_block(*block, pc, code, page_offset);
      previous->successor[pc != previous_end] = static_cast<uint32_t>(reinterpret_cast<uint8_t*>(block) - table);
    }
    if (!same_bytes(code, block->code, block->bytes)) [[unlikely]] {
      build_block(*block, pc, code, page_offset);  // the code changed
    }
    previous = block;
    h.running_code_ = code;
    h.running_bytes_ = block->bytes;
    const DecodedInstruction* d = block->instructions;
    const uint64_t block_pc = pc;
    uint64_t next;
    if (block->count > budget - attempted) [[unlikely]] {
      // The batch ends inside this block: one instruction at a time.
      const DecodedInstruction* const end = d + (budget - attempted);
      do {
        const DecodedInstruction& current = *d++;
        const uint64_t here = block_pc + current.offset;
        s.pc = here;
        h.retired_in_batch_ = attempted + static_cast<uint64_t>(d - block->instructions) - 1;
        next = dispatch(h, current, here);
        s.x[0] = 0;
        if (next != here + current.length) break;
      } while (d != end && !h.code_written_);
      goto block_done;
    }
    goto* kHandlers[static_cast<unsigned>(d->op)];

    // Each handler runs *d and goes on to the next instruction's handler, or
    // leaves the block after a jump or trap, or after a store into the block
    // itself. Only the entry after the last instruction checks for the end.
#define GODWIT_HANDLER(name)                                                         \
  handle_##name : {                                                                  \
    const DecodedInstruction& current = *d++;                                        \
    const uint64_t here = block_pc + current.offset;                                 \
    if constexpr (is_out_of_line(Op::name)) {                                        \
      s.pc = here;                                                                   \
      h.retired_in_batch_ = attempted + static_cast<uint64_t>(d - block->instructions) - 1; \
    }                                                                                \
    next = Execute::name(h, current, here);                                          \
    if constexpr (!writes_no_register(Op::name)) s.x[0] = 0;                         \
    if (next != here + current.length) [[unlikely]] goto block_done;                 \
    if constexpr (may_write_memory(Op::name)) {                                      \
      if (h.code_written_) [[unlikely]] goto block_done;                             \
    }                                                                                \
    /* An operand unique to the handler keeps GCC from merging the handlers' */     \
    /* identical tails into one shared indirect jump, which predicts badly. */       \
    __asm__ volatile("" : : "i"(static_cast<int>(Op::name)));                        \
    goto* kHandlers[static_cast<unsigned>(d->op)];                                   \
  }
    GODWIT_EXECUTE_FUNCTIONS(GODWIT_HANDLER)
#undef GODWIT_HANDLER

  block_end:
    next = block_pc + block->end_offset;
  block_done:
    if (h.code_written_) [[unlikely]] {
      h.code_written_ = false;
      block->tag = 0;  // empty: rebuilt from the new bytes at its next entry
    }
    attempted += static_cast<uint64_t>(d - block->instructions);
    previous_end = block_pc + block->end_offset;
    pc = next;
  }
  s.pc = pc;
  h.retired_in_batch_ = attempted;
  return {attempted, h.retired_so_far()};
}

void InterpreterEngine::build_block(Block& block, uint64_t pc, const uint8_t* code, uint64_t page_offset) {
  static_assert((kBlockInstructions - 1) * 4 <= UINT8_MAX, "offsets must fit DecodedInstruction::offset");
  block.tag = pc + 1;
  block.count = 0;
  uint32_t offset = 0;
  // Every instruction's 4-byte fetch must stay inside the page.
  while (block.count < kBlockInstructions && page_offset + offset <= Hart::kPageSize - 4) {
    uint32_t raw;
    std::memcpy(&raw, code + offset, 4);
    DecodedInstruction& d = block.instructions[block.count++];
    d = *lookup_decoded(pc + offset, raw);
    d.offset = static_cast<uint8_t>(offset);
    block.bytes = offset + 4;
    offset += d.length;
    if (d.ends_block) break;
  }
  block.end_offset = offset;
  block.instructions[block.count].op = kBlockEnd;
  std::memcpy(block.code, code, block.bytes);
}

const DecodedInstruction* InterpreterEngine::fetch_slow() {
  uint32_t raw;
  if (!hart_.fetch_instruction(raw)) return nullptr;
  return lookup_decoded(hart_.state_.pc, raw);
}

const DecodedInstruction* InterpreterEngine::lookup_decoded(uint64_t pc, uint32_t raw) {
  DecodedInstruction* entry = &decode_cache_[(pc >> 1) % kDecodeEntries];
  if (entry->raw != raw) {
    *entry = decode(raw);
    entry->raw = raw;
  }
  return entry;
}

}  // namespace godwit
