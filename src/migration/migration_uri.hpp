// Where a migration goes to or comes from: QEMU's MigrationAddress, parsed
// from the old URI strings (`tcp:HOST:PORT`, `unix:PATH`, `fd:NAME`,
// `exec:COMMAND`, `file:PATH[,offset=N]`) or from the QMP `channels` list.
//
// Error texts follow QEMU (migration/migration.c migrate_uri_parse and
// qmp_migrate, util/qemu-sockets.c inet_parse/socket_parse,
// migration/file.c file_parse_offset, and the QAPI input visitor for the
// `channels` JSON), so a management tool sees the same words from either.
// Where godwit is stricter than QEMU (numeric ports only, no rdma/vsock,
// no inet/unix socket options) the message says so in its own words.
//
// Threads: plain values and pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/error.hpp"
#include "io/socket_address.hpp"

namespace godwit {

// `tcp:HOST:PORT` and `unix:PATH` (socket/inet and socket/unix in
// `channels`) are io's InetAddress and UnixAddress.

// `fd:NAME`, or socket/fd: the name of a descriptor passed with getfd, or
// a descriptor number (QEMU's monitor_fd_param: a leading digit means a
// number).
struct FdAddress {
  std::string name;
  bool operator==(const FdAddress&) const = default;
};

// `exec:COMMAND` (argv {"/bin/sh", "-c", COMMAND}), or exec with `args`.
struct ExecAddress {
  std::vector<std::string> args;
  bool operator==(const ExecAddress&) const = default;
};

// `file:PATH[,offset=N]`, or file with `filename` and `offset`.
struct FileAddress {
  std::string filename;
  uint64_t offset = 0;
  bool operator==(const FileAddress&) const = default;
};

using MigrationAddress =
    std::variant<InetAddress, UnixAddress, FdAddress, ExecAddress, FileAddress>;

// Which end the address is for: only a listener may ask for port 0.
enum class MigrationDirection { outgoing, incoming };

// The URI form of `address`, for messages and query-migrate
// (`tcp:[::1]:4444`, `exec:gzip -c > f.gz`, `file:/x,offset=4096`).
std::string to_string(const MigrationAddress& address);

// Parses one URI, as QEMU's migrate_uri_parse.
Result<MigrationAddress> parse_migration_uri(const std::string& uri, MigrationDirection direction);

// QEMU's file_parse_offset value syntax (qemu_strtosz): decimal or 0x hex,
// an optional fraction for decimal, an optional B/K/M/G/T/P/E suffix
// (binary multiples). Errors read "file URI has bad offset TEXT: CAUSE".
Result<uint64_t> parse_file_offset(const std::string& text);

// The endpoints of one migration: the main channel, and for cpr-transfer
// the channel that carries CPR state first.
struct MigrationTarget {
  MigrationAddress main;
  std::optional<MigrationAddress> cpr;
};

// Parses the `channels` list of migrate/migrate-incoming. `channels` must
// already be known to be a JSON array (see parse_migrate_arguments).
// Outgoing accepts one main and at most one cpr entry; incoming accepts a
// single main entry, as QEMU.
// Both JSON flavours are accepted: the monitor keeps key order
// (ordered_json), which also makes the "unexpected" member reported first
// the first one written.
Result<MigrationTarget> parse_migration_channels(const nlohmann::json& channels,
                                                 MigrationDirection direction);
Result<MigrationTarget> parse_migration_channels(const nlohmann::ordered_json& channels,
                                                 MigrationDirection direction);

// Parses the `uri` and `channels` members of a migrate or migrate-incoming
// arguments object (other members are the command's business). Exactly
// one of the two must be given; an empty `channels` list counts as absent,
// as it does in QEMU's generated code.
Result<MigrationTarget> parse_migrate_arguments(const nlohmann::json& arguments,
                                                MigrationDirection direction);
Result<MigrationTarget> parse_migrate_arguments(const nlohmann::ordered_json& arguments,
                                                MigrationDirection direction);

// One channel given to -incoming as JSON, as QEMU accepts it:
// {"channel-type": "main"|"cpr", "addr": {...}}. Errors name the option.
struct IncomingChannelSpec {
  bool cpr = false;
  MigrationAddress address;
};
Result<IncomingChannelSpec> parse_incoming_channel_json(std::string_view text);

// The main address of an -incoming value: a URI, or the JSON form above.
Result<MigrationAddress> parse_incoming_main(std::string_view text);

}  // namespace godwit
