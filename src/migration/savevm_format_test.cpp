#include "migration/savevm_format.hpp"

#include <gtest/gtest.h>

#include "migration/device_section.hpp"
#include "migration/vmstate.hpp"

namespace godwit {
namespace {

struct Counter {
  static constexpr VMStateInfo kVMState{"counter", 2, 1};
  uint32_t value = 0;
  template <class V>
  void visit_state(V& v) {
    v.field("value", value);
  }
};

class SavevmTest : public ::testing::Test {
 protected:
  std::vector<DeviceSection> sections_for(std::vector<Counter>& counters) {
    std::vector<DeviceSection> sections;
    for (uint32_t i = 0; i < counters.size(); ++i) {
      Counter* c = &counters[i];
      sections.push_back({"counter", i, Counter::kVMState.version_id,
                          [c](StreamWriter& out) { save_state(out, *c); },
                          [c](StreamReader& in, uint32_t version) { return load_state(in, *c, version); },
                          [c] { return describe_state(*c); }});
    }
    return sections;
  }

  std::vector<uint8_t> write_stream(std::vector<Counter>& counters, std::string_view machine = "virt") {
    MemorySink sink;
    StreamWriter out(sink);
    savevm::Writer writer(out);
    writer.write_header(machine);
    uint32_t next_id = 0;
    nlohmann::json devices = nlohmann::json::array();
    write_device_sections(writer, sections_for(counters), next_id, &devices);
    writer.write_eof({{"page_size", savevm::kPageSize}, {"devices", devices}});
    EXPECT_TRUE(out.flush());
    return sink.data();
  }

  // Loads every section into `counters`; returns the first error.
  Status read_stream(const std::vector<uint8_t>& bytes, std::vector<Counter>& counters, nlohmann::json* desc = nullptr) {
    MemorySource source(bytes);
    StreamReader in(source);
    savevm::Reader reader(in);
    if (auto s = reader.read_header("virt"); !s) return s;
    const auto sections = sections_for(counters);
    for (;;) {
      auto header = reader.read_section_header();
      if (!header) return std::unexpected(header.error());
      if (header->type == savevm::kEof) break;
      if (auto s = load_device_section(reader, *header, sections); !s) return s;
    }
    auto description = reader.read_description();
    if (!description) return std::unexpected(description.error());
    if (desc != nullptr) *desc = *description;
    return {};
  }
};

TEST_F(SavevmTest, HeaderAndSectionsFollowQemusLayout) {
  std::vector<Counter> counters = {{7}};
  const auto bytes = write_stream(counters);
  const std::vector<uint8_t> expected_start = {
      0x51, 0x45, 0x56, 0x4d, 0, 0, 0, 3,                   // QEVM, version 3
      0x07, 0, 0, 0, 4, 'v', 'i', 'r', 't',                 // configuration: machine type
      0x04, 0, 0, 0, 0, 7, 'c', 'o', 'u', 'n', 't', 'e', 'r',  // FULL, id 0, idstr
      0, 0, 0, 0, 0, 0, 0, 2,                               // instance 0, version 2
      0, 0, 0, 7,                                           // body
      0x7e, 0, 0, 0, 0,                                     // footer
      0x00,                                                 // EOF
      0x06,                                                 // vmdesc follows
  };
  ASSERT_GE(bytes.size(), expected_start.size());
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<long>(expected_start.size())),
            expected_start);
}

TEST_F(SavevmTest, RoundTripWithDescription) {
  std::vector<Counter> counters = {{7}, {9}};
  const auto bytes = write_stream(counters);
  std::vector<Counter> loaded(2);
  nlohmann::json desc;
  ASSERT_TRUE(read_stream(bytes, loaded, &desc));
  EXPECT_EQ(loaded[0].value, 7u);
  EXPECT_EQ(loaded[1].value, 9u);
  EXPECT_EQ(desc["page_size"], 4096);
  EXPECT_EQ(desc["devices"][1]["name"], "counter");
  EXPECT_EQ(desc["devices"][1]["instance_id"], 1);
  EXPECT_EQ(desc["devices"][1]["fields"][0]["name"], "value");
}

TEST_F(SavevmTest, BadMagicVersionAndMachineAreRefused) {
  std::vector<Counter> counters = {{7}};
  auto bytes = write_stream(counters);
  std::vector<Counter> loaded(1);

  auto bad = bytes;
  bad[0] = 0x00;
  EXPECT_EQ(read_stream(bad, loaded).error().message(), "not a migration stream (bad magic 0x45564d)");
  bad = bytes;
  bad[7] = 2;
  EXPECT_EQ(read_stream(bad, loaded).error().message(), "unsupported migration stream version 2");
  EXPECT_EQ(read_stream(write_stream(counters, "spike"), loaded).error().message(),
            "configuration: machine type mismatch: the stream is from 'spike', this machine is 'virt'");
}

TEST_F(SavevmTest, UnknownSectionsAndInstancesAreNamed) {
  std::vector<Counter> counters = {{1}, {2}};
  const auto bytes = write_stream(counters);
  std::vector<Counter> fewer(1);
  auto status = read_stream(bytes, fewer);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message(), "unknown savevm section 'counter' instance 1 (this machine has no such device)");
}

TEST_F(SavevmTest, FooterIsChecked) {
  std::vector<Counter> counters = {{7}};
  auto bytes = write_stream(counters);
  auto bad = bytes;
  bad[42] = 0x00;  // footer marker
  std::vector<Counter> loaded(1);
  EXPECT_EQ(read_stream(bad, loaded).error().message(), "missing section footer for counter");
  bad = bytes;
  bad[46] = 5;  // footer id
  EXPECT_EQ(read_stream(bad, loaded).error().message(),
            "mismatched section id in footer for counter: read 5, expected 0");
}

TEST_F(SavevmTest, TruncatedBodyNamesSectionAndField) {
  std::vector<Counter> counters = {{7}};
  auto bytes = write_stream(counters);
  bytes.resize(40);  // inside the counter's body
  std::vector<Counter> loaded(1);
  auto status = read_stream(bytes, loaded);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message().find("loading section 'counter' instance 0: counter: field value: stream ended early"),
            std::string::npos)
      << status.error().message();
}

TEST_F(SavevmTest, UnexpectedSectionTypeIsRefused) {
  std::vector<Counter> counters = {{7}};
  auto bytes = write_stream(counters);
  bytes[17] = 0x42;
  std::vector<Counter> loaded(1);
  EXPECT_EQ(read_stream(bytes, loaded).error().message(), "unexpected section type 0x42 (unknown) at stream byte 17");
}

// The capabilities that change the layout travel in the configuration's
// "configuration/capabilities" subsection, as QEMU's, and must match.
Status read_with(const std::vector<std::string>& written, const std::vector<std::string>& here) {
  MemorySink sink;
  StreamWriter out(sink);
  savevm::Writer(out).write_header("virt", written);
  out.put_u8(savevm::kEof);
  EXPECT_TRUE(out.flush());
  MemorySource source(sink.data());
  StreamReader in(source);
  savevm::Reader reader(in);
  if (auto s = reader.read_header("virt", here); !s) return s;
  auto next = reader.read_section_header();
  if (!next) return std::unexpected(next.error());
  EXPECT_EQ(next->type, savevm::kEof);
  return {};
}

TEST(SavevmCapabilities, TheConfigurationNamesXIgnoreSharedAndBothSidesMustAgree) {
  MemorySink sink;
  StreamWriter out(sink);
  savevm::Writer(out).write_header("virt", {"x-ignore-shared"});
  ASSERT_TRUE(out.flush());
  const std::vector<uint8_t>& bytes = sink.data();
  const std::string tail(bytes.end() - 52, bytes.end());
  EXPECT_EQ(tail, std::string("\x05\x1a") + "configuration/capabilities" + std::string("\0\0\0\x01\0\0\0\x01\x0f", 9) +
                      "x-ignore-shared");

  EXPECT_TRUE(read_with({"x-ignore-shared"}, {"x-ignore-shared"}));
  EXPECT_TRUE(read_with({}, {}));
  auto off_here = read_with({"x-ignore-shared"}, {});
  ASSERT_FALSE(off_here);
  EXPECT_EQ(off_here.error().message(), "configuration: Capability x-ignore-shared is off, but received capability is on");
  auto on_here = read_with({}, {"x-ignore-shared"});
  ASSERT_FALSE(on_here);
  EXPECT_EQ(on_here.error().message(), "configuration: Capability x-ignore-shared is on, but received capability is off");
  auto unknown = read_with({"mapped-ram"}, {});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message(), "configuration: Received unknown capability mapped-ram");
}

}  // namespace
}  // namespace godwit
