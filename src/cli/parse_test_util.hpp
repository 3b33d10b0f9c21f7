// Parsing a command line in the CLI's unit tests: the result, or the error
// line it gives.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "cli/command_line.hpp"

namespace godwit::testing {

inline Result<CommandLine> parse(std::initializer_list<std::string> args) {
  const std::vector<std::string> list(args);
  return parse_command_line(list);
}

// The message of a command line that must fail.
inline std::string parse_error(std::initializer_list<std::string> args) {
  auto result = parse(args);
  EXPECT_FALSE(result.has_value());
  return result ? "" : result.error().message();
}

}  // namespace godwit::testing
