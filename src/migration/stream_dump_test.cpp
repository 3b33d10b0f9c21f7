#include "migration/stream_dump.hpp"

#include <gtest/gtest.h>

#include "migration/device_section.hpp"
#include "migration/ram_section.hpp"
#include "migration/vmstate.hpp"

namespace godwit {
namespace {

struct Uart {
  static constexpr VMStateInfo kVMState{"serial", 1, 1};
  uint16_t divider = 12;
  int8_t offset = -3;
  bool enabled = true;
  std::array<uint32_t, 2> pair{5, 6};
  std::array<uint8_t, 3> fifo{0xa, 0xb, 0xc};
  uint8_t extra = 9;
  template <class V>
  void visit_state(V& v) {
    v.field("divider", divider);
    v.field("offset", offset);
    v.field("enabled", enabled);
    v.field("pair", pair);
    v.field("fifo", fifo);
    v.subsection("serial/extra", 1, true, [&](auto& s) { s.field("extra", extra); });
  }
};

// A stream as a precopy migration writes it: RAM START and END chunks around
// the device state, then EOF and the description.
std::vector<uint8_t> make_stream(bool with_description = true) {
  Uart uart;
  MemorySink sink;
  StreamWriter out(sink);
  savevm::Writer writer(out);
  writer.write_header("virt");
  writer.begin_section({savevm::kSectionStart, 0, "ram", 0, 4});
  out.put_be64(2 * kRamPageSize | ram_flag::kMemSize);
  out.put_short_string("mem");
  out.put_be64(2 * kRamPageSize);
  out.put_be64(ram_flag::kEos);
  writer.end_section(0);
  writer.begin_section({savevm::kSectionPart, 0, "", 0, 0});
  out.put_be64(0 | ram_flag::kPage);
  out.put_short_string("mem");
  out.put_buffer(std::vector<uint8_t>(kRamPageSize, 0x77));
  out.put_be64(kRamPageSize | ram_flag::kZero | ram_flag::kContinue);
  out.put_u8(0);
  out.put_be64(ram_flag::kEos);
  writer.end_section(0);
  writer.begin_section({savevm::kSectionEnd, 0, "", 0, 0});
  out.put_be64(ram_flag::kEos);
  writer.end_section(0);
  uint32_t next_id = 1;
  nlohmann::json devices = nlohmann::json::array();
  std::vector<DeviceSection> sections = {{"serial", 0, 1, [&](StreamWriter& w) { save_state(w, uart); },
                                          nullptr, [&] { return describe_state(uart); }}};
  write_device_sections(writer, sections, next_id, &devices);
  if (with_description) {
    writer.write_eof({{"page_size", 4096}, {"devices", devices}});
  } else {
    out.put_u8(savevm::kEof);
  }
  EXPECT_TRUE(out.flush());
  return sink.data();
}

TEST(StreamDump, WalksSectionsCountsRamAndDecodesFields) {
  auto dump = dump_stream(make_stream());
  ASSERT_TRUE(dump) << dump.error().message();
  EXPECT_EQ((*dump)["machine"], "virt");
  EXPECT_EQ((*dump)["version"], 3);
  const auto& sections = (*dump)["sections"];
  ASSERT_EQ(sections.size(), 4u);
  EXPECT_EQ(sections[0]["type"], "START");
  EXPECT_EQ(sections[1]["type"], "PART");
  EXPECT_EQ(sections[1]["name"], "ram");  // PART names come from the START
  EXPECT_EQ(sections[3]["name"], "serial");
  const auto& fields = sections[3]["fields"];
  EXPECT_EQ(fields["divider"], 12);
  EXPECT_EQ(fields["offset"], -3);
  EXPECT_EQ(fields["enabled"], true);
  EXPECT_EQ(fields["pair"], (nlohmann::json{5, 6}));
  EXPECT_EQ(fields["fifo"], "0a0b0c");
  EXPECT_EQ(fields["serial/extra"]["extra"], 9);
  const auto& ram = (*dump)["ram"]["blocks"]["mem"];
  EXPECT_EQ(ram["length"], 2 * kRamPageSize);
  EXPECT_EQ(ram["pages"], 1);
  EXPECT_EQ(ram["zero_pages"], 1);

  const std::string text = format_stream_dump(*dump, true);
  EXPECT_NE(text.find("machine virt, with description"), std::string::npos) << text;
  EXPECT_NE(text.find("ram block mem: 8192 bytes, 1 pages sent, 1 zero pages"), std::string::npos) << text;
  EXPECT_NE(text.find("divider = 12"), std::string::npos) << text;
}

TEST(StreamDump, DeviceSectionsNeedTheDescription) {
  auto dump = dump_stream(make_stream(false));
  ASSERT_FALSE(dump);
  EXPECT_NE(dump.error().message().find("section 'serial' instance 0"), std::string::npos) << dump.error().message();
}

TEST(StreamDump, NotAStream) {
  const std::vector<uint8_t> junk = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  auto dump = dump_stream(junk);
  ASSERT_FALSE(dump);
  EXPECT_EQ(dump.error().message(), "not a migration stream (bad magic 0x1020304)");
}

TEST(StreamDump, TruncatedStreamSaysWhere) {
  auto bytes = make_stream();
  bytes.resize(60);
  auto dump = dump_stream(bytes);
  ASSERT_FALSE(dump);
  EXPECT_NE(dump.error().message().find("stream ended early"), std::string::npos) << dump.error().message();
}

}  // namespace
}  // namespace godwit
