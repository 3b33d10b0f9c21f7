// The RAM section ("ram", instance 0, version 4) as QEMU's migration/ram.c
// writes it: a MEM_SIZE record listing the blocks in the setup chunk, then
// page records (be64 offset|flags, the block name unless CONTINUE, then a
// fill byte for ZERO or the page for PAGE), each chunk ending with EOS.
//
// This header holds what the saver and the loader share: the flags, the view
// of a RAM block, the options that change the stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace godwit {

class GuestMemory;

inline constexpr std::string_view kRamSectionName = "ram";
inline constexpr uint32_t kRamSectionVersion = 4;

// TARGET_PAGE_SIZE for RISC-V. Record flags live below it.
inline constexpr uint64_t kRamPageSize = 4096;
inline constexpr uint64_t kRamFlagsMask = kRamPageSize - 1;

// RAM_SAVE_FLAG_* (migration/ram.c). Only those godwit sends or accepts are
// named; the rest (FULL, XBZRLE, COMPRESS_PAGE, MULTIFD_FLUSH) are refused
// by the loader as unknown.
namespace ram_flag {
inline constexpr uint64_t kZero = 0x02;
inline constexpr uint64_t kMemSize = 0x04;
inline constexpr uint64_t kPage = 0x08;
inline constexpr uint64_t kEos = 0x10;
inline constexpr uint64_t kContinue = 0x20;
}  // namespace ram_flag

// One RAM region as the migration code sees it: QEMU's RAMBlock reduced to
// what goes on the wire. The memory is borrowed; the owner (the machine's
// memory backend) outlives the saver or loader.
//
// The sender reads the pages through `host`; the loader writes them through
// `memory` at guest_address + offset, so that whatever watches RAM writes
// (the dirty log) sees them. There is no writable pointer here on purpose
// (see the head of memory/address_space.hpp).
struct RamBlockView {
  std::string id;  // e.g. "riscv_virt_board.ram" or a memory backend's id; at most 255 bytes
  const uint8_t* host = nullptr;
  uint64_t used_length = 0;  // bytes, a multiple of kRamPageSize
  uint64_t guest_address = 0;
  bool shared = false;  // backed by shared memory the destination maps too
  // Private anonymous memory: a page the host never populated reads as
  // zeros (see PageResidency), so it need not be scanned.
  bool private_anonymous = false;
  // Shared memory backed by a memfd or file (-1: not): a page in a hole of
  // the file reads as zeros, and reading it would allocate it.
  int fd = -1;
  // The guest memory the block is mapped in, for writing; a view that is
  // only sent from may leave it null.
  GuestMemory* memory = nullptr;
};

// Migration capabilities that change the RAM stream. Both ends must agree;
// the configuration section's capability list checks that.
struct RamSectionOptions {
  // x-ignore-shared: shared blocks are listed (with their guest address) but
  // their pages are never sent; the destination maps the same memory.
  bool ignore_shared = false;
};

// True when all kRamPageSize bytes at `page` are zero. Reads 64-bit words and
// stops at the first 256-byte stretch holding a non-zero byte, so a typical
// data page costs a handful of loads (QEMU's buffer_is_zero does the same).
bool is_zero_page(const uint8_t* page);

inline uint64_t ram_page_count(const RamBlockView& block) { return block.used_length / kRamPageSize; }

}  // namespace godwit
