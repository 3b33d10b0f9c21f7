// Buffered writer of QEMU's migration stream primitives (QEMUFile's put_*):
// big-endian integers, raw buffers, and u8-length-prefixed names.
//
// Errors are sticky: after the first failed flush every later call is a
// no-op and status() reports it, so a save routine can write a whole
// section and check once, as QEMU's qemu_file_get_error() does.
//
// Threads: owned by one thread at a time (the migration thread).
#pragma once

#include <sys/uio.h>

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
    parts_.reserve(kMaxParts);
  }
  ~StreamWriter() = default;
  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;

  void put_u8(uint8_t v) { put_bytes(&v, 1); }
  void put_be16(uint16_t v);
  void put_be32(uint32_t v);
  void put_be64(uint64_t v);
  void put_buffer(std::span<const uint8_t> bytes);
  // Bytes that stay valid until the next flush(), sent from where they are
  // without a copy (guest RAM pages). They are read when the writer
  // flushes, not now: a caller that may see them change meanwhile must be
  // content with either version (the dirty log sends a changed page again).
  void put_external(std::span<const uint8_t> bytes);
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

  // Parts handed to the sink in one call: at most this many, and at most
  // this many external bytes, before a flush.
  static constexpr size_t kMaxParts = 1024;
  static constexpr size_t kMaxExternalBytes = 4u << 20;

  ByteSink& sink_;
  // Never grows past its reserved capacity, so parts_ may point into it.
  std::vector<uint8_t> buffer_;
  std::vector<iovec> parts_;  // buffered runs and external spans, in order
  size_t external_bytes_ = 0;
  uint64_t total_ = 0;
  std::optional<Error> error_;
};

}  // namespace godwit
