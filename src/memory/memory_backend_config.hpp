// What the command line says about one memory backend, as plain data: the
// CLI fills it, MemoryBackend::create opens it.
#pragma once

#include <cstdint>
#include <string>

namespace godwit {

enum class MemoryBackendKind { kRam, kMemfd, kFile };

// -object memory-backend-{ram,memfd,file},id=ID,size=SIZE[,share=on|off][,mem-path=PATH]
struct MemoryBackendConfig {
  std::string id;
  MemoryBackendKind kind = MemoryBackendKind::kRam;
  uint64_t size_bytes = 0;
  // QEMU's defaults: memory-backend-memfd shares, the others do not.
  bool share = false;
  std::string mem_path;  // memory-backend-file only; a directory gets a temporary file
};

}  // namespace godwit
