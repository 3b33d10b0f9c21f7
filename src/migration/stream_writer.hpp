// Buffered writer of QEMU's migration stream primitives (QEMUFile's put_*):
// big-endian integers, raw buffers, and u8-length-prefixed names.
//
// Errors are sticky: after the first failed flush every later call is a
// no-op and status() reports it, so a save routine can write a whole
// section and check once, as QEMU's qemu_file_get_error() does.
//
// Threads: owned by one thread at a time (the migration thread).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "migration/byte_channel.hpp"

namespace godwit {

class StreamWriter {
 public:
  explicit StreamWriter(ByteSink& sink, size_t buffer_bytes = 256 * 1024) : sink_(sink) {
    buffer_.reserve(buffer_bytes);
  }
  ~StreamWriter() = default;
  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;

  void put_u8(uint8_t v) { put_bytes(&v, 1); }
  void put_be16(uint16_t v);
  void put_be32(uint32_t v);
  void put_be64(uint64_t v);
  void put_buffer(std::span<const uint8_t> bytes);
  // u8 length then the bytes, as section idstrs and RAM block names are sent.
  // Names longer than 255 bytes are a bug in the caller.
  void put_short_string(std::string_view text);

  // Hands buffered bytes to the sink.
  Status flush();
  // The first error, if any, or success.
  Status status() const;
  // Bytes accepted so far (buffered or flushed).
  uint64_t bytes_written() const { return total_; }

 private:
  void put_bytes(const void* data, size_t size);

  ByteSink& sink_;
  std::vector<uint8_t> buffer_;
  uint64_t total_ = 0;
  std::optional<Error> error_;
};

}  // namespace godwit
