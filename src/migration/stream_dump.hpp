// Decodes a whole migration stream into a structured summary, the way QEMU's
// scripts/analyze-migration.py walks one: sections with their names,
// versions, offsets and sizes; RAM records counted (pages, zero pages) per
// block; device fields decoded through the stream's own description (vmdesc),
// so no device code is needed. Used by the godwit-stream tool.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "base/error.hpp"

namespace godwit {

// Fails with the offset and section at which the stream stopped making sense.
Result<nlohmann::json> dump_stream(std::span<const uint8_t> bytes);

// The summary as text, one line per section and one per decoded field.
std::string format_stream_dump(const nlohmann::json& dump, bool with_fields);

}  // namespace godwit
