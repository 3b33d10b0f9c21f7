// load_migration_stream() against streams that are wrong in one way each:
// hand-built with savevm::Writer, or a good stream from the precopy sender
// cut short or with a byte changed. The loader must never trust the wire:
// every one of these fails (never crashes, never hangs) with a message that
// names what is wrong, which is what an operator reads in query-migrate's
// error-desc on the destination.
#include "migration/incoming_loader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "migration/guest_ram_test_util.hpp"
#include "migration/precopy_sender.hpp"
#include "migration/savevm_format.hpp"

namespace godwit {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kPage = kRamPageSize;
constexpr std::string_view kMachine = "godwit-test";
constexpr uint64_t kBlockPages = 16;
constexpr uint64_t kBlockBytes = kBlockPages * kPage;  // 0x10000

struct DeviceSpec {
  std::string idstr;
  uint32_t instance_id;
  uint32_t version_id;
  size_t state_bytes;
};

// A machine with one RAM block "ram0" and devices whose state is raw bytes;
// enough of a MigratableVm to send from and to load into.
class FakeVm final : public MigratableVm {
 public:
  explicit FakeVm(const std::vector<DeviceSpec>& devices, uint64_t block_bytes = kBlockBytes)
      : ram_(block_bytes, 0), log_(block_bytes) {
    for (const DeviceSpec& spec : devices) devices_.push_back({spec, std::vector<uint8_t>(spec.state_bytes, 0), {}});
  }

  std::string_view machine_type() const override { return kMachine; }
  std::vector<RamBlockView> ram_blocks() override {
    RamBlockView view{"ram0", ram_.data(), ram_.size(), 0x80000000, false};
    view.memory = ram_memory_;
    return {view};
  }
  Status start_dirty_log() override { return {}; }
  void stop_dirty_log() override {}
  DirtyLog& dirty_log() override { return log_; }
  std::vector<DeviceSection> device_sections() override {
    std::vector<DeviceSection> sections;
    for (Device& device : devices_) {
      Device* d = &device;
      sections.push_back({d->spec.idstr, d->spec.instance_id, d->spec.version_id,
                          [d](StreamWriter& out) { out.put_buffer(d->state); },
                          [d](StreamReader& in, uint32_t version) -> Status {
                            std::vector<uint8_t> incoming(d->state.size());
                            in.get_buffer(incoming);
                            if (auto status = in.status(); !status) return status;
                            d->state = std::move(incoming);
                            d->loaded_versions.push_back(version);
                            return {};
                          },
                          [d] {
                            return nlohmann::json{{"bytes", d->state.size()}};
                          }});
    }
    return sections;
  }
  Status stop_for_switchover() override { return {}; }
  void finish_outgoing(bool) override {}
  void finish_incoming(const Status&) override {}
  void emit_migration_status(MigrationStatus) override {}
  void emit_migration_pass(uint64_t) override {}

  std::vector<uint8_t>& ram() { return ram_; }
  std::vector<uint8_t>& state(size_t device) { return devices_[device].state; }
  const std::vector<uint32_t>& loaded_versions(size_t device) const { return devices_[device].loaded_versions; }

 private:
  struct Device {
    DeviceSpec spec;
    std::vector<uint8_t> state;
    std::vector<uint32_t> loaded_versions;
  };
  std::vector<uint8_t> ram_;
  TestGuestRam guest_ram_;
  GuestMemory* ram_memory_ = guest_ram_.map(ram_, 0x80000000);
  DirtyLog log_;
  std::vector<Device> devices_;
};

DeviceSpec serial(uint32_t version = 3) { return {"serial", 0, version, 4}; }
DeviceSpec timer() { return {"timer", 1, 1, 2}; }

// A stream from the real sender: "ram0" with one data page, one page with a
// single non-zero byte, the rest zero, and the serial device's 4 bytes.
std::vector<uint8_t> sent_stream(uint32_t serial_version = 3, uint64_t block_bytes = kBlockBytes) {
  FakeVm source({serial(serial_version)}, block_bytes);
  for (size_t i = 0; i < kPage; ++i) source.ram()[3 * kPage + i] = static_cast<uint8_t>(i * 7 + 1);
  source.ram()[9 * kPage + 100] = 0x5a;
  source.state(0) = {0xa1, 0xb2, 0xc3, 0xd4};
  MemorySink sink;
  StreamWriter out(sink);
  ProgressBoard progress;
  CancelToken cancel;
  PrecopyOptions options{[] { return MigrationParameters{}; }, {}, [](MigrationStatus) {}};
  PrecopySender sender(source, out, std::move(options), progress, cancel);
  auto status = sender.run(PrecopySender::Clock::now());
  EXPECT_TRUE(status) << status.error().message();
  return sink.data();
}

// The error of loading `bytes` into `vm` ("" on success).
std::string load_error(std::span<const uint8_t> bytes, FakeVm& vm) {
  MemorySource source(bytes);
  StreamReader in(source, 4096);  // small: refills inside records too
  auto status = load_migration_stream(in, vm, {});
  return status ? "" : status.error().message();
}

std::string load_error(std::span<const uint8_t> bytes, const std::vector<DeviceSpec>& devices = {serial()}) {
  FakeVm vm(devices);
  return load_error(bytes, vm);
}

// Hand-built streams: each piece as the sender writes it, so a test changes
// exactly one thing.
using Body = std::function<void(savevm::Writer&, StreamWriter&)>;

std::vector<uint8_t> build(const Body& body) {
  MemorySink sink;
  StreamWriter out(sink);
  savevm::Writer writer(out);
  body(writer, out);
  EXPECT_TRUE(out.flush());
  return sink.data();
}

void ram_start(savevm::Writer& w, StreamWriter& out, uint64_t block_length = kBlockBytes,
               uint32_t version = kRamSectionVersion, std::string_view name = "ram") {
  w.begin_section({savevm::kSectionStart, 0, std::string(name), 0, version});
  out.put_be64(block_length | ram_flag::kMemSize);
  out.put_short_string("ram0");
  out.put_be64(block_length);
  out.put_be64(ram_flag::kEos);
  w.end_section(0);
}

// A RAM chunk of type PART or END carrying one data page at `offset`.
void ram_page(savevm::Writer& w, StreamWriter& out, savevm::SectionType type, uint64_t offset,
              uint32_t section_id = 0) {
  w.begin_section({type, section_id, "", 0, 0});
  out.put_be64(offset | ram_flag::kPage);
  out.put_short_string("ram0");
  out.put_buffer(std::vector<uint8_t>(kPage, 0x77));
  out.put_be64(ram_flag::kEos);
  w.end_section(section_id);
}

void ram_end(savevm::Writer& w, StreamWriter& out, uint32_t section_id = 0) {
  w.begin_section({savevm::kSectionEnd, section_id, "", 0, 0});
  out.put_be64(ram_flag::kEos);
  w.end_section(section_id);
}

void device(savevm::Writer& w, StreamWriter& out, const std::string& idstr, uint32_t instance_id, uint32_t version_id,
            std::vector<uint8_t> state, uint32_t section_id = 1) {
  w.begin_section({savevm::kSectionFull, section_id, idstr, instance_id, version_id});
  out.put_buffer(state);
  w.end_section(section_id);
}

void eof(savevm::Writer& w) { w.write_eof({{"page_size", kPage}, {"devices", nlohmann::json::array()}}); }

// The whole minimal stream with one piece swapped out.
std::vector<uint8_t> minimal(const Body& ram = nullptr, const Body& devices = nullptr) {
  return build([&](savevm::Writer& w, StreamWriter& out) {
    w.write_header(kMachine);
    if (ram) {
      ram(w, out);
    } else {
      ram_start(w, out);
      ram_page(w, out, savevm::kSectionPart, 2 * kPage);
      ram_end(w, out);
    }
    if (devices) {
      devices(w, out);
    } else {
      device(w, out, "serial", 0, 3, {1, 2, 3, 4});
    }
    eof(w);
  });
}

// Where the EOF byte of a sent stream ends: the vmdesc follows it as
// 0x06, be32 length, JSON to the end.
size_t end_of_eof(const std::vector<uint8_t>& stream) {
  for (size_t pos = stream.size() - 6; pos > 0; --pos) {
    if (stream[pos] != savevm::kEof || stream[pos + 1] != savevm::kVmDescription) continue;
    const uint32_t length = uint32_t{stream[pos + 2]} << 24 | uint32_t{stream[pos + 3]} << 16 |
                            uint32_t{stream[pos + 4]} << 8 | stream[pos + 5];
    if (pos + 6 + length == stream.size()) return pos + 1;
  }
  ADD_FAILURE() << "no EOF and description at the end of the stream";
  return stream.size();
}

TEST(IncomingLoader, AStreamFromThePrecopySenderLoads) {
  const auto stream = sent_stream();
  FakeVm vm({serial()});
  std::fill(vm.ram().begin(), vm.ram().end(), 0xee);
  ASSERT_EQ(load_error(stream, vm), "");
  EXPECT_EQ(vm.ram()[3 * kPage + 1], 8);
  EXPECT_EQ(vm.ram()[9 * kPage + 100], 0x5a);
  EXPECT_EQ(vm.ram()[9 * kPage + 101], 0);
  EXPECT_EQ(vm.ram()[0], 0);
  EXPECT_EQ(vm.state(0), (std::vector<uint8_t>{0xa1, 0xb2, 0xc3, 0xd4}));
  EXPECT_EQ(vm.loaded_versions(0), std::vector<uint32_t>{3});
}

TEST(IncomingLoader, TheHandBuiltMinimalStreamLoads) {
  // The base every hand-built test below changes in one place.
  FakeVm vm({serial()});
  ASSERT_EQ(load_error(minimal(), vm), "");
  EXPECT_EQ(vm.ram()[2 * kPage], 0x77);
  EXPECT_EQ(vm.state(0), (std::vector<uint8_t>{1, 2, 3, 4}));
}

TEST(IncomingLoader, EmptyInputFailsAtTheHeader) {
  EXPECT_EQ(load_error({}), "stream header: stream ended early at byte 0 (4 more bytes expected)");
}

TEST(IncomingLoader, BadMagicIsNotAMigrationStream) {
  auto stream = sent_stream();
  stream[3] = 'N';  // "QEVN"
  EXPECT_EQ(load_error(stream), "not a migration stream (bad magic 0x5145564e)");
  // A savevm file of some other format, say ELF, the same.
  const std::vector<uint8_t> elf = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0};
  EXPECT_EQ(load_error(elf), "not a migration stream (bad magic 0x7f454c46)");
}

TEST(IncomingLoader, AnyStreamVersionButThreeIsRefused) {
  auto stream = sent_stream();
  stream[7] = 2;  // QEMU's version 2 streams are long gone
  EXPECT_EQ(load_error(stream), "unsupported migration stream version 2");
  stream[7] = 4;
  EXPECT_EQ(load_error(stream), "unsupported migration stream version 4");
}

TEST(IncomingLoader, AStreamFromAnotherMachineTypeIsRefused) {
  const auto stream = build([](savevm::Writer& w, StreamWriter&) { w.write_header("sifive_u"); });
  EXPECT_EQ(load_error(stream),
            "configuration: machine type mismatch: the stream is from 'sifive_u', this machine is 'godwit-test'");
}

TEST(IncomingLoader, AStreamWithoutTheConfigurationSectionIsRefused) {
  const auto stream = build([](savevm::Writer& w, StreamWriter& out) {
    out.put_be32(savevm::kMagic);
    out.put_be32(savevm::kVersion);
    ram_start(w, out);
  });
  EXPECT_EQ(load_error(stream), "expected the configuration section, found section type 0x1 (START)");
}

TEST(IncomingLoader, AStreamCutAnywhereBeforeEofFailsSayingItEndedEarly) {
  // Every prefix of a good stream: each must fail, and say why.
  const auto stream = sent_stream();
  const size_t eof_end = end_of_eof(stream);
  ASSERT_LT(stream.size(), 16u * 1024);  // small enough to try every length
  for (size_t length = 0; length < eof_end; ++length) {
    const std::string error = load_error(std::span(stream).first(length));
    ASSERT_NE(error, "") << "a stream cut to " << length << " of " << stream.size() << " bytes loaded";
    EXPECT_THAT(error, HasSubstr("stream ended early")) << "cut to " << length << " bytes";
  }
}

// Cut right after magic and version, the missing section type must be
// reported as the end of the stream, not read as a 0 (EOF) type.
TEST(IncomingLoader, ACutRightAfterTheVersionSaysTheStreamEnded) {
  const auto stream = sent_stream();
  EXPECT_THAT(load_error(std::span(stream).first(8)), HasSubstr("stream ended early"));
}

TEST(IncomingLoader, AStreamEndingRightAfterEofLoadsWithoutItsDescription) {
  // The vmdesc is for tools (QEMU's analyze-migration.py); QEMU's loader
  // does not need it either.
  const auto stream = sent_stream();
  FakeVm vm({serial()});
  EXPECT_EQ(load_error(std::span(stream).first(end_of_eof(stream)), vm), "");
  EXPECT_EQ(vm.state(0), (std::vector<uint8_t>{0xa1, 0xb2, 0xc3, 0xd4}));
}

TEST(IncomingLoader, AStreamCutInsideTheDescriptionFails) {
  const auto stream = sent_stream();
  for (size_t length = end_of_eof(stream) + 1; length < stream.size(); ++length) {
    EXPECT_THAT(load_error(std::span(stream).first(length)), HasSubstr("description: stream ended early"))
        << "cut to " << length << " of " << stream.size() << " bytes";
  }
}

TEST(IncomingLoader, ChangingAnyByteNeverCrashesOrHangs) {
  // Each byte in turn inverted: whatever it hits (a length, a flag, an id,
  // page data), the loader returns. Most fail; a changed byte of page data
  // or device state loads as data, which is all a stream without checksums
  // can do. Run under ASan this is what finds a read or write out of bounds.
  const auto good = sent_stream();
  size_t failed = 0;
  for (size_t pos = 0; pos < good.size(); ++pos) {
    auto stream = good;
    stream[pos] ^= 0xff;
    if (!load_error(stream).empty()) ++failed;
  }
  // Everything but the two data pages and the device's 4 bytes is
  // structure, and nearly all of it is checked. The exceptions: the high
  // bits of an EOS record's offset word (ignored, as QEMU does).
  EXPECT_GE(failed, good.size() - 2 * kPage - 4 - 4 - 3 * 6);
}

TEST(IncomingLoader, AnUnknownIterativeSectionIsNamed) {
  const auto stream = minimal([](savevm::Writer& w, StreamWriter& out) { ram_start(w, out, kBlockBytes, 4, "block"); });
  EXPECT_EQ(load_error(stream), "section 'block': godwit has no iterative section of that name");
}

TEST(IncomingLoader, AnUnknownDeviceSectionIsNamed) {
  auto stream = minimal(nullptr, [](savevm::Writer& w, StreamWriter& out) {
    device(w, out, "serial", 0, 3, {1, 2, 3, 4}, 1);
    device(w, out, "virtio-gpu", 0, 1, {}, 2);
  });
  EXPECT_EQ(load_error(stream), "unknown savevm section 'virtio-gpu' instance 0 (this machine has no such device)");
  // A known name with an instance this machine lacks is just as unknown.
  stream = minimal(nullptr, [](savevm::Writer& w, StreamWriter& out) { device(w, out, "serial", 1, 3, {1, 2, 3, 4}); });
  EXPECT_EQ(load_error(stream), "unknown savevm section 'serial' instance 1 (this machine has no such device)");
}

TEST(IncomingLoader, ADeviceVersionNewerThanOursIsRefused) {
  EXPECT_EQ(load_error(sent_stream(4), {serial(3)}),
            "section 'serial' instance 0: stream version 4 is newer than this godwit's 3");
}

TEST(IncomingLoader, AnOlderDeviceVersionIsHandedToTheDevice) {
  // Older streams are the device's to read (VMState's since() fields).
  FakeVm vm({serial(3)});
  ASSERT_EQ(load_error(sent_stream(2), vm), "");
  EXPECT_EQ(vm.loaded_versions(0), std::vector<uint32_t>{2});
}

// Sections are looked up by name and instance, as QEMU's find_se does; the
// RAM section has instance 0 only.
TEST(IncomingLoader, ARamSectionOfAnotherInstanceIsRefused) {
  const auto stream = minimal([](savevm::Writer& w, StreamWriter& out) {
    w.begin_section({savevm::kSectionStart, 0, "ram", 1, 4});
    out.put_be64(kBlockBytes | ram_flag::kMemSize);
    out.put_short_string("ram0");
    out.put_be64(kBlockBytes);
    out.put_be64(ram_flag::kEos);
    w.end_section(0);
  });
  EXPECT_THAT(load_error(stream), HasSubstr("'ram' instance 1"));
}

TEST(IncomingLoader, ARamSectionVersionOtherThanFourIsRefused) {
  for (uint32_t version : {3u, 5u}) {
    const auto stream = minimal([=](savevm::Writer& w, StreamWriter& out) { ram_start(w, out, kBlockBytes, version); });
    EXPECT_EQ(load_error(stream),
              "section 'ram': unsupported version " + std::to_string(version) + " (godwit reads 4)");
  }
}

TEST(IncomingLoader, APageBeyondTheBlockIsRefusedNamingTheBlock) {
  // Offsets the length itself, one page further, and one that would wrap.
  for (uint64_t offset : {kBlockBytes, kBlockBytes + kPage, ~kRamFlagsMask}) {
    const auto stream = minimal([=](savevm::Writer& w, StreamWriter& out) {
      ram_start(w, out);
      ram_page(w, out, savevm::kSectionPart, offset);
      ram_end(w, out);
    });
    FakeVm vm({serial()});
    const std::string error = load_error(stream, vm);
    char expected[64];
    std::snprintf(expected, sizeof expected, "ram: page offset 0x%llx", static_cast<unsigned long long>(offset));
    EXPECT_THAT(error, HasSubstr(expected));
    EXPECT_THAT(error, HasSubstr("is outside block 'ram0' (length 0x10000)"));
    EXPECT_EQ(vm.ram(), std::vector<uint8_t>(kBlockBytes, 0));  // nothing written
  }
}

TEST(IncomingLoader, AMissingDeviceSectionIsNamedAtEof) {
  // The stream has the serial device only; this machine also has a timer.
  EXPECT_EQ(load_error(sent_stream(), {serial(), timer()}), "stream ended without section 'timer' instance 1");
}

TEST(IncomingLoader, ARamBlockOfAnotherLengthIsRefused) {
  // Sent from a machine whose "ram0" is twice as large.
  EXPECT_EQ(load_error(sent_stream(3, 2 * kBlockBytes)),
            "ram: block 'ram0' has length 0x10000 here, 0x20000 in the stream");
  // And hand-built, one page shorter.
  const auto stream = minimal([](savevm::Writer& w, StreamWriter& out) { ram_start(w, out, kBlockBytes - kPage); });
  EXPECT_EQ(load_error(stream), "ram: block 'ram0' has length 0x10000 here, 0xf000 in the stream");
}

TEST(IncomingLoader, AnUnknownRamBlockIsNamed) {
  const auto stream = minimal([](savevm::Writer& w, StreamWriter& out) {
    w.begin_section({savevm::kSectionStart, 0, "ram", 0, 4});
    out.put_be64(kBlockBytes | ram_flag::kMemSize);
    out.put_short_string("pc.ram");
    out.put_be64(kBlockBytes);
    out.put_be64(ram_flag::kEos);
    w.end_section(0);
  });
  EXPECT_EQ(load_error(stream), "ram: unknown block 'pc.ram'");
}

TEST(IncomingLoader, TheRamSectionStartedTwiceIsRefused) {
  const auto stream = minimal([](savevm::Writer& w, StreamWriter& out) {
    ram_start(w, out);
    ram_start(w, out);
  });
  EXPECT_EQ(load_error(stream), "section 'ram': started twice");
}

TEST(IncomingLoader, RamChunksForASectionThatNeverStartedAreRefused) {
  auto stream = minimal([](savevm::Writer& w, StreamWriter& out) { ram_page(w, out, savevm::kSectionPart, 0); });
  EXPECT_EQ(load_error(stream), "PART for section id 0, which never started");
  stream = minimal([](savevm::Writer& w, StreamWriter& out) {
    ram_start(w, out);
    ram_end(w, out, 7);
  });
  EXPECT_EQ(load_error(stream), "END for section id 7, which never started");
}

TEST(IncomingLoader, RamDataAfterTheRamEndIsRefused) {
  const auto stream = minimal([](savevm::Writer& w, StreamWriter& out) {
    ram_start(w, out);
    ram_end(w, out);
    ram_page(w, out, savevm::kSectionPart, 0);
  });
  EXPECT_EQ(load_error(stream), "section 'ram': data after its end");
}

TEST(IncomingLoader, EofWithoutTheWholeRamSectionIsRefused) {
  auto stream = minimal([](savevm::Writer&, StreamWriter&) {});
  EXPECT_EQ(load_error(stream), "stream ended without a RAM section");
  stream = minimal([](savevm::Writer& w, StreamWriter& out) {
    ram_start(w, out);
    ram_page(w, out, savevm::kSectionPart, 0);
  });
  EXPECT_EQ(load_error(stream), "stream ended before the RAM section's end");
}

TEST(IncomingLoader, ADeviceSentTwiceIsRefused) {
  const auto stream = minimal(nullptr, [](savevm::Writer& w, StreamWriter& out) {
    device(w, out, "serial", 0, 3, {1, 2, 3, 4}, 1);
    device(w, out, "serial", 0, 3, {5, 6, 7, 8}, 2);
  });
  EXPECT_EQ(load_error(stream), "section 'serial' instance 0 sent twice");
}

TEST(IncomingLoader, ABadFooterNamesItsSection) {
  auto stream = minimal(nullptr, [](savevm::Writer& w, StreamWriter& out) {
    w.begin_section({savevm::kSectionFull, 1, "serial", 0, 3});
    out.put_buffer(std::vector<uint8_t>{1, 2, 3, 4});
    w.end_section(9);
  });
  EXPECT_EQ(load_error(stream), "mismatched section id in footer for serial: read 9, expected 1");
  // One byte too many in the device's state: the footer is not where it should be.
  stream = minimal(nullptr, [](savevm::Writer& w, StreamWriter& out) {
    device(w, out, "serial", 0, 3, {1, 2, 3, 4, 5});
  });
  EXPECT_EQ(load_error(stream), "missing section footer for serial");
  stream = minimal([](savevm::Writer& w, StreamWriter& out) {
    ram_start(w, out);
    w.begin_section({savevm::kSectionEnd, 0, "", 0, 0});
    out.put_be64(ram_flag::kEos);
    w.end_section(3);
  });
  EXPECT_EQ(load_error(stream), "mismatched section id in footer for ram: read 3, expected 0");
}

TEST(IncomingLoader, SectionTypesAPrecopyStreamNeverHoldsAreRefused) {
  for (uint8_t type :
       {uint8_t{savevm::kCommand}, uint8_t{savevm::kSubsection}, uint8_t{savevm::kConfiguration}, uint8_t{0x99}}) {
    const auto stream = minimal([=](savevm::Writer& w, StreamWriter& out) {
      ram_start(w, out);
      out.put_u8(type);
    });
    EXPECT_THAT(load_error(stream), HasSubstr("unexpected section type 0x")) << "type " << static_cast<int>(type);
  }
  const auto stream = minimal([](savevm::Writer& w, StreamWriter& out) {
    ram_start(w, out);
    out.put_u8(savevm::kCommand);
  });
  EXPECT_THAT(load_error(stream), HasSubstr("unexpected section type 0x8 (COMMAND) at stream byte "));
}

TEST(IncomingLoader, AfterEofOnlyAValidDescriptionMayFollow) {
  const auto with_tail = [](std::vector<uint8_t> tail) {
    auto stream = build([](savevm::Writer& w, StreamWriter& out) {
      w.write_header(kMachine);
      ram_start(w, out);
      ram_end(w, out);
      device(w, out, "serial", 0, 3, {1, 2, 3, 4});
      out.put_u8(savevm::kEof);
    });
    stream.insert(stream.end(), tail.begin(), tail.end());
    return stream;
  };
  EXPECT_EQ(load_error(with_tail({})), "");
  EXPECT_EQ(load_error(with_tail({savevm::kEof})), "after EOF: expected the description, found section type 0x0");
  EXPECT_EQ(load_error(with_tail({savevm::kVmDescription, 0, 0, 0, 3, '{', '"', '}'})),
            "description is not valid JSON");
  EXPECT_EQ(load_error(with_tail({savevm::kVmDescription, 0x7f, 0, 0, 0})),
            "description length 2130706432 is too long");
  EXPECT_EQ(load_error(with_tail({savevm::kVmDescription, 0, 0, 0, 2, '{', '}'})), "");
}

TEST(IncomingLoader, ADeviceCutShortNamesTheDevice) {
  // The stream ends two bytes into the serial device's four.
  const auto stream = build([](savevm::Writer& w, StreamWriter& out) {
    w.write_header(kMachine);
    ram_start(w, out);
    ram_end(w, out);
    w.begin_section({savevm::kSectionFull, 1, "serial", 0, 3});
    out.put_buffer(std::vector<uint8_t>{1, 2});
  });
  FakeVm vm({serial()});
  EXPECT_EQ(load_error(stream, vm), "loading section 'serial' instance 0: stream ended early at byte " +
                                        std::to_string(stream.size()) + " (2 more bytes expected)");
  EXPECT_EQ(vm.state(0), std::vector<uint8_t>(4, 0));  // left as it was
}

}  // namespace
}  // namespace godwit
