#include "monitor/arg_schema.hpp"

#include <algorithm>
#include <string>

namespace godwit {
namespace {

std::string in_quotes(std::string_view name) {
  std::string text(1, '\'');
  text += name;
  text += '\'';
  return text;
}

std::unexpected<QmpError> wrong_type(std::string_view name, std::string_view expected) {
  return generic_error("Invalid parameter type for " + in_quotes(name) + ", expected: " + std::string(expected));
}

QmpResult<void> check(const ArgSpec& spec, const Json& value) {
  switch (spec.type) {
    case ArgType::kString:
      if (!value.is_string()) return wrong_type(spec.name, "string");
      return {};
    case ArgType::kInt:
      if (!value.is_number_integer()) return wrong_type(spec.name, "integer");
      return {};
    case ArgType::kUint64:
      // QEMU's visitor takes negative integers too, wrapping them.
      if (!value.is_number_integer()) return generic_error("Parameter " + in_quotes(spec.name) + " expects uint64");
      return {};
    case ArgType::kBool:
      if (!value.is_boolean()) return wrong_type(spec.name, "boolean");
      return {};
    case ArgType::kStringList:
      if (!value.is_array()) return wrong_type(spec.name, "array");
      for (size_t i = 0; i < value.size(); ++i) {
        const Json& element = value[i];
        const std::string element_name = std::string(spec.name) + "[" + std::to_string(i) + "]";
        if (!element.is_string()) return wrong_type(element_name, "string");
        if (spec.choices.empty()) continue;
        const std::string text = element.get<std::string>();
        if (std::find(spec.choices.begin(), spec.choices.end(), text) == spec.choices.end()) {
          // Sic: QEMU names list elements of an enum this way.
          return generic_error("Parameter 'null' does not accept value " + in_quotes(text));
        }
      }
      return {};
    case ArgType::kArray:
      if (!value.is_array()) return wrong_type(spec.name, "array");
      return {};
    case ArgType::kAny:
      return {};
  }
  return {};
}

}  // namespace

QmpResult<void> validate_arguments(const Json& arguments, std::span<const ArgSpec> specs) {
  for (const ArgSpec& spec : specs) {
    auto it = arguments.find(std::string(spec.name));
    if (it == arguments.end()) {
      if (spec.optional) continue;
      return generic_error("Parameter " + in_quotes(spec.name) + " is missing");
    }
    if (auto status = check(spec, *it); !status) return status;
  }
  for (auto it = arguments.begin(); it != arguments.end(); ++it) {
    const bool known = std::any_of(specs.begin(), specs.end(), [&](const ArgSpec& spec) { return spec.name == it.key(); });
    if (!known) return generic_error("Parameter " + in_quotes(it.key()) + " is unexpected");
  }
  return {};
}

}  // namespace godwit
