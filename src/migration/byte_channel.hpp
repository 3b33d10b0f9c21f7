// Where a migration stream's bytes go to and come from: a socket, a pipe, a
// file, or memory. Transports implement these; the stream reader and writer
// add buffering and QEMU's big-endian encoding on top.
#pragma once

#include <sys/uio.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/error.hpp"

namespace godwit {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  // Writes all of `bytes` or fails.
  virtual Status write_all(std::span<const uint8_t> bytes) = 0;
  // Writes all of `parts`, in order, or fails. Sinks that can hand the
  // kernel many buffers in one call (writev, sendmsg) override it.
  virtual Status write_all_parts(std::span<const iovec> parts) {
    for (const iovec& part : parts) {
      if (auto status = write_all({static_cast<const uint8_t*>(part.iov_base), part.iov_len}); !status) return status;
    }
    return {};
  }
};

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `buffer.size()` bytes; 0 means end of stream.
  virtual Result<size_t> read_some(std::span<uint8_t> buffer) = 0;
};

// An in-memory sink, for tests and for building a section before sending it.
class MemorySink final : public ByteSink {
 public:
  Status write_all(std::span<const uint8_t> bytes) override {
    data_.insert(data_.end(), bytes.begin(), bytes.end());
    return {};
  }
  const std::vector<uint8_t>& data() const { return data_; }

 private:
  std::vector<uint8_t> data_;
};

// Reads from a byte vector it does not own.
class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::span<const uint8_t> data) : data_(data) {}
  Result<size_t> read_some(std::span<uint8_t> buffer) override {
    const size_t n = std::min(buffer.size(), data_.size() - position_);
    std::copy_n(data_.begin() + static_cast<std::ptrdiff_t>(position_), n, buffer.begin());
    position_ += n;
    return n;
  }

 private:
  std::span<const uint8_t> data_;
  size_t position_ = 0;
};

}  // namespace godwit
