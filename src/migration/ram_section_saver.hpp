// Sending side of the RAM section: the MEM_SIZE block list, page records
// driven by a dirty bitmap, EOS. The caller writes the section headers
// (START/PART/END) around each chunk and decides when to stop iterating.
//
//   RamSaver saver(writer, blocks, options);
//   saver.write_setup();                       // inside QEMU_VM_SECTION_START
//   saver.write_all_pages(block);              // first pass, or a non-live save
//   saver.end_chunk();
//   ...                                        // later PART chunks:
//   while (saver.write_pages(block, dirty_words, budget_bytes) > 0) ...
//   saver.end_chunk();
//
// Threads: owned by the migration thread. The guest may keep writing RAM
// while pages are sent; the dirty log catches those pages for a later pass.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "migration/page_residency.hpp"
#include "migration/ram_section.hpp"
#include "migration/stream_writer.hpp"

namespace godwit {

// Which phase bytes are counted against, as QEMU's ram_transferred_add does
// by run state: precopy while the guest runs, downtime once it is stopped.
enum class RamSavePhase { precopy, downtime };

// The counters QEMU reports under "ram" in query-migrate.
struct RamSaveStats {
  uint64_t transferred_bytes = 0;  // every byte this saver put in the stream
  uint64_t precopy_bytes = 0;      // of those, sent while the guest ran
  uint64_t downtime_bytes = 0;     // of those, sent with the guest stopped
  uint64_t normal_pages = 0;       // PAGE records
  uint64_t normal_bytes = 0;       // normal_pages * page_size
  uint64_t duplicate_pages = 0;    // ZERO records ("duplicate" in QMP)
  uint64_t total_bytes = 0;        // RAM to migrate: shared blocks left out under x-ignore-shared
  uint64_t page_size = kRamPageSize;
};

class RamSaver {
 public:
  RamSaver(StreamWriter& out, std::vector<RamBlockView> blocks, RamSectionOptions options = {});
  RamSaver(const RamSaver&) = delete;
  RamSaver& operator=(const RamSaver&) = delete;

  // The MEM_SIZE record (be64 total|MEM_SIZE, then per block u8 length, id,
  // be64 used_length and, with x-ignore-shared, be64 guest address) and EOS.
  void write_setup();

  // Sends the pages of `block` whose bit is set in `dirty_bitmap_words`
  // (bit i of word w is page 64*w + i), lowest page first, and clears each
  // bit as its page is sent. Stops before a record that would take this
  // call past `max_bytes`, but sends at least one page when any is dirty, so
  // a small budget still makes progress; stops after `max_pages` pages
  // too. Call again to resume. Returns the bytes written. With
  // x-ignore-shared a shared block sends nothing and its bits are cleared:
  // the destination already sees that memory.
  size_t write_pages(const RamBlockView& block, std::span<uint64_t> dirty_bitmap_words, size_t max_bytes,
                     uint64_t max_pages = UINT64_MAX);

  // Sends every page of `block`: the first pass, or a save with the guest
  // stopped. Returns the bytes written.
  size_t write_all_pages(const RamBlockView& block);

  // be64 EOS. The next record names its block again.
  void end_chunk();

  void set_phase(RamSavePhase phase) { phase_ = phase; }
  const RamSaveStats& stats() const { return stats_; }
  const std::vector<RamBlockView>& blocks() const { return blocks_; }
  // The writer's first error, if any: check once per chunk.
  Status status() const { return out_.status(); }

 private:
  bool skipped(const RamBlockView& block) const { return options_.ignore_shared && block.shared; }
  // Writes one ZERO or PAGE record for the page at `page_index`; returns its
  // size in bytes.
  size_t send_page(const RamBlockView& block, uint64_t page_index, bool zero);
  size_t record_bytes(const RamBlockView& block, bool zero) const;
  bool page_is_zero(const RamBlockView& block, uint64_t page_index);
  void count(uint64_t bytes);

  StreamWriter& out_;
  std::vector<RamBlockView> blocks_;
  RamSectionOptions options_;
  RamSavePhase phase_ = RamSavePhase::precopy;
  RamSaveStats stats_;
  // The block of the previous record in this chunk (QEMU's last_sent_block),
  // for CONTINUE; null at the start of a chunk. Compared by host pointer:
  // two blocks never share memory.
  const uint8_t* last_block_host_ = nullptr;
  PageResidency residency_;
};

}  // namespace godwit
