// Option arguments of the form "virt,memory-backend=mem,aux-ram-share=on", as
// QEMU's QemuOpts and keyval parsers read them: elements split at commas, a
// doubled comma ",," stands for one literal comma, and a first element
// without '=' is the value of an implied key (the machine type, the chardev
// backend, the object type).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"

namespace godwit {

class KeyValueList {
 public:
  struct Entry {
    std::string key;
    std::string value;
  };

  // `short_booleans` accepts QEMU's deprecated short forms of -chardev:
  // a bare "server" means server=on and "nowait" wait=off (see
  // check_keys()); without it a bare element is an error, as QEMU's keyval
  // parser says: "expected '=' after parameter 'server'".
  static Result<KeyValueList> parse(std::string_view text, std::string_view implied_key = {},
                                    bool short_booleans = false);

  // Fails naming the first key not in `allowed`: "invalid parameter 'foo'".
  // Resolves short-form "noKEY" to KEY=off when KEY is allowed.
  Status check_keys(std::span<const std::string_view> allowed);
  Status check_keys(std::initializer_list<std::string_view> allowed) {
    return check_keys(std::span<const std::string_view>(allowed.begin(), allowed.size()));
  }

  bool has(std::string_view key) const { return find(key) != nullptr; }
  // The value of the last occurrence of `key` (later ones win, as in QEMU).
  std::optional<std::string> get(std::string_view key) const;
  // on/off, yes/no, true/false: "parameter 'share' expects 'on' or 'off'".
  Result<std::optional<bool>> get_bool(std::string_view key) const;

  const std::vector<Entry>& entries() const { return entries_; }

  // A list made elsewhere (a JSON object flattened to dotted keys, as
  // QEMU's -blockdev '{...}' and -device '{...}' read).
  static KeyValueList from_entries(std::vector<Entry> entries) {
    KeyValueList list;
    list.short_form_.assign(entries.size(), false);
    list.entries_ = std::move(entries);
    return list;
  }

 private:
  const Entry* find(std::string_view key) const;

  std::vector<Entry> entries_;
  std::vector<bool> short_form_;  // parallel to entries_: written without '='
};

Result<bool> parse_bool(std::string_view key, std::string_view value);

}  // namespace godwit
