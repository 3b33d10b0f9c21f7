// One virtio-blk request (virtio 1.x spec, section 5.2.6) taken apart: the
// 16-byte header at the front of the readable buffers, the status byte at
// the very end of the writable ones, and the data between, whatever the
// descriptor boundaries (the driver may split or merge them: any layout).
// Then what the device does with it, decided without touching the image:
// plan_blk_request() turns a request into one block operation or an
// immediate status, so the rules (ranges, read-only, flags) are tested on
// their own.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "virtio/virtqueue.hpp"

namespace godwit {

// Request types and status values (section 5.2.6).
inline constexpr uint32_t kBlkTypeIn = 0;
inline constexpr uint32_t kBlkTypeOut = 1;
inline constexpr uint32_t kBlkTypeFlush = 4;
inline constexpr uint32_t kBlkTypeGetId = 8;
inline constexpr uint32_t kBlkTypeGetLifetime = 10;
inline constexpr uint32_t kBlkTypeDiscard = 11;
inline constexpr uint32_t kBlkTypeWriteZeroes = 13;
inline constexpr uint32_t kBlkTypeSecureErase = 14;
// Legacy drivers may set it on IN and OUT (VIRTIO_BLK_T_BARRIER); ignored.
inline constexpr uint32_t kBlkTypeBarrier = 0x80000000;
inline constexpr uint8_t kBlkStatusOk = 0;
inline constexpr uint8_t kBlkStatusIoErr = 1;
inline constexpr uint8_t kBlkStatusUnsupported = 2;

inline constexpr uint64_t kBlkSectorBytes = 512;  // the unit of `sector`, whatever blk_size says
inline constexpr uint32_t kBlkIdBytes = 20;       // VIRTIO_BLK_ID_BYTES
inline constexpr uint32_t kBlkDiscardSegmentBytes = 16;
inline constexpr uint32_t kBlkWriteZeroesUnmap = 1;  // VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP

struct BlkRequest {
  uint32_t type = 0;
  uint64_t sector = 0;
  // The data: readable buffers after the header (OUT, DISCARD,
  // WRITE_ZEROES) or writable buffers before the status byte (IN, GET_ID).
  std::vector<GuestSegment> data;
  uint64_t data_bytes = 0;
  uint64_t status_offset = 0;   // into the writable part
  uint32_t writable_bytes = 0;  // what the used ring reports, as QEMU
};

// Fails, saying why, when the chain has no room for the header or the
// status: the driver broke the rules (QEMU: "virtio-blk missing headers").
Result<BlkRequest> parse_blk_request(const DescriptorChain& chain);

// What the device was built with, for plan_blk_request().
struct BlkLimits {
  uint64_t capacity_sectors = 0;
  bool read_only = false;
  bool discard = true;       // VIRTIO_BLK_F_DISCARD offered
  bool write_zeroes = true;  // VIRTIO_BLK_F_WRITE_ZEROES offered
  uint32_t max_discard_sectors = 0;
  uint32_t max_write_zeroes_sectors = 0;
};

// One discard or write-zeroes segment (struct virtio_blk_discard_write_zeroes).
struct BlkRangeSegment {
  uint64_t sector = 0;
  uint32_t num_sectors = 0;
  uint32_t flags = 0;
};

struct BlkOperation {
  enum class Kind { kComplete, kRead, kWrite, kFlush, kGetId, kDiscard, kWriteZeroes };
  Kind kind = Kind::kComplete;
  uint8_t status = kBlkStatusOk;  // kComplete: the answer
  uint64_t offset_bytes = 0;      // kRead, kWrite, kDiscard, kWriteZeroes
  uint64_t length_bytes = 0;
  bool may_unmap = false;  // kWriteZeroes
};

// `segments` is the payload of DISCARD and WRITE_ZEROES, read by the caller
// from the data (empty for other types). Out-of-range and misaligned data
// give IOERR, as QEMU's virtio_blk_sect_range_ok; types the device does not
// do give UNSUPP; a write of any kind to a read-only disk gives IOERR.
BlkOperation plan_blk_request(const BlkRequest& request, std::span<const BlkRangeSegment> segments,
                              const BlkLimits& limits);

// The payload of DISCARD and WRITE_ZEROES, little-endian, as sent.
BlkRangeSegment decode_range_segment(std::span<const uint8_t, kBlkDiscardSegmentBytes> bytes);

}  // namespace godwit
