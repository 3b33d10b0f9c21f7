// -netdev's options (and QMP netdev_add's, flattened to the same keys) read
// into a NetdevConfig, in QEMU's words: type=user with libslirp's network,
// host forwards and so on, type=tap with its device or descriptor. The
// command line and the monitor share it.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "base/key_value_list.hpp"
#include "net/net_config.hpp"

namespace godwit {

// type=user or type=tap and that backend's options, into `netdev` (kind,
// user, tap); keys other than the backend's and `extra_keys` are refused.
Status read_netdev_backend(KeyValueList& list, std::span<const std::string_view> extra_keys, NetdevConfig& netdev);

// A whole -netdev or netdev_add: the backend and its id. `origin` prefixes
// later errors (the option as typed).
Result<NetdevConfig> read_netdev(KeyValueList& list, std::string origin);

}  // namespace godwit
