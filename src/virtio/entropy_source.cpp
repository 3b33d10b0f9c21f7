#include "virtio/entropy_source.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace godwit {

namespace {

class BuiltinEntropy final : public EntropySource {
 public:
  size_t fill(std::span<uint8_t> out) override {
    const ssize_t got = ::getrandom(out.data(), out.size(), GRND_NONBLOCK);
    return got > 0 ? static_cast<size_t>(got) : 0;
  }
};

class FileEntropy final : public EntropySource {
 public:
  explicit FileEntropy(int fd) : fd_(fd) {}
  ~FileEntropy() override { ::close(fd_); }
  size_t fill(std::span<uint8_t> out) override {
    ssize_t got;
    do {
      got = ::read(fd_, out.data(), out.size());
    } while (got < 0 && errno == EINTR);
    return got > 0 ? static_cast<size_t>(got) : 0;
  }

 private:
  int fd_;
};

}  // namespace

std::unique_ptr<EntropySource> make_builtin_entropy() { return std::make_unique<BuiltinEntropy>(); }

Result<std::unique_ptr<EntropySource>> open_entropy_file(const std::string& filename) {
  // Non-blocking as QEMU's rng-random: a starved source gives less, never stalls a hart.
  const int fd = ::open(filename.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return fail("could not open '" + filename + "': " + std::strerror(errno));
  return std::unique_ptr<EntropySource>(std::make_unique<FileEntropy>(fd));
}

}  // namespace godwit
