#include "monitor/json_stream.hpp"

namespace godwit {
namespace {

bool is_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_structural(uint8_t c) { return c == '{' || c == '}' || c == '[' || c == ']' || c == ',' || c == ':' || c == '"'; }

}  // namespace

void JsonStreamSplitter::reset() {
  current_.clear();
  depth_ = 0;
  in_value_ = bare_scalar_ = in_string_ = escaped_ = discarding_ = false;
}

void JsonStreamSplitter::fail(std::vector<Message>& out, std::string error) {
  // Keep following the structure, storing nothing, until the value ends.
  current_.clear();
  current_.shrink_to_fit();
  discarding_ = true;
  out.push_back({{}, std::move(error)});
}

void JsonStreamSplitter::finish(std::vector<Message>& out) {
  if (!discarding_) out.push_back({std::move(current_), std::nullopt});
  reset();
}

void JsonStreamSplitter::append(uint8_t c) {
  if (!discarding_) current_.push_back(static_cast<char>(c));
}

std::vector<JsonStreamSplitter::Message> JsonStreamSplitter::feed(std::span<const uint8_t> bytes) {
  std::vector<Message> out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    const uint8_t c = bytes[i];
    if (!in_value_) {
      if (is_space(c)) continue;
      in_value_ = true;
      if (c == '{' || c == '[') {
        depth_ = 1;
      } else if (c == '"') {
        in_string_ = true;
      } else if (c == '}' || c == ']') {
        append(c);
        finish(out);  // the parser reports it
        continue;
      } else {
        bare_scalar_ = true;
      }
      append(c);
      continue;
    }
    if (bare_scalar_) {
      if (is_space(c) || is_structural(c)) {
        finish(out);
        --i;  // this byte starts the next message
        continue;
      }
      append(c);
    } else {
      append(c);
      if (in_string_) {
        if (escaped_) {
          escaped_ = false;
        } else if (c == '\\') {
          escaped_ = true;
        } else if (c == '"') {
          in_string_ = false;
          if (depth_ == 0) {
            finish(out);
            continue;
          }
        }
      } else if (c == '"') {
        in_string_ = true;
      } else if (c == '{' || c == '[') {
        if (++depth_ > kMaxNesting && !discarding_) {
          fail(out, "JSON nesting depth limit exceeded");
          continue;
        }
      } else if (c == '}' || c == ']') {
        if (--depth_ == 0) {
          finish(out);
          continue;
        }
      }
    }
    if (!discarding_ && current_.size() > kMaxMessageBytes) fail(out, "JSON token size limit exceeded");
  }
  return out;
}

nlohmann::json JsonStreamSplitter::save() const {
  return {{"current", current_}, {"depth", depth_}, {"in_value", in_value_}, {"bare_scalar", bare_scalar_},
          {"in_string", in_string_}, {"escaped", escaped_}, {"discarding", discarding_}};
}

bool JsonStreamSplitter::restore(const nlohmann::json& state) {
  if (!state.is_object()) return false;
  const auto text = state.find("current");
  const auto depth = state.find("depth");
  if (text == state.end() || !text->is_string() || text->get_ref<const std::string&>().size() > kMaxMessageBytes ||
      depth == state.end() || !depth->is_number_unsigned() || depth->get<size_t>() > kMaxNesting + 1) {
    return false;
  }
  bool flags[5];
  const char* names[5] = {"in_value", "bare_scalar", "in_string", "escaped", "discarding"};
  for (int i = 0; i < 5; ++i) {
    const auto flag = state.find(names[i]);
    if (flag == state.end() || !flag->is_boolean()) return false;
    flags[i] = flag->get<bool>();
  }
  current_ = text->get<std::string>();
  depth_ = depth->get<size_t>();
  in_value_ = flags[0];
  bare_scalar_ = flags[1];
  in_string_ = flags[2];
  escaped_ = flags[3];
  discarding_ = flags[4];
  return true;
}

}  // namespace godwit
