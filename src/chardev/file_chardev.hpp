// -chardev file,path=P[,append=on]: guest output written to a file. Output
// only, as QEMU's file backend without its `in=` option.
//
// CPR: the open file travels as "chardev:ID:file", so that a new program
// with the same chardev writes on where the old one stopped instead of
// truncating what the guest printed so far.
//
// Threads: write() from hart threads, serialised by a mutex.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "base/error.hpp"
#include "chardev/char_backend.hpp"
#include "chardev/chardev_config.hpp"

namespace godwit {

class FileChardev final : public CharBackend {
 public:
  // Opens (creating, truncating unless append) config.path, or adopts the
  // old program's descriptor of that same file (see TakeHandedOverFd).
  static Result<std::unique_ptr<FileChardev>> create(const ChardevConfig& config,
                                                     const TakeHandedOverFd& take_fd = nullptr);
  ~FileChardev() override;

  const std::string& id() const override { return id_; }
  std::string_view kind() const override { return "file"; }
  std::string filename() const override { return "file:" + path_; }
  // Blocks only as long as the file system does: a regular file never waits
  // for a reader.
  void write(std::span<const uint8_t> bytes) override;
  void attach(CharFrontend*) override {}
  void frontend_ready() override {}
  std::vector<ChardevFd> connection_fds() const override;
  bool adopted() const override { return adopted_; }
  // After a handover the next program writes: this one no longer does.
  void release_connection() override;

 private:
  FileChardev(std::string id, std::string path, int fd, bool adopted)
      : id_(std::move(id)), path_(std::move(path)), fd_(fd), adopted_(adopted) {}

  std::string id_;
  std::string path_;
  int fd_;  // -1 once released
  const bool adopted_;
  mutable std::mutex mutex_;  // keeps concurrent writes from interleaving mid-buffer
};

}  // namespace godwit
