// Helpers for the devices' state tests: save a device to bytes, load bytes
// into one, describe it, all through the stream adapter the board uses
// (migration/state_section.hpp), and spell streams as hex so golden streams
// read as literals.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "migration/byte_channel.hpp"
#include "migration/state_section.hpp"
#include "migration/stream_reader.hpp"
#include "migration/stream_writer.hpp"

namespace godwit::testing {

template <StateOwner Device>
std::vector<uint8_t> save_bytes(Device& device) {
  MemorySink sink;
  StreamWriter out(sink);
  state_section("test", 0, device).save(out);
  EXPECT_TRUE(out.flush());
  return sink.data();
}

template <StateOwner Device>
Status load_bytes(Device& device, const std::vector<uint8_t>& bytes, uint32_t version_id = 1) {
  MemorySource source(bytes);
  StreamReader in(source);
  return state_section("test", 0, device).load(in, version_id);
}

// The description the stream's vmdesc carries for `device`.
template <StateOwner Device>
nlohmann::json describe(Device& device) {
  return state_section("test", 0, device).describe();
}

// Hex digits to bytes; spaces, newlines and '|' (a reading aid) are skipped.
inline std::vector<uint8_t> from_hex(std::string_view text) {
  std::vector<uint8_t> bytes;
  int high = -1;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '|') continue;
    const int digit = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10;
    EXPECT_TRUE(digit >= 0 && digit < 16) << "bad hex digit " << c;
    if (high < 0) {
      high = digit;
    } else {
      bytes.push_back(static_cast<uint8_t>(high << 4 | digit));
      high = -1;
    }
  }
  EXPECT_EQ(high, -1) << "odd number of hex digits";
  return bytes;
}

inline std::string to_hex(const std::vector<uint8_t>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  for (uint8_t b : bytes) {
    text.push_back(kDigits[b >> 4]);
    text.push_back(kDigits[b & 15]);
  }
  return text;
}

// The first `count` bytes of `bytes` (a stream cut short).
inline std::vector<uint8_t> prefix(const std::vector<uint8_t>& bytes, size_t count) {
  return std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(std::min(count, bytes.size())));
}

// The message of a failed status, or "" when it succeeded.
inline std::string error_of(const Status& status) { return status ? std::string() : status.error().message(); }

}  // namespace godwit::testing
