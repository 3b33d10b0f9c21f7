#include "migration/stream_reader.hpp"

#include <algorithm>
#include <cstring>

namespace godwit {

bool StreamReader::fill(size_t count) {
  if (end_ - begin_ >= count) return true;
  if (begin_ > 0) {
    std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  while (end_ < count && !source_done_) {
    auto n = source_.read_some({buffer_.get() + end_, buffer_size_ - end_});
    if (!n) {
      if (!error_) error_ = std::move(n.error()).context("reading the stream at byte " + std::to_string(consumed_));
      source_done_ = true;
      break;
    }
    if (*n == 0) source_done_ = true;
    end_ += *n;
  }
  return end_ - begin_ >= count;
}

void StreamReader::get_buffer(std::span<uint8_t> out) {
  if (error_) {
    std::fill(out.begin(), out.end(), 0);
    return;
  }
  size_t done = 0;
  while (done < out.size()) {
    if (begin_ == end_ && !fill(1)) {
      std::fill(out.begin(), out.end(), 0);  // no half values
      fail_with("stream ended early at byte " + std::to_string(consumed_) + " (" + std::to_string(out.size() - done) +
                " more bytes expected)");
      return;
    }
    const size_t n = std::min(out.size() - done, end_ - begin_);
    std::memcpy(out.data() + done, buffer_.get() + begin_, n);
    begin_ += n;
    done += n;
    consumed_ += n;
  }
}

uint8_t StreamReader::get_u8() {
  uint8_t b = 0;
  get_buffer({&b, 1});
  return b;
}

uint16_t StreamReader::get_be16() {
  uint8_t b[2];
  get_buffer(b);
  return static_cast<uint16_t>(b[0] << 8 | b[1]);
}

uint32_t StreamReader::get_be32() {
  uint8_t b[4];
  get_buffer(b);
  return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
}

uint64_t StreamReader::get_be64() {
  const uint64_t high = get_be32();
  return high << 32 | get_be32();
}

std::string StreamReader::get_short_string() {
  const uint8_t length = get_u8();
  std::string text(length, '\0');
  get_buffer({reinterpret_cast<uint8_t*>(text.data()), text.size()});
  return text;
}

std::span<const uint8_t> StreamReader::peek(size_t count) {
  count = std::min<size_t>(count, 256);
  if (error_) return {};
  fill(count);
  return {buffer_.get() + begin_, std::min(count, end_ - begin_)};
}

bool StreamReader::at_end() { return peek(1).empty(); }

void StreamReader::fail_with(const std::string& message) {
  if (!error_) error_ = Error(message);
}

Status StreamReader::status() const {
  if (error_) return std::unexpected(*error_);
  return {};
}

}  // namespace godwit
