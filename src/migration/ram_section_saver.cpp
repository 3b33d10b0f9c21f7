#include "migration/ram_section_saver.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>

namespace godwit {

RamSaver::RamSaver(StreamWriter& out, std::vector<RamBlockView> blocks, RamSectionOptions options)
    : out_(out), blocks_(std::move(blocks)), options_(options) {
  for (const RamBlockView& block : blocks_) {
    assert(block.id.size() <= 255);
    assert(block.used_length % kRamPageSize == 0);
    if (!skipped(block)) stats_.total_bytes += block.used_length;
  }
}

void RamSaver::count(uint64_t bytes) {
  stats_.transferred_bytes += bytes;
  (phase_ == RamSavePhase::precopy ? stats_.precopy_bytes : stats_.downtime_bytes) += bytes;
}

void RamSaver::write_setup() {
  const uint64_t start = out_.bytes_written();
  // The total counts every block, shared ones included, as QEMU's
  // ram_bytes_total_with_ignored(): the loader walks the list until the
  // total is used up.
  uint64_t total = 0;
  for (const RamBlockView& block : blocks_) total += block.used_length;
  out_.put_be64(total | ram_flag::kMemSize);
  for (const RamBlockView& block : blocks_) {
    out_.put_short_string(block.id);
    out_.put_be64(block.used_length);
    // QEMU sends the address of every block, so the destination can check
    // that the shared ones sit where it mapped them.
    if (options_.ignore_shared) out_.put_be64(block.guest_address);
  }
  out_.put_be64(ram_flag::kEos);
  count(out_.bytes_written() - start);
  last_block_host_ = nullptr;
}

size_t RamSaver::record_bytes(const RamBlockView& block, bool zero) const {
  const size_t name = block.host == last_block_host_ ? 0 : 1 + block.id.size();
  return 8 + name + (zero ? 1 : kRamPageSize);
}

bool RamSaver::page_is_zero(const RamBlockView& block, uint64_t page_index) {
  const uint8_t* page = block.host + page_index * kRamPageSize;
  if (block.private_anonymous && !residency_.maybe_populated(page)) return true;
  if (block.fd >= 0 && !residency_.maybe_data(block.fd, page_index * kRamPageSize)) return true;
  return is_zero_page(page);
}

size_t RamSaver::send_page(const RamBlockView& block, uint64_t page_index, bool zero) {
  const uint64_t offset = page_index * kRamPageSize;
  // Header, name and fill byte go to the writer in one call; the page in a
  // second. Nothing here allocates.
  uint8_t header[8 + 1 + 255 + 1];
  uint64_t word = offset | (zero ? ram_flag::kZero : ram_flag::kPage);
  size_t length = 8;
  if (block.host == last_block_host_) {
    word |= ram_flag::kContinue;
  } else {
    header[8] = static_cast<uint8_t>(block.id.size());
    std::memcpy(header + 9, block.id.data(), block.id.size());
    length += 1 + block.id.size();
    last_block_host_ = block.host;
  }
  for (int i = 0; i < 8; ++i) header[i] = static_cast<uint8_t>(word >> (56 - 8 * i));
  if (zero) {
    header[length++] = 0;  // the fill byte; QEMU only ever sends 0
    out_.put_buffer({header, length});
    ++stats_.duplicate_pages;
  } else {
    out_.put_buffer({header, length});
    out_.put_external({block.host + offset, kRamPageSize});  // read at the next flush
    length += kRamPageSize;
    ++stats_.normal_pages;
    stats_.normal_bytes += kRamPageSize;
  }
  count(length);
  return length;
}

size_t RamSaver::write_pages(const RamBlockView& block, std::span<uint64_t> dirty_bitmap_words, size_t max_bytes,
                             uint64_t max_pages) {
  const uint64_t pages = ram_page_count(block);
  const size_t word_count = static_cast<size_t>((pages + 63) / 64);
  assert(dirty_bitmap_words.size() >= word_count);
  const auto words = dirty_bitmap_words.first(std::min(word_count, dirty_bitmap_words.size()));
  if (skipped(block)) {
    std::fill(words.begin(), words.end(), 0);
    return 0;
  }
  size_t sent = 0;
  uint64_t pages_sent = 0;
  for (size_t w = 0; w < words.size(); ++w) {
    uint64_t pending = words[w];
    while (pending != 0) {
      const uint64_t page = uint64_t{w} * 64 + static_cast<uint64_t>(std::countr_zero(pending));
      if (page >= pages) break;  // bits past the block's end stand for nothing
      if (pages_sent == max_pages) {
        words[w] = pending;
        return sent;
      }
      const bool zero = page_is_zero(block, page);
      if (sent != 0 && sent + record_bytes(block, zero) > max_bytes) {
        words[w] = pending;
        return sent;
      }
      sent += send_page(block, page, zero);
      ++pages_sent;
      pending &= pending - 1;
    }
    words[w] = pending;
  }
  return sent;
}

size_t RamSaver::write_all_pages(const RamBlockView& block) {
  if (skipped(block)) return 0;
  size_t sent = 0;
  const uint64_t pages = ram_page_count(block);
  for (uint64_t page = 0; page < pages; ++page) {
    sent += send_page(block, page, page_is_zero(block, page));
  }
  return sent;
}

void RamSaver::end_chunk() {
  residency_.forget();
  out_.put_be64(ram_flag::kEos);
  count(8);
  last_block_host_ = nullptr;
}

}  // namespace godwit
