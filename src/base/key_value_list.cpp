#include "base/key_value_list.hpp"

#include <algorithm>

namespace godwit {

Result<bool> parse_bool(std::string_view key, std::string_view value) {
  // QEMU's qapi_bool_parse() spellings.
  if (value == "on" || value == "yes" || value == "true" || value == "y") return true;
  if (value == "off" || value == "no" || value == "false" || value == "n") return false;
  return fail("parameter '" + std::string(key) + "' expects 'on' or 'off'");
}

Result<KeyValueList> KeyValueList::parse(std::string_view text, std::string_view implied_key,
                                         bool short_booleans) {
  if (text.empty()) return KeyValueList();
  // Split first, un-doubling commas, so that "=" inside an escaped value is
  // still only split at its first occurrence below.
  std::vector<std::string> elements(1);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != ',') {
      elements.back() += text[i];
    } else if (i + 1 < text.size() && text[i + 1] == ',') {
      elements.back() += ',';
      ++i;
    } else {
      elements.emplace_back();
    }
  }

  KeyValueList list;
  for (size_t i = 0; i < elements.size(); ++i) {
    const std::string& element = elements[i];
    const size_t equals = element.find('=');
    if (equals != std::string::npos) {
      if (equals == 0) return fail("parameter name missing before '=' in '" + element + "'");
      list.entries_.push_back({element.substr(0, equals), element.substr(equals + 1)});
      list.short_form_.push_back(false);
    } else if (i == 0 && !implied_key.empty()) {
      list.entries_.push_back({std::string(implied_key), element});
      list.short_form_.push_back(false);
    } else if (element.empty()) {
      if (i + 1 == elements.size()) continue;  // "a=1,": a trailing comma is tolerated
      return fail("empty parameter in '" + std::string(text) + "'");
    } else if (short_booleans) {
      list.entries_.push_back({element, "on"});
      list.short_form_.push_back(true);
    } else {
      return fail("expected '=' after parameter '" + element + "'");
    }
  }
  return list;
}

Status KeyValueList::check_keys(std::span<const std::string_view> allowed) {
  auto is_allowed = [&](std::string_view key) {
    return std::find(allowed.begin(), allowed.end(), key) != allowed.end();
  };
  for (size_t i = 0; i < entries_.size(); ++i) {
    Entry& entry = entries_[i];
    if (is_allowed(entry.key)) continue;
    if (short_form_[i] && entry.key.starts_with("no") && is_allowed(entry.key.substr(2))) {
      entry = {entry.key.substr(2), "off"};
      continue;
    }
    return fail("invalid parameter '" + entry.key + "'");
  }
  return {};
}

const KeyValueList::Entry* KeyValueList::find(std::string_view key) const {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (it->key == key) return &*it;
  }
  return nullptr;
}

std::optional<std::string> KeyValueList::get(std::string_view key) const {
  const Entry* entry = find(key);
  if (entry == nullptr) return std::nullopt;
  return entry->value;
}

Result<std::optional<bool>> KeyValueList::get_bool(std::string_view key) const {
  const Entry* entry = find(key);
  if (entry == nullptr) return std::optional<bool>();
  auto value = parse_bool(key, entry->value);
  if (!value) return std::unexpected(std::move(value.error()));
  return std::optional<bool>(*value);
}

}  // namespace godwit
