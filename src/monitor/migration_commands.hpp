// The migration commands of QMP (qapi/migration.json) and the text HMP
// prints for them (migration/migration-hmp-cmds.c), over the machine's
// Migration object.
#pragma once

#include <string>

#include "monitor/command_context.hpp"

namespace godwit {

QmpResult<Json> qmp_migrate(CommandContext& context, const Json& arguments);
QmpResult<Json> qmp_migrate_incoming(CommandContext& context, const Json& arguments);
QmpResult<Json> qmp_migrate_cancel(CommandContext& context, const Json& arguments);
QmpResult<Json> qmp_query_migrate(CommandContext& context, const Json& arguments);
QmpResult<Json> qmp_migrate_set_parameters(CommandContext& context, const Json& arguments);
QmpResult<Json> qmp_query_migrate_parameters(CommandContext& context, const Json& arguments);
QmpResult<Json> qmp_migrate_set_capabilities(CommandContext& context, const Json& arguments);
QmpResult<Json> qmp_query_migrate_capabilities(CommandContext& context, const Json& arguments);

// HMP's renderings of query-migrate, query-migrate-parameters and
// query-migrate-capabilities replies.
std::string format_info_migrate(const Json& info);
std::string format_migrate_parameters(const Json& parameters);
std::string format_migrate_capabilities(const Json& capabilities);

// HMP's value syntax for a parameter (migrate_set_parameter NAME VALUE):
// the QMP arguments it stands for, or an error in HMP's words.
QmpResult<Json> hmp_parameter_arguments(const std::string& name, const std::string& value);

}  // namespace godwit
