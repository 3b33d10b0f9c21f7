// Whole-file reads and writes with errors that name the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/error.hpp"

namespace godwit {

// Fails, without reading further, once the file holds more than `max_bytes`
// (a device such as /dev/zero never ends).
Result<std::vector<uint8_t>> read_file(const std::string& path, size_t max_bytes = SIZE_MAX);
// Creates or truncates `path` and writes all of `bytes`.
Status write_file(const std::string& path, std::span<const uint8_t> bytes);

}  // namespace godwit
