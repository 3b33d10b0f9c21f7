// Receiving side of the RAM section: reads the records of one chunk (after
// the caller has read its START/PART/END header) into the destination's
// blocks, checking everything the wire claims before touching memory.
//
// Follows QEMU's ram_load_precopy: blocks are found by name, a record with
// CONTINUE uses the block of the previous record (kept across chunks, as
// QEMU's last_recv_block is), a ZERO page is written only if the local page
// is not already zero so untouched destination memory stays unallocated.
//
// Threads: owned by the incoming migration thread; the guest is not running.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "memory/guest_memory.hpp"
#include "migration/page_residency.hpp"
#include "migration/ram_section.hpp"
#include "migration/stream_reader.hpp"

namespace godwit {

struct RamLoadStats {
  uint64_t normal_pages = 0;        // PAGE records applied
  uint64_t zero_pages = 0;          // ZERO records applied
  uint64_t zero_pages_cleared = 0;  // of those, pages that held data and were cleared
};

class RamLoader {
 public:
  RamLoader(StreamReader& in, std::vector<RamBlockView> blocks, RamSectionOptions options = {});
  RamLoader(const RamLoader&) = delete;
  RamLoader& operator=(const RamLoader&) = delete;

  // Reads records up to and including EOS. Errors start with "ram: " and
  // give the stream offset of the record at fault.
  Status load_chunk();

  const RamLoadStats& stats() const { return stats_; }

 private:
  Status load_block_list(uint64_t total_bytes, uint64_t record_offset);
  // The block a page record names (reading the name unless CONTINUE), or an
  // error; null without an error only when the stream failed.
  Result<RamBlockView*> record_block(uint64_t flags, uint64_t record_offset);
  RamBlockView* find_block(std::string_view id);
  // The page at `offset` of `block`, writable until released.
  static Result<MappedRam> map_page(const RamBlockView& block, uint64_t offset);
  // The reader's error with the section and record named.
  Status stream_error(uint64_t record_offset) const;

  StreamReader& in_;
  std::vector<RamBlockView> blocks_;
  RamSectionOptions options_;
  RamLoadStats stats_;
  PageResidency residency_;
  RamBlockView* last_block_ = nullptr;
};

}  // namespace godwit
