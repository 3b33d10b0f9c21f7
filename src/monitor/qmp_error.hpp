// A failed QMP command as QEMU reports it: an error class (qapi/error.json)
// and a human-readable description in QEMU's words.
#pragma once

#include <expected>
#include <string>

#include <nlohmann/json.hpp>

namespace godwit {

// Ordered: replies keep QEMU's member order ("return" before "id").
using Json = nlohmann::ordered_json;

struct QmpError {
  std::string error_class;
  std::string desc;
};

template <class T>
using QmpResult = std::expected<T, QmpError>;

inline std::unexpected<QmpError> generic_error(std::string desc) {
  return std::unexpected(QmpError{"GenericError", std::move(desc)});
}
inline std::unexpected<QmpError> command_not_found(std::string desc) {
  return std::unexpected(QmpError{"CommandNotFound", std::move(desc)});
}

}  // namespace godwit
