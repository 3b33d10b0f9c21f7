// The receiving side of a migration stream, QEMU's qemu_loadvm_state: reads
// header, RAM chunks and device sections up to EOF (and the vmdesc after
// it) into a machine whose guest is not running.
//
// Never trusts the wire: an unknown section, a second START, a PART for a
// section that never started, a version newer than ours, a missing footer
// or a stream that ends early each fail with a message naming the section,
// and every device section must have arrived before EOF.
//
// Threads: the incoming migration thread.
#pragma once

#include "base/error.hpp"
#include "migration/migratable_vm.hpp"
#include "migration/migration_config.hpp"
#include "migration/stream_reader.hpp"

namespace godwit {

Status load_migration_stream(StreamReader& in, MigratableVm& vm, const MigrationCapabilities& capabilities);

}  // namespace godwit
