// QMP netdev_add and netdev_del (qapi/net.json) and HMP's spelling of
// netdev_add, over VirtMachine::add_netdev/del_netdev: a backend for a NIC
// that does not exist yet, built from the same options -netdev takes.
#pragma once

#include <string>

#include "monitor/command_context.hpp"

namespace godwit {

// {"type": "user"|"tap", "id": ..., the backend's options}. hostfwd is
// QAPI's list of {"str": RULE} (plain strings are taken too); a tap's fd is
// a number or a name given with getfd.
QmpResult<Json> qmp_netdev_add(CommandContext& context, const Json& arguments);
QmpResult<Json> qmp_netdev_del(CommandContext& context, const Json& arguments);

// HMP's "netdev_add user,id=n1,hostfwd=tcp::2222-:22" as QMP arguments.
QmpResult<Json> hmp_netdev_add_arguments(const std::string& options);

}  // namespace godwit
