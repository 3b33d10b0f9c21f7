#include "virtio/virtio_blk_request.hpp"

#include <array>

#include "base/byte_order.hpp"

namespace godwit {
namespace {

// `segments` less `front` bytes at the start and `back` bytes at the end.
std::vector<GuestSegment> trim(std::span<const GuestSegment> segments, uint64_t front, uint64_t back) {
  uint64_t total = 0;
  for (const GuestSegment& segment : segments) total += segment.length;
  const uint64_t end = total - back;
  std::vector<GuestSegment> out;
  uint64_t position = 0;
  for (const GuestSegment& segment : segments) {
    const uint64_t from = std::max(position, front);
    const uint64_t to = std::min(position + segment.length, end);
    if (from < to) {
      out.push_back({segment.address + (from - position), static_cast<uint32_t>(to - from)});
    }
    position += segment.length;
  }
  return out;
}

bool in_range(uint64_t sector, uint64_t bytes, uint64_t capacity_sectors) {
  if (bytes % kBlkSectorBytes != 0) return false;
  const uint64_t sectors = bytes / kBlkSectorBytes;
  return sector <= capacity_sectors && sectors <= capacity_sectors - sector;
}

BlkOperation complete(uint8_t status) { return {.kind = BlkOperation::Kind::kComplete, .status = status}; }

BlkOperation plan_range(const BlkRequest& request, std::span<const BlkRangeSegment> segments, const BlkLimits& limits) {
  const bool discard = request.type == kBlkTypeDiscard;
  if (discard ? !limits.discard : !limits.write_zeroes) return complete(kBlkStatusUnsupported);
  // QEMU reads exactly one segment (max_discard_seg and max_write_zeroes_seg
  // are 1); a payload that is not whole segments is an I/O error.
  if (request.data_bytes == 0 || request.data_bytes % kBlkDiscardSegmentBytes != 0) {
    return complete(kBlkStatusIoErr);
  }
  if (segments.size() != 1) return complete(kBlkStatusUnsupported);
  const BlkRangeSegment& range = segments[0];
  const uint32_t allowed_flags = discard ? 0 : kBlkWriteZeroesUnmap;
  if ((range.flags & ~allowed_flags) != 0) return complete(kBlkStatusUnsupported);
  if (limits.read_only) return complete(kBlkStatusIoErr);
  const uint32_t max_sectors = discard ? limits.max_discard_sectors : limits.max_write_zeroes_sectors;
  if (range.num_sectors > max_sectors ||
      !in_range(range.sector, uint64_t{range.num_sectors} * kBlkSectorBytes, limits.capacity_sectors)) {
    return complete(kBlkStatusIoErr);
  }
  return {.kind = discard ? BlkOperation::Kind::kDiscard : BlkOperation::Kind::kWriteZeroes,
          .offset_bytes = range.sector * kBlkSectorBytes,
          .length_bytes = uint64_t{range.num_sectors} * kBlkSectorBytes,
          .may_unmap = (range.flags & kBlkWriteZeroesUnmap) != 0};
}

}  // namespace

Result<BlkRequest> parse_blk_request(const DescriptorChain& chain) {
  constexpr uint64_t kHeaderBytes = 16;
  const uint64_t readable = chain.readable_bytes();
  const uint64_t writable = chain.writable_bytes();
  if (readable < kHeaderBytes || writable < 1) return fail("virtio-blk missing headers");
  std::array<uint8_t, kHeaderBytes> header{};
  if (chain.read(0, header) != header.size()) return fail("virtio-blk request header unreadable");

  BlkRequest request;
  request.type = load_le<uint32_t>(header.data()) & ~kBlkTypeBarrier;
  request.sector = load_le<uint64_t>(header.data() + 8);
  request.status_offset = writable - 1;
  request.writable_bytes = static_cast<uint32_t>(writable);
  if (request.type == kBlkTypeIn || request.type == kBlkTypeGetId) {
    request.data = trim(chain.writable(), 0, 1);
    request.data_bytes = writable - 1;
  } else {
    request.data = trim(chain.readable(), kHeaderBytes, 0);
    request.data_bytes = readable - kHeaderBytes;
  }
  return request;
}

BlkRangeSegment decode_range_segment(std::span<const uint8_t, kBlkDiscardSegmentBytes> bytes) {
  return {.sector = load_le<uint64_t>(bytes.data()),
          .num_sectors = load_le<uint32_t>(bytes.data() + 8),
          .flags = load_le<uint32_t>(bytes.data() + 12)};
}

BlkOperation plan_blk_request(const BlkRequest& request, std::span<const BlkRangeSegment> segments,
                              const BlkLimits& limits) {
  switch (request.type) {
    case kBlkTypeIn:
    case kBlkTypeOut: {
      const bool out = request.type == kBlkTypeOut;
      if (out && limits.read_only) return complete(kBlkStatusIoErr);
      if (!in_range(request.sector, request.data_bytes, limits.capacity_sectors)) return complete(kBlkStatusIoErr);
      return {.kind = out ? BlkOperation::Kind::kWrite : BlkOperation::Kind::kRead,
              .offset_bytes = request.sector * kBlkSectorBytes,
              .length_bytes = request.data_bytes};
    }
    case kBlkTypeFlush: return {.kind = BlkOperation::Kind::kFlush};
    case kBlkTypeGetId: return {.kind = BlkOperation::Kind::kGetId};
    case kBlkTypeDiscard:
    case kBlkTypeWriteZeroes: return plan_range(request, segments, limits);
    default: return complete(kBlkStatusUnsupported);  // GET_LIFETIME, SECURE_ERASE, unknown
  }
}

}  // namespace godwit
