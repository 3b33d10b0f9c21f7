// Whole-file reads and writes with errors that name the file.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/error.hpp"

namespace godwit {

Result<std::vector<uint8_t>> read_file(const std::string& path);
// Creates or truncates `path` and writes all of `bytes`.
Status write_file(const std::string& path, std::span<const uint8_t> bytes);

}  // namespace godwit
