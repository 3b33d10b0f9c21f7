// The arguments a QMP command takes, declared once per command: validation
// checks requests against it, and query-commands lists the commands that
// have one. Errors are QEMU's (its QObject input visitor's) wording.
#pragma once

#include <span>
#include <string_view>

#include "monitor/qmp_error.hpp"

namespace godwit {

enum class ArgType {
  kString,
  kInt,         // QAPI 'int'
  kUint64,      // QAPI 'uint64' and 'size'
  kBool,
  kStringList,  // an array of strings, each one of ArgSpec::choices when given
  kArray,       // an array the handler checks element by element
  kAny,         // any JSON value: the handler checks it (migrate's `channels`)
};

struct ArgSpec {
  std::string_view name;
  ArgType type;
  bool optional = false;
  std::span<const std::string_view> choices = {};  // kStringList: an enum's values
};

// Checks `arguments` (an object) against `specs`: members in declaration
// order (missing, wrong type), then members no spec names, as QEMU does.
QmpResult<void> validate_arguments(const Json& arguments, std::span<const ArgSpec> specs);

}  // namespace godwit
