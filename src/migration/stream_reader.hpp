// Buffered reader of QEMU's migration stream primitives (QEMUFile's get_*).
//
// Errors are sticky like the writer's: a read past the end of the stream or
// a failing source sets the error once, later reads return zeros, and
// status() names what failed and the stream offset. Callers check status()
// at points where a wrong value would do harm (before trusting a length,
// before applying state).
//
// Threads: owned by one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <memory>
#include <string>
#include <vector>

#include "migration/byte_channel.hpp"

namespace godwit {

class StreamReader {
 public:
  // The buffer is not cleared: a destination builds its reader inside the
  // guest pause, and zeroing megabytes it may never use costs ~0.5 ms.
  explicit StreamReader(ByteSource& source, size_t buffer_bytes = 256 * 1024)
      : source_(source), buffer_(new uint8_t[buffer_bytes]), buffer_size_(buffer_bytes) {}
  StreamReader(const StreamReader&) = delete;
  StreamReader& operator=(const StreamReader&) = delete;

  uint8_t get_u8();
  uint16_t get_be16();
  uint32_t get_be32();
  uint64_t get_be64();
  // Fills `out` completely or fails.
  void get_buffer(std::span<uint8_t> out);
  // u8 length then that many bytes.
  std::string get_short_string();

  // Looks at the next `count` bytes (count <= 256) without consuming them;
  // returns fewer only at the end of the stream. Never sets the error.
  std::span<const uint8_t> peek(size_t count);
  bool at_end();

  // Records a failure found by the caller (a bad value), keeping the first.
  void fail_with(const std::string& message);
  bool failed() const { return error_.has_value(); }
  Status status() const;
  // Bytes consumed so far: where the next read starts.
  uint64_t offset() const { return consumed_; }

 private:
  // Ensures at least `count` buffered bytes unless the stream ends first.
  bool fill(size_t count);

  ByteSource& source_;
  std::unique_ptr<uint8_t[]> buffer_;
  size_t buffer_size_;
  size_t begin_ = 0;  // first unread byte in buffer_
  size_t end_ = 0;    // one past the last buffered byte
  bool source_done_ = false;
  uint64_t consumed_ = 0;
  std::optional<Error> error_;
};

}  // namespace godwit
