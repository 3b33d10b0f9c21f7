// virtio-blk-device on a real image file, driven by the fake driver: the
// request types, their errors, any descriptor layout, and quiesce.
#include "virtio/virtio_blk.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "base/byte_order.hpp"
#include "base/temp_dir_test_util.hpp"
#include "devices/fakes_test_util.hpp"
#include "devices/state_test_util.hpp"
#include "virtio/fake_driver_test_util.hpp"
#include "virtio/virtio_mmio_with.hpp"

namespace godwit {
namespace {

using testing::Buffer;
using testing::FakeDriver;
using testing::FakeInterruptController;
using testing::GuestRam;
using testing::kRamBase;
using testing::UsedElement;

constexpr uint64_t kImageBytes = 64 * 1024;
constexpr uint64_t kQueueBase = kRamBase + 0x10000;
constexpr uint64_t kHeader = kRamBase + 0x40000;
constexpr uint64_t kData = kRamBase + 0x50000;
constexpr uint64_t kStatus = kRamBase + 0x60000;

class VirtioBlkTest : public ::testing::Test {
 protected:
  void start(VirtioBlk::Options options = {}, RawImageOptions image_options = {}) {
    std::vector<char> bytes(kImageBytes);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i / 512 + 1);
    std::ofstream(path_, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    auto image = RawImage::open(path_, image_options, workers_);
    ASSERT_TRUE(image) << image.error().message();
    image_ = std::move(*image);
    transport_ = std::make_unique<VirtioMmioWith<VirtioBlk>>(IrqLine(&controller_, 8), ram_.memory,
                                                             std::make_unique<VirtioBlk>(*image_, ram_.memory, options),
                                                             /*legacy=*/false, "test");
    driver_ = std::make_unique<FakeDriver>(*transport_, ram_);
    ASSERT_TRUE(driver_->negotiate(~uint64_t{0}));
    driver_->setup_queue(0, 64, kQueueBase);
    driver_->driver_ok();
  }

  // Writes a request header at kHeader.
  void header(uint32_t type, uint64_t sector) {
    store_le<uint32_t>(ram_.at(kHeader), type);
    store_le<uint32_t>(ram_.at(kHeader + 4), 0);
    store_le<uint64_t>(ram_.at(kHeader + 8), sector);
    *ram_.at(kStatus) = 0xff;
  }

  // Sends one chain and waits for it (quiesce drains); returns its status.
  uint8_t send(const std::vector<Buffer>& buffers, UsedElement* used_out = nullptr) {
    const uint16_t head = driver_->add(0, buffers);
    driver_->kick(0);
    device().quiesce();
    device().unquiesce();
    UsedElement used{};
    EXPECT_TRUE(driver_->next_used(0, used));
    EXPECT_EQ(used.id, head);
    if (used_out) *used_out = used;
    return *ram_.at(kStatus);
  }
  uint8_t request(uint32_t type, uint64_t sector, uint32_t data_bytes, bool data_writable) {
    header(type, sector);
    std::vector<Buffer> buffers = {{kHeader, 16, false}};
    if (data_bytes != 0) buffers.push_back({kData, data_bytes, data_writable});
    buffers.push_back({kStatus, 1, true});
    return send(buffers);
  }
  // A DISCARD or WRITE_ZEROES with one segment.
  uint8_t range_request(uint32_t type, uint64_t sector, uint32_t sectors, uint32_t flags) {
    store_le<uint64_t>(ram_.at(kData), sector);
    store_le<uint32_t>(ram_.at(kData + 8), sectors);
    store_le<uint32_t>(ram_.at(kData + 12), flags);
    return request(type, 0, 16, false);
  }
  std::vector<uint8_t> file_bytes(uint64_t offset, size_t size) {
    std::vector<uint8_t> bytes(size);
    std::ifstream file(path_, std::ios::binary);
    file.seekg(static_cast<std::streamoff>(offset));
    file.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
    return bytes;
  }
  uint32_t config_u32(uint32_t offset) { return driver_->reg(VirtioMmio::kConfig + offset); }
  uint64_t offered_features() {
    driver_->set(VirtioMmio::kDeviceFeaturesSel, 0);
    return driver_->reg(VirtioMmio::kDeviceFeatures);
  }
  VirtioBlk& device() { return transport_->device(); }

  testing::TempDir dir_;
  std::string path_ = dir_ / "disk.img";
  IoWorkerPool workers_{2};
  std::unique_ptr<RawImage> image_;
  FakeInterruptController controller_;
  GuestRam ram_;
  std::unique_ptr<VirtioMmioWith<VirtioBlk>> transport_;
  std::unique_ptr<FakeDriver> driver_;
};

TEST_F(VirtioBlkTest, ConfigAndFeaturesAsQemus) {
  start();
  EXPECT_EQ(driver_->reg(VirtioMmio::kDeviceId), kVirtioIdBlock);
  const uint64_t features = offered_features();
  for (uint64_t bit :
       {kBlkFeatureSegMax, kBlkFeatureBlkSize, kBlkFeatureFlush, kBlkFeatureDiscard, kBlkFeatureWriteZeroes}) {
    EXPECT_NE(features & bit, 0u) << bit;
  }
  EXPECT_EQ(features & (kBlkFeatureRo | kBlkFeatureSizeMax), 0u);
  EXPECT_EQ(config_u32(0), kImageBytes / 512);  // capacity, low half
  EXPECT_EQ(config_u32(4), 0u);
  EXPECT_EQ(config_u32(12), 254u);  // seg_max
  EXPECT_EQ(config_u32(20), 512u);  // blk_size
  EXPECT_EQ(config_u32(36), 4194303u);
  EXPECT_EQ(config_u32(40), 1u);
  EXPECT_EQ(config_u32(48), 4194303u);
  EXPECT_EQ(config_u32(52), 1u);
}

TEST_F(VirtioBlkTest, ReadOnlyOffersRoAndWritethroughNoFlush) {
  start({.read_only = true, .write_cache = false});
  const uint64_t features = offered_features();
  EXPECT_NE(features & kBlkFeatureRo, 0u);
  EXPECT_EQ(features & kBlkFeatureFlush, 0u);
}

TEST_F(VirtioBlkTest, ReadsIntoTheGuestsBuffers) {
  start();
  UsedElement used{};
  header(kBlkTypeIn, 3);
  // Data split over two descriptors, status in a third.
  EXPECT_EQ(send({{kHeader, 16, false}, {kData, 512, true}, {kData + 512, 512, true}, {kStatus, 1, true}}, &used),
            kBlkStatusOk);
  EXPECT_EQ(used.length, 1025u);  // every writable byte, as QEMU reports
  EXPECT_EQ(*ram_.at(kData), 4);  // sector 3 holds 4s
  EXPECT_EQ(*ram_.at(kData + 1023), 5);
}

TEST_F(VirtioBlkTest, WritesFromTheGuestsBuffersInAnyLayout) {
  start();
  // Header and data in one readable descriptor; data and status in one
  // writable one are exercised by reads above.
  header(kBlkTypeOut, 8);
  std::memcpy(ram_.at(kHeader + 16), std::string(512, 'w').data(), 512);
  EXPECT_EQ(send({{kHeader, 16 + 512, false}, {kStatus, 1, true}}), kBlkStatusOk);
  EXPECT_EQ(file_bytes(8 * 512, 512), std::vector<uint8_t>(512, 'w'));
  EXPECT_EQ(file_bytes(9 * 512, 1)[0], 10);  // the next sector untouched
  EXPECT_EQ(request(kBlkTypeFlush, 0, 0, false), kBlkStatusOk);
}

TEST_F(VirtioBlkTest, GetIdAnswersTheSerialZeroPadded) {
  start({.serial = "disk-serial-0"});
  std::memset(ram_.at(kData), 0xee, 32);
  EXPECT_EQ(request(kBlkTypeGetId, 0, 20, true), kBlkStatusOk);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ram_.at(kData)), 13), "disk-serial-0");
  EXPECT_EQ(*ram_.at(kData + 13), 0);
  EXPECT_EQ(*ram_.at(kData + 19), 0);
  EXPECT_EQ(*ram_.at(kData + 20), 0xee);
}

TEST_F(VirtioBlkTest, ErrorsGiveIoErrOrUnsupportedAndTheDeviceRunsOn) {
  start();
  EXPECT_EQ(request(kBlkTypeIn, kImageBytes / 512, 512, true), kBlkStatusIoErr);  // past the end
  EXPECT_EQ(request(kBlkTypeIn, kImageBytes / 512 - 1, 1024, true), kBlkStatusIoErr);
  EXPECT_EQ(request(kBlkTypeIn, ~uint64_t{0}, 512, true), kBlkStatusIoErr);  // no wrap-around
  EXPECT_EQ(request(kBlkTypeIn, 0, 100, true), kBlkStatusIoErr);             // not whole sectors
  EXPECT_EQ(request(kBlkTypeGetLifetime, 0, 16, true), kBlkStatusUnsupported);
  EXPECT_EQ(request(99, 0, 0, false), kBlkStatusUnsupported);
  EXPECT_EQ(request(kBlkTypeIn, 0, 512, true), kBlkStatusOk);
}

TEST_F(VirtioBlkTest, WriteToAReadOnlyDiskIsAnIoError) {
  start({.read_only = true}, {.read_only = true});
  EXPECT_EQ(request(kBlkTypeOut, 0, 512, false), kBlkStatusIoErr);
  EXPECT_EQ(range_request(kBlkTypeWriteZeroes, 0, 1, 0), kBlkStatusIoErr);
  EXPECT_EQ(file_bytes(0, 1)[0], 1);
  EXPECT_EQ(request(kBlkTypeIn, 0, 512, true), kBlkStatusOk);
}

TEST_F(VirtioBlkTest, AnImageErrorIsAnIoError) {
  // The raw node is writable but the file was opened read-only: the image
  // refuses, the guest sees IOERR.
  start({}, {.read_only = true});
  EXPECT_EQ(request(kBlkTypeOut, 0, 512, false), kBlkStatusIoErr);
  EXPECT_EQ(request(kBlkTypeIn, 0, 512, true), kBlkStatusOk);
}

TEST_F(VirtioBlkTest, WriteZeroesAndDiscard) {
  start({}, {.discard = DiscardMode::kUnmap});
  EXPECT_EQ(range_request(kBlkTypeWriteZeroes, 2, 3, kBlkWriteZeroesUnmap), kBlkStatusOk);
  EXPECT_EQ(file_bytes(2 * 512, 3 * 512), std::vector<uint8_t>(3 * 512, 0));
  EXPECT_EQ(file_bytes(5 * 512, 1)[0], 6);
  EXPECT_EQ(range_request(kBlkTypeDiscard, 8, 8, 0), kBlkStatusOk);
  EXPECT_EQ(file_bytes(8 * 512, 8 * 512), std::vector<uint8_t>(8 * 512, 0));
  // DISCARD takes no flags; WRITE_ZEROES only UNMAP.
  EXPECT_EQ(range_request(kBlkTypeDiscard, 8, 8, kBlkWriteZeroesUnmap), kBlkStatusUnsupported);
  EXPECT_EQ(range_request(kBlkTypeWriteZeroes, 8, 8, 2), kBlkStatusUnsupported);
  EXPECT_EQ(range_request(kBlkTypeDiscard, kImageBytes / 512, 1, 0), kBlkStatusIoErr);
  // Two segments where one is the limit.
  EXPECT_EQ(request(kBlkTypeDiscard, 0, 32, false), kBlkStatusUnsupported);
  EXPECT_EQ(request(kBlkTypeDiscard, 0, 20, false), kBlkStatusIoErr);
}

TEST_F(VirtioBlkTest, AChainWithoutHeaderOrStatusBreaksTheDevice) {
  start();
  header(kBlkTypeIn, 0);
  driver_->add(0, {{kHeader, 16, false}});  // no status byte
  driver_->kick(0);
  EXPECT_NE(driver_->reg(VirtioMmio::kStatus) & kVirtioStatusNeedsReset, 0u);
}

TEST_F(VirtioBlkTest, QuiesceDrainsEveryRequestIntoTheUsedRing) {
  start();
  for (unsigned i = 0; i < 8; ++i) {
    // Each its own header and status, all in flight together.
    const uint64_t at = kHeader + 0x100 * i;
    store_le<uint32_t>(ram_.at(at), kBlkTypeIn);
    store_le<uint64_t>(ram_.at(at + 8), i);
    driver_->add(0, {{at, 16, false}, {kData + 4096 * i, 4096, true}, {kStatus + i, 1, true}});
  }
  driver_->kick(0);
  device().quiesce();
  EXPECT_EQ(device().in_flight(), 0u);
  EXPECT_EQ(driver_->used_idx(0), 8);
  for (unsigned i = 0; i < 8; ++i) EXPECT_EQ(*ram_.at(kStatus + i), kBlkStatusOk);
  EXPECT_EQ(*ram_.at(kData + 4096 * 7), 8);

  // Quiesced, it takes nothing; unquiesced, it takes what was made
  // available meanwhile.
  header(kBlkTypeIn, 0);
  driver_->add(0, {{kHeader, 16, false}, {kData, 512, true}, {kStatus, 1, true}});
  driver_->kick(0);
  EXPECT_EQ(driver_->used_idx(0), 8);
  device().unquiesce();
  device().quiesce();
  EXPECT_EQ(driver_->used_idx(0), 9);
  device().unquiesce();
}

TEST_F(VirtioBlkTest, StateIsTheTransportsOnceQuiesced) {
  start();
  EXPECT_EQ(request(kBlkTypeIn, 0, 512, true), kBlkStatusOk);
  device().quiesce();
  const auto bytes = testing::save_bytes(*transport_);
  EXPECT_TRUE(testing::load_bytes(*transport_, bytes));
  device().unquiesce();
  EXPECT_EQ(request(kBlkTypeIn, 1, 512, true), kBlkStatusOk);
}

}  // namespace
}  // namespace godwit
