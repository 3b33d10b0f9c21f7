// virtio-blk-device (virtio 1.x spec, section 5.2) on a RawImage: one
// request queue of 256 entries, as QEMU's defaults (num-queues=1 on mmio,
// queue-size=256).
//
// Features offered, as QEMU's: SEG_MAX (queue size - 2, seg-max-adjust),
// BLK_SIZE (512), FLUSH when the drive has a write cache (cache=writeback,
// none, unsafe; not writethrough, directsync), RO for a read-only disk,
// DISCARD and WRITE_ZEROES (one segment each, up to 4194303 sectors).
// Not offered: SIZE_MAX, GEOMETRY, TOPOLOGY, CONFIG_WCE, MQ.
//
// Requests run on the image's worker threads. Each IN maps its guest
// buffers for writing (GuestMemory::map, which marks the dirty log when the
// mapping is released, after the data landed); each OUT reads them through
// the map. The worker that completes a request releases those mappings,
// writes the status byte, pushes the chain to the used ring and notifies.
// An image error gives the guest IOERR and godwit runs on (QEMU's
// werror=report).
//
// Migration: quiesce() stops taking requests and waits until every one in
// flight has reached the used ring, so a stream never holds half a request;
// the queues (the transport's) are then the whole state, and the device
// saves nothing of its own. unquiesce() takes requests again, including any
// made available meanwhile.
//
// Threads: queue_notify() on hart threads; completions on the image's
// workers; reset(), quiesce() and unquiesce() on the main thread (or a
// hart's status write for reset); the image must outlive the device.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "base/state_description.hpp"
#include "block/raw_image.hpp"
#include "memory/guest_memory.hpp"
#include "virtio/virtio_blk_request.hpp"
#include "virtio/virtio_device.hpp"

namespace godwit {

// Device feature bits (section 5.2.3).
inline constexpr uint64_t kBlkFeatureSizeMax = uint64_t{1} << 1;
inline constexpr uint64_t kBlkFeatureSegMax = uint64_t{1} << 2;
inline constexpr uint64_t kBlkFeatureRo = uint64_t{1} << 5;
inline constexpr uint64_t kBlkFeatureBlkSize = uint64_t{1} << 6;
inline constexpr uint64_t kBlkFeatureFlush = uint64_t{1} << 9;
inline constexpr uint64_t kBlkFeatureDiscard = uint64_t{1} << 13;
inline constexpr uint64_t kBlkFeatureWriteZeroes = uint64_t{1} << 14;

class VirtioBlk final : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueSize = 256;
  static constexpr uint32_t kBlockSizeBytes = 512;
  static constexpr uint32_t kMaxDiscardSectors = 4194303;  // QEMU's max-discard-sectors
  static constexpr uint32_t kMaxWriteZeroesSectors = 4194303;
  // The config space up to write_zeroes_may_unmap and its padding.
  static constexpr uint32_t kConfigBytes = 60;

  struct Options {
    bool read_only = false;
    bool write_cache = true;  // offer FLUSH
    std::string serial;       // GET_ID; longer than 20 bytes is cut, as QEMU
    bool discard = true;
    bool write_zeroes = true;
  };

  // Nothing of its own once quiesced: see the head of this file.
  struct State {
    static constexpr VMStateInfo kVMState{"virtio-blk", 1, 1};
    template <class V>
    void visit_state(V&) {}
  };

  VirtioBlk(RawImage& image, GuestMemory memory, Options options);
  ~VirtioBlk() override;  // waits for requests in flight

  std::string_view name() const override { return "virtio-blk-device"; }
  uint32_t device_id() const override { return kVirtioIdBlock; }
  uint64_t device_features() const override;
  unsigned queue_count() const override { return 1; }
  uint16_t queue_max_size(unsigned) const override { return kQueueSize; }
  uint32_t config_size() const override { return kConfigBytes; }
  void read_config(uint32_t offset, std::span<uint8_t> out) const override;

  void attach(VirtioTransport& transport) override { transport_ = &transport; }
  void queue_notify(unsigned index) override;
  void reset() override;  // waits for requests in flight; the queues are reset by the transport
  void quiesce() override;
  void unquiesce() override;

  State snapshot() const { return {}; }
  Status restore(const State&) { return {}; }

  uint64_t capacity_sectors() const { return limits_.capacity_sectors; }
  size_t in_flight() const;

 private:
  struct Request;
  void process_queue();
  void start(DescriptorChain chain);
  void run(std::unique_ptr<Request> request, const BlkOperation& operation);
  RawImage::Completion completion(std::unique_ptr<Request> request);
  void finish(std::unique_ptr<Request> request, uint8_t status);
  void wait_idle();

  RawImage& image_;
  GuestMemory memory_;
  Options options_;
  BlkLimits limits_;
  VirtioTransport* transport_ = nullptr;

  std::atomic<bool> quiesced_ = false;
  mutable std::mutex mutex_;
  std::condition_variable idle_;
  size_t in_flight_ = 0;
};

}  // namespace godwit
