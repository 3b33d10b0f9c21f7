#include "migration/stream_writer.hpp"

#include <cassert>
#include <cstring>

namespace godwit {

void StreamWriter::put_bytes(const void* data, size_t size) {
  if (error_) return;
  total_ += size;
  const auto* bytes = static_cast<const uint8_t*>(data);
  if (buffer_.size() + size > buffer_.capacity() || parts_.size() >= kMaxParts) {
    if (!flush()) return;
    if (size >= buffer_.capacity()) {
      // Large payloads go straight through: no extra copy.
      if (auto status = sink_.write_all({bytes, size}); !status) error_ = status.error();
      return;
    }
  }
  uint8_t* at = buffer_.data() + buffer_.size();
  buffer_.insert(buffer_.end(), bytes, bytes + size);  // within capacity: no reallocation
  if (!parts_.empty() && static_cast<uint8_t*>(parts_.back().iov_base) + parts_.back().iov_len == at) {
    parts_.back().iov_len += size;
  } else {
    parts_.push_back({at, size});
  }
}

void StreamWriter::put_external(std::span<const uint8_t> bytes) {
  if (error_ || bytes.empty()) return;
  if (parts_.size() >= kMaxParts || external_bytes_ + bytes.size() > kMaxExternalBytes) {
    if (!flush()) return;
  }
  total_ += bytes.size();
  external_bytes_ += bytes.size();
  parts_.push_back({const_cast<uint8_t*>(bytes.data()), bytes.size()});
}

void StreamWriter::put_be16(uint16_t v) {
  const uint8_t b[2] = {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
  put_bytes(b, sizeof b);
}

void StreamWriter::put_be32(uint32_t v) {
  const uint8_t b[4] = {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 8),
                        static_cast<uint8_t>(v)};
  put_bytes(b, sizeof b);
}

void StreamWriter::put_be64(uint64_t v) {
  put_be32(static_cast<uint32_t>(v >> 32));
  put_be32(static_cast<uint32_t>(v));
}

void StreamWriter::put_buffer(std::span<const uint8_t> bytes) { put_bytes(bytes.data(), bytes.size()); }

void StreamWriter::put_short_string(std::string_view text) {
  assert(text.size() <= 255);
  put_u8(static_cast<uint8_t>(text.size()));
  put_bytes(text.data(), text.size());
}

Status StreamWriter::flush() {
  if (error_) return std::unexpected(*error_);
  if (parts_.empty()) return {};
  auto status = sink_.write_all_parts(parts_);
  parts_.clear();
  buffer_.clear();
  external_bytes_ = 0;
  if (!status) {
    error_ = status.error();
    return status;
  }
  return {};
}

Status StreamWriter::status() const {
  if (error_) return std::unexpected(*error_);
  return {};
}

}  // namespace godwit
