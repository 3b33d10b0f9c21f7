#include "migration/ram_section_loader.hpp"

#include <cassert>
#include <cstdio>
#include <cstring>
#include <string>

#include "base/hex.hpp"
#include "memory/guest_memory.hpp"

namespace godwit {
namespace {

std::string at_byte(uint64_t offset) { return " at byte " + std::to_string(offset); }

}  // namespace

RamLoader::RamLoader(StreamReader& in, std::vector<RamBlockView> blocks, RamSectionOptions options)
    : in_(in), blocks_(std::move(blocks)), options_(options) {}

Result<MappedRam> RamLoader::map_page(const RamBlockView& block, uint64_t offset) {
  assert(block.memory != nullptr);  // the machine's blocks always name their memory
  auto page = block.memory->map(block.guest_address + offset, kRamPageSize);
  if (!page) return std::unexpected(std::move(page.error()).context("ram: block '" + block.id + "'"));
  assert(page->data() == block.host + offset);  // host and guest_address describe one place
  return page;
}

Status RamLoader::stream_error(uint64_t record_offset) const {
  return std::unexpected(in_.status().error().context("ram: record" + at_byte(record_offset)));
}

RamBlockView* RamLoader::find_block(std::string_view id) {
  for (RamBlockView& block : blocks_) {
    if (block.id == id) return &block;
  }
  return nullptr;
}

Status RamLoader::load_block_list(uint64_t total_bytes, uint64_t record_offset) {
  // QEMU consumes block entries until their lengths add up to the total.
  std::vector<bool> listed(blocks_.size(), false);
  uint64_t remaining = total_bytes;
  while (remaining > 0) {
    const std::string id = in_.get_short_string();
    const uint64_t length = in_.get_be64();
    const uint64_t address = options_.ignore_shared ? in_.get_be64() : 0;
    if (in_.failed()) return stream_error(record_offset);
    RamBlockView* block = find_block(id);
    if (block == nullptr) return fail("ram: unknown block '" + id + "'");
    // godwit's blocks are never resizable, so lengths must match exactly
    // (QEMU would resize a resizable block instead).
    if (length != block->used_length) {
      return fail("ram: block '" + id + "' has length " + hex(block->used_length) + " here, " + hex(length) +
                  " in the stream");
    }
    const size_t index = static_cast<size_t>(block - blocks_.data());
    if (listed[index]) return fail("ram: block '" + id + "' listed twice");
    listed[index] = true;
    if (length > remaining) {
      return fail("ram: block '" + id + "' of length " + hex(length) + " overruns the total " + hex(total_bytes) +
                  " of the block list" + at_byte(record_offset));
    }
    // A shared block is not copied: both sides must map it at one address.
    if (options_.ignore_shared && block->shared && address != block->guest_address) {
      return fail("ram: shared block '" + id + "' is at " + hex(block->guest_address) + " here, " + hex(address) +
                  " in the stream");
    }
    remaining -= length;
  }
  return {};
}

Result<RamBlockView*> RamLoader::record_block(uint64_t flags, uint64_t record_offset) {
  if (flags & ram_flag::kContinue) {
    if (last_block_ == nullptr) {
      return fail("ram: CONTINUE record" + at_byte(record_offset) + " with no previous block");
    }
    return last_block_;
  }
  // Read the name onto the stack: no allocation per record.
  char id[256];
  const uint8_t length = in_.get_u8();
  in_.get_buffer({reinterpret_cast<uint8_t*>(id), length});
  if (in_.failed()) return nullptr;
  RamBlockView* block = find_block({id, length});
  if (block == nullptr) return fail("ram: unknown block '" + std::string(id, length) + "'" + at_byte(record_offset));
  if (options_.ignore_shared && block->shared) {
    return fail("ram: block '" + block->id + "' is shared and not migrated under x-ignore-shared, yet the stream" +
                at_byte(record_offset) + " sends its pages");
  }
  last_block_ = block;
  return block;
}

Status RamLoader::load_chunk() {
  for (;;) {
    const uint64_t record_offset = in_.offset();
    const uint64_t header = in_.get_be64();
    if (in_.failed()) return stream_error(record_offset);
    // The offset is page aligned by construction: flags take the low bits.
    const uint64_t flags = header & kRamFlagsMask;
    const uint64_t offset = header & ~kRamFlagsMask;
    switch (flags & ~ram_flag::kContinue) {
      case ram_flag::kEos:
        if (flags & ram_flag::kContinue) break;
        return {};
      case ram_flag::kMemSize:
        if (flags & ram_flag::kContinue) break;
        if (auto status = load_block_list(offset, record_offset); !status) return status;
        continue;
      case ram_flag::kZero:
      case ram_flag::kPage: {
        auto block = record_block(flags, record_offset);
        if (!block) return std::unexpected(std::move(block.error()));
        if (*block == nullptr) return stream_error(record_offset);
        const RamBlockView& target = **block;
        // Never trust the wire: the page must lie wholly inside the block.
        if (offset >= target.used_length || target.used_length - offset < kRamPageSize) {
          return fail("ram: page offset " + hex(offset) + at_byte(record_offset) + " is outside block '" + target.id +
                      "' (length " + hex(target.used_length) + ")");
        }
        const uint8_t* const page = target.host + offset;
        if (flags & ram_flag::kPage) {
          // Received straight into guest RAM, marked once the page is in.
          auto mapped = map_page(target, offset);
          if (!mapped) return std::unexpected(std::move(mapped.error()));
          in_.get_buffer(mapped->bytes());
          mapped->release();
          residency_.note_populated(page);
          if (in_.failed()) return stream_error(record_offset);
          ++stats_.normal_pages;
          continue;
        }
        const uint8_t fill = in_.get_u8();
        if (in_.failed()) return stream_error(record_offset);
        if (fill != 0) {
          return fail("ram: zero page record" + at_byte(record_offset) + " has fill byte " + hex(fill) +
                      ", expected 0");
        }
        // As QEMU's ram_handle_zero: writing zeros over zeros would allocate
        // destination memory the guest never touched. Never-populated
        // anonymous memory is zeros without reading (and faulting) it in.
        const bool maybe_data = (!target.private_anonymous || residency_.maybe_populated(page)) &&
                                (target.fd < 0 || residency_.maybe_data(target.fd, offset));
        if (maybe_data && !is_zero_page(page)) {
          auto mapped = map_page(target, offset);
          if (!mapped) return std::unexpected(std::move(mapped.error()));
          std::memset(mapped->data(), 0, kRamPageSize);
          mapped->release();
          residency_.note_populated(page);
          ++stats_.zero_pages_cleared;
        }
        ++stats_.zero_pages;
        continue;
      }
      default: break;
    }
    return fail("ram: unknown record flags " + hex(flags) + at_byte(record_offset));
  }
}

}  // namespace godwit
