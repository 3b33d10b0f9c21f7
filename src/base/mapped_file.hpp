// A file mapped read-only, so that a reader touches (and the kernel reads)
// only the pages it looks at. The descriptor stays open so that the owner
// can check, before it reads the whole mapping, that the file has not
// shrunk under it: a mapping read past the file's new end raises SIGBUS.
//
// Threads: immutable after open(); any thread may read it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "base/error.hpp"

namespace godwit {

class MappedFile {
 public:
  // Fails, naming the file, if it cannot be opened or mapped, is empty, or
  // holds more than `max_bytes`.
  static Result<std::unique_ptr<MappedFile>> open(const std::string& path, size_t max_bytes = SIZE_MAX);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  // Whether the file still holds at least the mapped bytes; an error names
  // the file and both sizes.
  Status check_size() const;

 private:
  MappedFile(std::string path, int fd, const uint8_t* data, size_t size)
      : path_(std::move(path)), fd_(fd), data_(data), size_(size) {}

  std::string path_;
  int fd_;
  const uint8_t* data_;
  size_t size_;
};

}  // namespace godwit
