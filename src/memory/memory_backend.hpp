// Guest RAM backends (QEMU's -object memory-backend-{ram,memfd,file}): the
// host mapping that backs guest physical RAM. A memfd or file backend keeps
// its fd open so that CheckPoint-and-Restart can hand it to a new process.
//
// Threads: created and destroyed on the main thread; the mapping itself is
// read and written by hart threads through AddressSpace.
//
// The mapping is handed out read-only: it is written only once mapped into
// an AddressSpace (map_ram), by those its rules let write (harts and
// GuestMemory), so that every write reaches the dirty log.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "base/error.hpp"
#include "memory/memory_backend_config.hpp"

namespace godwit {

class MemoryBackend {
 public:
  static Result<std::unique_ptr<MemoryBackend>> create(const MemoryBackendConfig& config);
  // The backend `config` describes, on memory an earlier godwit handed over
  // (cpr-transfer): maps `fd` (taken) shared, creating nothing.
  static Result<std::unique_ptr<MemoryBackend>> adopt(const MemoryBackendConfig& config, int fd);
  ~MemoryBackend();  // munmap, close

  MemoryBackend(const MemoryBackend&) = delete;
  MemoryBackend& operator=(const MemoryBackend&) = delete;

  const std::string& id() const { return id_; }
  MemoryBackendKind kind() const { return kind_; }
  uint64_t size_bytes() const { return host_.size(); }
  std::span<const uint8_t> host() const { return host_; }
  // -1 for anonymous RAM; the memfd or file descriptor otherwise.
  int fd() const { return fd_; }
  // Mapped MAP_SHARED: writes reach the memfd/file and other mappings of it.
  bool shared() const { return shared_; }
  // memory-backend-file: the mem-path given (a directory when the backing
  // file is a temporary one inside it); empty otherwise.
  const std::string& mem_path() const { return mem_path_; }

 private:
  friend class AddressSpace;  // maps host_ as guest RAM

  MemoryBackend(std::string id, MemoryBackendKind kind, std::span<uint8_t> host, int fd,
                bool shared, std::string mem_path)
      : id_(std::move(id)),
        kind_(kind),
        host_(host),
        fd_(fd),
        shared_(shared),
        mem_path_(std::move(mem_path)) {}

  std::string id_;
  MemoryBackendKind kind_;
  std::span<uint8_t> host_;
  int fd_;
  bool shared_;
  std::string mem_path_;
};

}  // namespace godwit
