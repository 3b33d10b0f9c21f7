// -chardev file,path=P[,append=on]: guest output written to a file. Output
// only, as QEMU's file backend without its `in=` option.
//
// Threads: write() from hart threads, serialised by a mutex.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "base/error.hpp"
#include "chardev/char_backend.hpp"
#include "machine/machine_config.hpp"

namespace godwit {

class FileChardev final : public CharBackend {
 public:
  // Opens (creating, truncating unless append) config.path.
  static Result<std::unique_ptr<FileChardev>> create(const ChardevConfig& config);
  ~FileChardev() override;

  const std::string& id() const override { return id_; }
  std::string_view kind() const override { return "file"; }
  std::string filename() const override { return "file:" + path_; }
  // Blocks only as long as the file system does: a regular file never waits
  // for a reader.
  void write(std::span<const uint8_t> bytes) override;
  void attach(CharFrontend*) override {}
  void frontend_ready() override {}

 private:
  FileChardev(std::string id, std::string path, int fd)
      : id_(std::move(id)), path_(std::move(path)), fd_(fd) {}

  std::string id_;
  std::string path_;
  int fd_;
  std::mutex mutex_;  // keeps concurrent writes from interleaving mid-buffer
};

}  // namespace godwit
