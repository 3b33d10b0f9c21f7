// Splits a QMP byte stream into JSON messages, as QEMU's JSON streamer does:
// a message ends where its outermost object or array closes (no newline
// needed), top-level scalars stand alone, whitespace between messages is
// skipped. It only finds the boundaries; parsing is the caller's.
//
// Bounds, from QEMU's json-streamer.c: a message is at most 64 MiB
// (MAX_TOKEN_SIZE) and nests at most 1024 deep (MAX_NESTING). Past either
// the message is reported as an error and the rest of it is skipped without
// being stored, so the stream picks up again at the next message.
//
// Threads: one owner (a QMP session on the I/O loop).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace godwit {

class JsonStreamSplitter {
 public:
  static constexpr size_t kMaxMessageBytes = 64u << 20;
  static constexpr size_t kMaxNesting = 1024;

  struct Message {
    std::string text;                  // one JSON value, not yet parsed
    std::optional<std::string> error;  // set instead: QEMU's description
  };

  std::vector<Message> feed(std::span<const uint8_t> bytes);
  // Forgets a partial message (the client went away).
  void reset();

  // CPR: a partial message and where the splitter stands in it, carried to
  // the program that takes the connection over. restore() refuses a state
  // that is not one save() writes.
  nlohmann::json save() const;
  bool restore(const nlohmann::json& state);

 private:
  void fail(std::vector<Message>& out, std::string error);
  void finish(std::vector<Message>& out);
  void append(uint8_t c);

  std::string current_;
  size_t depth_ = 0;
  bool in_value_ = false;      // current_ holds the start of a value
  bool bare_scalar_ = false;   // a top-level number or keyword
  bool in_string_ = false;
  bool escaped_ = false;
  bool discarding_ = false;  // after an error, until the value ends
};

}  // namespace godwit
