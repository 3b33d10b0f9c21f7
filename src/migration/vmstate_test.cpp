#include "migration/vmstate.hpp"

#include <gtest/gtest.h>

namespace godwit {
namespace {

enum class Mode : uint8_t { kOff = 0, kOn = 1, kAuto = 2 };

struct Inner {
  static constexpr VMStateInfo kVMState{"inner", 1, 1};
  uint16_t a = 0;
  std::array<uint32_t, 2> b{};
  template <class V>
  void visit_state(V& v) {
    v.field("a", a);
    v.field("b", b);
  }
};

// Version 2 added `late`; the subsection carries `extra` only when needed.
struct Outer {
  static constexpr VMStateInfo kVMState{"outer", 2, 1};
  uint32_t x = 0;
  int64_t y = 0;
  bool flag = false;
  Mode mode = Mode::kOff;
  Inner inner;
  std::array<uint8_t, 4> raw{};
  uint64_t late = 0;
  uint32_t harts = 4;
  uint32_t extra = 0;
  bool need_extra = false;

  template <class V>
  void visit_state(V& v) {
    v.field("x", x);
    v.field("y", y);
    v.field("flag", flag);
    v.field("mode", mode);
    v.field("inner", inner);
    v.field("raw", raw);
    v.equal("harts", harts);
    v.since(2).field("late", late);
    v.subsection("outer/extra", 1, need_extra, [&](auto& sub) { sub.field("extra", extra); });
  }
};

Outer sample() {
  Outer o;
  o.x = 0x11223344;
  o.y = -2;
  o.flag = true;
  o.mode = Mode::kAuto;
  o.inner.a = 0xbeef;
  o.inner.b = {1, 0xffffffff};
  o.raw = {9, 8, 7, 6};
  o.late = 0x0102030405060708;
  o.extra = 77;
  o.need_extra = true;
  return o;
}

std::vector<uint8_t> save(Outer& o) {
  MemorySink sink;
  StreamWriter out(sink);
  save_state(out, o);
  EXPECT_TRUE(out.flush());
  return sink.data();
}

Status load(const std::vector<uint8_t>& bytes, Outer& o, uint32_t version) {
  MemorySource source(bytes);
  StreamReader in(source);
  return load_state(in, o, version);
}

TEST(VMState, WireFormatIsQemusBigEndianFieldsInOrder) {
  Outer o = sample();
  o.need_extra = false;
  const auto bytes = save(o);
  const std::vector<uint8_t> expected = {
      0x11, 0x22, 0x33, 0x44,                          // x
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,  // y = -2
      0x01,                                            // flag
      0x02,                                            // mode
      0xbe, 0xef, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff,  // inner: a, b[2]
      9, 8, 7, 6,                                      // raw
      0, 0, 0, 4,                                      // harts (equal)
      1, 2, 3, 4, 5, 6, 7, 8,                          // late
  };
  EXPECT_EQ(bytes, expected);
}

TEST(VMState, SubsectionIsMarkedNamedAndVersioned) {
  Outer o = sample();
  const auto bytes = save(o);
  const std::vector<uint8_t> tail(bytes.end() - (2 + 11 + 4 + 4), bytes.end());
  std::vector<uint8_t> expected = {0x05, 11};
  for (char c : std::string("outer/extra")) expected.push_back(static_cast<uint8_t>(c));
  expected.insert(expected.end(), {0, 0, 0, 1, 0, 0, 0, 77});
  EXPECT_EQ(tail, expected);
}

TEST(VMState, RoundTripRestoresEveryField) {
  Outer o = sample();
  const auto bytes = save(o);
  Outer loaded;
  ASSERT_TRUE(load(bytes, loaded, 2));
  EXPECT_EQ(loaded.x, o.x);
  EXPECT_EQ(loaded.y, o.y);
  EXPECT_EQ(loaded.flag, o.flag);
  EXPECT_EQ(loaded.mode, o.mode);
  EXPECT_EQ(loaded.inner.a, o.inner.a);
  EXPECT_EQ(loaded.inner.b, o.inner.b);
  EXPECT_EQ(loaded.raw, o.raw);
  EXPECT_EQ(loaded.late, o.late);
  EXPECT_EQ(loaded.extra, 77u);
}

TEST(VMState, AbsentSubsectionLeavesTheDefault) {
  Outer o = sample();
  o.need_extra = false;
  Outer loaded;
  loaded.extra = 5;
  ASSERT_TRUE(load(save(o), loaded, 2));
  EXPECT_EQ(loaded.extra, 5u);
}

TEST(VMState, OlderStreamSkipsFieldsAddedLater) {
  // A version-1 stream is the version-2 one without `late`.
  Outer o = sample();
  o.need_extra = false;
  auto bytes = save(o);
  bytes.erase(bytes.end() - 8, bytes.end());
  Outer loaded;
  loaded.late = 42;
  ASSERT_TRUE(load(bytes, loaded, 1));
  EXPECT_EQ(loaded.late, 42u);
  EXPECT_EQ(loaded.x, o.x);
}

TEST(VMState, RefusesVersionsOutsideTheSupportedRange) {
  Outer o = sample();
  const auto bytes = save(o);
  Outer loaded;
  auto status = load(bytes, loaded, 3);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message(), "outer: stream version 3 is newer than this godwit's 2");
  status = load(bytes, loaded, 0);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message().find("older than the oldest"), std::string::npos);
}

TEST(VMState, TruncatedStreamNamesTheField) {
  Outer o = sample();
  auto bytes = save(o);
  bytes.resize(15);  // ends inside inner.a
  Outer loaded;
  auto status = load(bytes, loaded, 2);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message().find("outer/inner: field a"), std::string::npos) << status.error().message();
  EXPECT_NE(status.error().message().find("stream ended early"), std::string::npos);
}

TEST(VMState, EqualFieldMustMatchThisMachine) {
  Outer o = sample();
  const auto bytes = save(o);
  Outer loaded;
  loaded.harts = 2;
  auto status = load(bytes, loaded, 2);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message(), "outer: field harts: stream has 4, this machine has 2");
}

TEST(VMState, InvalidBoolIsRejected) {
  Outer o = sample();
  auto bytes = save(o);
  bytes[12] = 7;  // flag
  Outer loaded;
  auto status = load(bytes, loaded, 2);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message().find("field flag: invalid bool 7"), std::string::npos) << status.error().message();
}

TEST(VMState, UnknownSubsectionOfThisDeviceFails) {
  Outer o = sample();
  o.need_extra = false;
  auto bytes = save(o);
  bytes.push_back(0x05);
  const std::string name = "outer/future";
  bytes.push_back(static_cast<uint8_t>(name.size()));
  bytes.insert(bytes.end(), name.begin(), name.end());
  bytes.insert(bytes.end(), {0, 0, 0, 1});
  Outer loaded;
  auto status = load(bytes, loaded, 2);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message().find("unknown subsection 'outer/future'"), std::string::npos);
}

TEST(VMState, NewerSubsectionVersionFails) {
  Outer o = sample();
  auto bytes = save(o);
  bytes[bytes.size() - 5] = 9;  // subsection version 1 -> 9
  Outer loaded;
  auto status = load(bytes, loaded, 2);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message().find("outer/extra: subsection version 9"), std::string::npos)
      << status.error().message();
}

TEST(VMState, DescriptionMatchesQemusVmdescShape) {
  Outer o = sample();
  const nlohmann::json desc = describe_state(o);
  EXPECT_EQ(desc["vmsd_name"], "outer");
  EXPECT_EQ(desc["version"], 2);
  const auto& fields = desc["fields"];
  ASSERT_EQ(fields.size(), 8u);
  EXPECT_EQ(fields[0], (nlohmann::json{{"name", "x"}, {"type", "uint32"}, {"size", 4}}));
  EXPECT_EQ(fields[1]["type"], "int64");
  EXPECT_EQ(fields[2]["type"], "bool");
  EXPECT_EQ(fields[3]["type"], "uint8");  // enum: its underlying type
  EXPECT_EQ(fields[4]["type"], "struct");
  EXPECT_EQ(fields[4]["struct"]["vmsd_name"], "inner");
  EXPECT_EQ(fields[4]["struct"]["fields"][1]["array_len"], 2);
  EXPECT_EQ(fields[5], (nlohmann::json{{"name", "raw"}, {"type", "buffer"}, {"size", 4}}));
  EXPECT_EQ(fields[6]["type"], "uint32 equal");
  EXPECT_EQ(desc["subsections"][0]["vmsd_name"], "outer/extra");
}

}  // namespace
}  // namespace godwit
