#include "virtio/virtio_blk.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <future>
#include <vector>

#include "base/byte_order.hpp"

namespace godwit {

// A request between pop and push: the chain, and the guest memory its data
// occupies, held until the image is done with it.
struct VirtioBlk::Request {
  DescriptorChain chain;
  BlkRequest parsed;
  std::vector<MappedRam> mapped;  // IN: released (marking the dirty log) before the push
  std::vector<std::span<uint8_t>> read_into;
  std::vector<std::span<const uint8_t>> write_from;
};

VirtioBlk::VirtioBlk(RawImage& image, GuestMemory memory, Options options)
    : image_(image), memory_(memory), options_(std::move(options)) {
  limits_ = {.capacity_sectors = image_.size_bytes() / kBlkSectorBytes,
             .read_only = options_.read_only,
             .discard = options_.discard,
             .write_zeroes = options_.write_zeroes,
             .max_discard_sectors = kMaxDiscardSectors,
             .max_write_zeroes_sectors = kMaxWriteZeroesSectors};
}

VirtioBlk::~VirtioBlk() { wait_idle(); }

uint64_t VirtioBlk::device_features() const {
  uint64_t features = kBlkFeatureSegMax | kBlkFeatureBlkSize;
  if (options_.write_cache) features |= kBlkFeatureFlush;
  if (options_.read_only) features |= kBlkFeatureRo;
  if (options_.discard) features |= kBlkFeatureDiscard;
  if (options_.write_zeroes) features |= kBlkFeatureWriteZeroes;
  return features;
}

void VirtioBlk::read_config(uint32_t offset, std::span<uint8_t> out) const {
  // struct virtio_blk_config (section 5.2.4), little-endian.
  std::array<uint8_t, kConfigBytes> config{};
  store_le<uint64_t>(config.data() + 0, limits_.capacity_sectors);
  store_le<uint32_t>(config.data() + 12, kQueueSize - 2);   // seg_max
  store_le<uint32_t>(config.data() + 20, kBlockSizeBytes);  // blk_size
  store_le<uint16_t>(config.data() + 34, 1);                // num_queues
  if (options_.discard) {
    store_le<uint32_t>(config.data() + 36, kMaxDiscardSectors);
    store_le<uint32_t>(config.data() + 40, 1);                                  // max_discard_seg
    store_le<uint32_t>(config.data() + 44, kBlockSizeBytes / kBlkSectorBytes);  // discard_sector_alignment
  }
  if (options_.write_zeroes) {
    store_le<uint32_t>(config.data() + 48, kMaxWriteZeroesSectors);
    store_le<uint32_t>(config.data() + 52, 1);  // max_write_zeroes_seg
    config[56] = 1;                             // write_zeroes_may_unmap
  }
  for (size_t i = 0; i < out.size(); ++i) out[i] = offset + i < config.size() ? config[offset + i] : 0;
}

void VirtioBlk::queue_notify(unsigned index) {
  if (index != 0) return;
  process_queue();
}

void VirtioBlk::process_queue() {
  if (quiesced_.load()) return;  // unquiesce() looks again
  Virtqueue& queue = transport_->queue(0);
  while (auto chain = queue.pop()) start(std::move(*chain));
}

void VirtioBlk::start(DescriptorChain chain) {
  auto parsed = parse_blk_request(chain);
  if (!parsed) {
    // No status byte to answer in: the driver broke the rules.
    transport_->mark_broken(parsed.error().message());
    return;
  }
  {
    std::lock_guard lock(mutex_);
    ++in_flight_;
  }
  auto request = std::make_unique<Request>(Request{.chain = std::move(chain), .parsed = std::move(*parsed)});
  std::vector<BlkRangeSegment> ranges;
  const uint32_t type = request->parsed.type;
  if ((type == kBlkTypeDiscard || type == kBlkTypeWriteZeroes) &&
      request->parsed.data_bytes == kBlkDiscardSegmentBytes) {
    std::array<uint8_t, kBlkDiscardSegmentBytes> bytes{};
    request->chain.read(16, bytes);
    ranges.push_back(decode_range_segment(bytes));
  } else if (type == kBlkTypeDiscard || type == kBlkTypeWriteZeroes) {
    // More than one segment (or a broken payload): planned as such.
    ranges.resize(request->parsed.data_bytes / kBlkDiscardSegmentBytes);
  }
  const BlkOperation operation = plan_blk_request(request->parsed, ranges, limits_);
  run(std::move(request), operation);
}

RawImage::Completion VirtioBlk::completion(std::unique_ptr<Request> request) {
  return [this, request = std::move(request)](Status status) mutable {
    if (!status) {
      // QEMU's werror=report: the guest sees an I/O error, the host a line.
      std::fprintf(stderr, "godwit: virtio-blk-device: %s\n", status.error().message().c_str());
    }
    finish(std::move(request), status ? kBlkStatusOk : kBlkStatusIoErr);
  };
}

void VirtioBlk::run(std::unique_ptr<Request> request, const BlkOperation& operation) {
  using Kind = BlkOperation::Kind;
  Request& r = *request;
  switch (operation.kind) {
    case Kind::kComplete: return finish(std::move(request), operation.status);
    case Kind::kGetId: {
      std::array<uint8_t, kBlkIdBytes> id{};  // zero padded, as QEMU's strncpy
      std::memcpy(id.data(), options_.serial.data(), std::min(options_.serial.size(), id.size()));
      const size_t length = std::min<uint64_t>(r.parsed.data_bytes, id.size());
      r.chain.write(0, std::span<const uint8_t>(id).first(length));
      return finish(std::move(request), kBlkStatusOk);
    }
    case Kind::kRead:
      for (const GuestSegment& segment : r.parsed.data) {
        auto mapped = memory_.map(segment.address, segment.length);
        if (!mapped) return finish(std::move(request), kBlkStatusIoErr);
        r.read_into.push_back(mapped->bytes());
        r.mapped.push_back(std::move(*mapped));
      }
      return image_.read(operation.offset_bytes, r.read_into, completion(std::move(request)));
    case Kind::kWrite:
      for (const GuestSegment& segment : r.parsed.data) {
        const uint8_t* host = memory_.space().ram_ptr(segment.address, segment.length);
        if (host == nullptr) return finish(std::move(request), kBlkStatusIoErr);
        r.write_from.emplace_back(host, segment.length);
      }
      return image_.write(operation.offset_bytes, r.write_from, completion(std::move(request)));
    case Kind::kFlush: return image_.flush(completion(std::move(request)));
    case Kind::kDiscard:
      return image_.discard(operation.offset_bytes, operation.length_bytes, completion(std::move(request)));
    case Kind::kWriteZeroes:
      return image_.write_zeroes(operation.offset_bytes, operation.length_bytes, operation.may_unmap,
                                 completion(std::move(request)));
  }
}

void VirtioBlk::finish(std::unique_ptr<Request> request, uint8_t status) {
  request->mapped.clear();  // marks the pages the image wrote, before the guest can see the request done
  request->chain.write(request->parsed.status_offset, std::span<const uint8_t>(&status, 1));
  Virtqueue& queue = transport_->queue(0);
  queue.push(request->chain, request->parsed.writable_bytes);
  queue.notify();
  request.reset();
  std::lock_guard lock(mutex_);
  if (--in_flight_ == 0) idle_.notify_all();
}

void VirtioBlk::wait_idle() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return in_flight_ == 0; });
}

size_t VirtioBlk::in_flight() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

void VirtioBlk::reset() {
  // Requests in flight may still write guest RAM: wait for them before the
  // driver, told the device is reset, reuses their buffers (QEMU drains too).
  // Their pushes land on queues the transport has already reset, which
  // ignore them.
  wait_idle();
}

void VirtioBlk::quiesce() {
  quiesced_.store(true);
  wait_idle();
  // As QEMU flushes every disk when the guest stops: what the guest wrote
  // is on stable storage before its state is saved, so a cpr-reboot across
  // a host reboot, or a destination on shared storage, finds it there.
  // A read-only disk has nothing to flush; cache=unsafe skips it.
  if (image_.read_only()) return;
  std::promise<Status> flushed;
  image_.flush([&flushed](Status status) { flushed.set_value(std::move(status)); });
  if (Status status = flushed.get_future().get(); !status) {
    std::fprintf(stderr, "godwit: %s\n", status.error().message().c_str());
  }
}

void VirtioBlk::unquiesce() {
  quiesced_.store(false);
  if (transport_ != nullptr) process_queue();
}

}  // namespace godwit
