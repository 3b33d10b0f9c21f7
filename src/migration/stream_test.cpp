#include <gtest/gtest.h>

#include "migration/stream_reader.hpp"
#include "migration/stream_writer.hpp"

namespace godwit {
namespace {

class FailingSink : public ByteSink {
 public:
  Status write_all(std::span<const uint8_t>) override { return fail("connection reset by peer"); }
};

class FailingSource : public ByteSource {
 public:
  Result<size_t> read_some(std::span<uint8_t>) override { return fail("connection reset by peer"); }
};

// Hands out one byte per call, as a slow socket might.
class TrickleSource : public ByteSource {
 public:
  explicit TrickleSource(std::vector<uint8_t> data) : data_(std::move(data)) {}
  Result<size_t> read_some(std::span<uint8_t> buffer) override {
    if (position_ == data_.size() || buffer.empty()) return size_t{0};
    buffer[0] = data_[position_++];
    return size_t{1};
  }

 private:
  std::vector<uint8_t> data_;
  size_t position_ = 0;
};

TEST(Stream, PrimitivesRoundTripBigEndian) {
  MemorySink sink;
  StreamWriter out(sink, 16);  // small buffer: exercises flushing
  out.put_u8(0xab);
  out.put_be16(0x1234);
  out.put_be32(0x5145564d);
  out.put_be64(0x0102030405060708);
  out.put_short_string("ram");
  std::vector<uint8_t> page(4096, 0x5a);
  out.put_buffer(page);
  ASSERT_TRUE(out.flush());
  EXPECT_EQ(out.bytes_written(), 1 + 2 + 4 + 8 + 4 + 4096u);
  EXPECT_EQ(sink.data()[3], 0x51);  // "QEVM" starts at byte 3

  TrickleSource source(sink.data());
  StreamReader in(source, 64);
  EXPECT_EQ(in.get_u8(), 0xab);
  EXPECT_EQ(in.get_be16(), 0x1234);
  EXPECT_EQ(in.peek(4).size(), 4u);
  EXPECT_EQ(in.get_be32(), 0x5145564du);
  EXPECT_EQ(in.get_be64(), 0x0102030405060708u);
  EXPECT_EQ(in.get_short_string(), "ram");
  std::vector<uint8_t> back(4096);
  in.get_buffer(back);
  EXPECT_EQ(back, page);
  EXPECT_TRUE(in.at_end());
  EXPECT_TRUE(in.status());
  EXPECT_EQ(in.offset(), out.bytes_written());
}

TEST(Stream, ExternalBytesKeepTheirPlaceAmongBufferedOnes) {
  MemorySink sink;
  StreamWriter out(sink, 64);
  std::vector<uint8_t> expected;
  std::vector<std::vector<uint8_t>> pages;
  // More parts than one flush takes, and buffered runs filling the buffer.
  for (int i = 0; i < 3000; ++i) {
    out.put_be32(static_cast<uint32_t>(i));
    for (int b = 3; b >= 0; --b) expected.push_back(static_cast<uint8_t>(i >> (8 * b)));
    pages.emplace_back(static_cast<size_t>(1 + i % 7), static_cast<uint8_t>(i));
  }
  // The external spans must stay valid until the flush: `pages` holds them.
  MemorySink sink2;
  StreamWriter out2(sink2, 64);
  std::vector<uint8_t> expected2;
  for (int i = 0; i < 3000; ++i) {
    out2.put_u8(0xee);
    out2.put_external(pages[static_cast<size_t>(i)]);
    expected2.push_back(0xee);
    expected2.insert(expected2.end(), pages[static_cast<size_t>(i)].begin(), pages[static_cast<size_t>(i)].end());
  }
  ASSERT_TRUE(out.flush());
  ASSERT_TRUE(out2.flush());
  EXPECT_EQ(sink.data(), expected);
  EXPECT_EQ(sink2.data(), expected2);
  EXPECT_EQ(out2.bytes_written(), expected2.size());
}

TEST(Stream, ReadingPastTheEndIsAStickyErrorWithTheOffset) {
  const std::vector<uint8_t> bytes = {0, 0, 1};
  MemorySource source(bytes);
  StreamReader in(source);
  EXPECT_EQ(in.get_be32(), 0u);
  ASSERT_FALSE(in.status());
  EXPECT_EQ(in.status().error().message(), "stream ended early at byte 3 (1 more bytes expected)");
  EXPECT_EQ(in.get_u8(), 0u);  // later reads return zeros
}

TEST(Stream, SourceErrorsCarryContext) {
  FailingSource source;
  StreamReader in(source);
  in.get_u8();
  ASSERT_FALSE(in.status());
  EXPECT_EQ(in.status().error().message(), "reading the stream at byte 0: connection reset by peer");
}

TEST(Stream, SinkErrorsAreStickyAndReported) {
  FailingSink sink;
  StreamWriter out(sink, 8);
  out.put_be64(1);
  out.put_be64(2);  // forces a flush, which fails
  out.put_be64(3);
  ASSERT_FALSE(out.status());
  EXPECT_EQ(out.status().error().message(), "connection reset by peer");
  EXPECT_FALSE(out.flush());
}

TEST(Stream, PeekDoesNotConsumeAndStopsAtTheEnd) {
  const std::vector<uint8_t> bytes = {5, 6};
  MemorySource source(bytes);
  StreamReader in(source);
  EXPECT_EQ(in.peek(8).size(), 2u);
  EXPECT_EQ(in.get_u8(), 5);
  EXPECT_EQ(in.peek(1)[0], 6);
  EXPECT_TRUE(in.status());
}

}  // namespace
}  // namespace godwit
