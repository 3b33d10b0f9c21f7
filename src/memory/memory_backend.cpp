#include "memory/memory_backend.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>
#include <vector>

#include "base/errno_text.hpp"

namespace godwit {
namespace {

// Closes the fd on early return; release() hands it over on success.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) close(fd_);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

uint64_t mapped_length(uint64_t size) {
  const auto page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return (size + page - 1) / page * page;
}

std::string kind_name(MemoryBackendKind kind) {
  switch (kind) {
    case MemoryBackendKind::kRam: return "memory-backend-ram";
    case MemoryBackendKind::kMemfd: return "memory-backend-memfd";
    case MemoryBackendKind::kFile: return "memory-backend-file";
  }
  return "memory-backend";
}

// Maps `size` bytes rounded up to whole pages: QEMU accepts any size and
// rounds it the same way.
Result<std::span<uint8_t>> map(uint64_t size, int fd, bool shared) {
  int flags = shared ? MAP_SHARED : MAP_PRIVATE;
  if (fd < 0) flags |= MAP_ANONYMOUS;
  // Private anonymous RAM is reserved lazily, as QEMU's guest RAM: a large
  // guest that touches little memory does not need the swap to back it all.
  if (fd < 0 && !shared) flags |= MAP_NORESERVE;
  const uint64_t length = mapped_length(size);
  if (fd >= 0) {
    void* host = mmap(nullptr, length, PROT_READ | PROT_WRITE, flags, fd, 0);
    if (host == MAP_FAILED) return fail("mmap: " + errno_text(errno));
    return std::span<uint8_t>(static_cast<uint8_t*>(host), size);
  }
  // Anonymous RAM starts on a 2 MiB boundary, so that a host that gives
  // transparent huge pages to every mapping can use them for all of it. It
  // does not ask for them (MADV_HUGEPAGE): where the host's THP defrag
  // policy is "madvise" that makes each first touch compact and clear 2 MiB,
  // measured 7x slower than 4 KiB faults on a 2-core VM, which a migration's
  // destination pays for every page it receives.
  constexpr uint64_t kHugePage = uint64_t{2} << 20;
  void* reserved = mmap(nullptr, length + kHugePage, PROT_READ | PROT_WRITE, flags, -1, 0);
  if (reserved == MAP_FAILED) return fail("mmap: " + errno_text(errno));
  const auto start = reinterpret_cast<uintptr_t>(reserved);
  const uintptr_t aligned = (start + kHugePage - 1) & ~uintptr_t{kHugePage - 1};
  if (aligned > start) munmap(reserved, aligned - start);
  const uintptr_t end = start + length + kHugePage;
  if (end > aligned + length) munmap(reinterpret_cast<void*>(aligned + length), end - (aligned + length));
  return std::span<uint8_t>(reinterpret_cast<uint8_t*>(aligned), size);
}

Status set_size(int fd, uint64_t size) {
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) return fail("ftruncate: " + errno_text(errno));
  return {};
}

// memory-backend-file. As QEMU's file_ram_alloc(): a directory gets a
// temporary file inside it, unlinked at once; a new or empty file is grown to
// `size`; an existing file at least `size` long is used as is (its first
// `size` bytes are mapped, never truncated); a shorter non-empty file is an
// error rather than silently grown over data it may hold.
Result<int> open_backing_file(const std::string& path, uint64_t size) {
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    std::string name = path + "/godwit_backend.XXXXXX";
    std::vector<char> buffer(name.begin(), name.end());
    buffer.push_back('\0');
    const int fd = mkostemp(buffer.data(), O_CLOEXEC);
    if (fd < 0) return fail("mem-path " + path + ": " + errno_text(errno));
    unlink(buffer.data());
    FdGuard guard(fd);
    if (auto status = set_size(fd, size); !status) {
      return std::unexpected(std::move(status.error()).context("mem-path " + path));
    }
    return guard.release();
  }

  bool created = false;
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    created = fd >= 0;
  }
  if (fd < 0) return fail("mem-path " + path + ": " + errno_text(errno));
  FdGuard guard(fd);
  auto undo = [&](Error error) {
    if (created) unlink(path.c_str());  // leave no trace of a failed start
    return std::unexpected(std::move(error).context("mem-path " + path));
  };

  if (fstat(fd, &st) != 0) return undo(Error("fstat: " + errno_text(errno)));
  if (!S_ISREG(st.st_mode)) return undo(Error("not a regular file or directory"));
  const auto file_size = static_cast<uint64_t>(st.st_size);
  if (file_size == 0) {
    if (auto status = set_size(fd, size); !status) return undo(std::move(status.error()));
  } else if (file_size < size) {
    return undo(Error("file size " + std::to_string(file_size) + " is smaller than size " +
                      std::to_string(size)));
  }
  return guard.release();
}

}  // namespace

Result<std::unique_ptr<MemoryBackend>> MemoryBackend::create(const MemoryBackendConfig& config) {
  const std::string what = kind_name(config.kind) + " '" + config.id + "'";
  if (config.size_bytes == 0) return fail(what + ": size must be greater than zero");
  if (config.size_bytes > (uint64_t{1} << 56)) return fail(what + ": size is too large");
  if (config.kind != MemoryBackendKind::kFile && !config.mem_path.empty()) {
    return fail(what + ": mem-path is only for memory-backend-file");
  }

  int raw_fd = -1;
  switch (config.kind) {
    case MemoryBackendKind::kRam:
      // Shared RAM lives in a memfd, so that a cpr-transfer can hand it to a
      // new godwit (as QEMU 10 does); private RAM stays anonymous.
      if (!config.share) break;
      [[fallthrough]];
    case MemoryBackendKind::kMemfd: {
      // The id names the memfd in /proc/PID/fd, which helps when debugging CPR.
      raw_fd = memfd_create(("godwit:" + config.id).c_str(), MFD_CLOEXEC);
      if (raw_fd < 0) return fail(what + ": memfd_create: " + errno_text(errno));
      FdGuard guard(raw_fd);
      if (auto status = set_size(raw_fd, config.size_bytes); !status) {
        return std::unexpected(std::move(status.error()).context(what));
      }
      guard.release();
      break;
    }
    case MemoryBackendKind::kFile: {
      if (config.mem_path.empty()) return fail(what + ": mem-path is required");
      auto fd = open_backing_file(config.mem_path, config.size_bytes);
      if (!fd) return std::unexpected(std::move(fd.error()).context(what));
      raw_fd = *fd;
      break;
    }
  }
  FdGuard guard(raw_fd);

  auto host = map(config.size_bytes, raw_fd, config.share);
  if (!host) {
    std::string where = config.mem_path.empty() ? what : what + ": mem-path " + config.mem_path;
    return std::unexpected(std::move(host.error()).context(where));
  }
  return std::unique_ptr<MemoryBackend>(new MemoryBackend(
      config.id, config.kind, *host, guard.release(), config.share, config.mem_path));
}

Result<std::unique_ptr<MemoryBackend>> MemoryBackend::adopt(const MemoryBackendConfig& config, int fd) {
  FdGuard guard(fd);
  const std::string what = kind_name(config.kind) + " '" + config.id + "'";
  if (!config.share) return fail(what + ": share=on is needed to map memory handed over by CPR");
  struct stat st {};
  if (fstat(fd, &st) != 0) return fail(what + ": fstat of the handed-over descriptor: " + errno_text(errno));
  if (static_cast<uint64_t>(st.st_size) < config.size_bytes) {
    return fail(what + ": the handed-over memory holds " + std::to_string(st.st_size) + " bytes, size is " +
                std::to_string(config.size_bytes));
  }
  auto host = map(config.size_bytes, fd, true);
  if (!host) return std::unexpected(std::move(host.error()).context(what));
  return std::unique_ptr<MemoryBackend>(
      new MemoryBackend(config.id, config.kind, *host, guard.release(), true, config.mem_path));
}

MemoryBackend::~MemoryBackend() {
  munmap(host_.data(), mapped_length(host_.size()));
  if (fd_ >= 0) close(fd_);
}

}  // namespace godwit
