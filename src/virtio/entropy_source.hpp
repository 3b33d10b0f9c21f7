// Where virtio-rng's bytes come from: QEMU's rng backends.
//   -object rng-builtin,id=ID          getrandom(2) (QEMU's default backend)
//   -object rng-random,id=ID,filename=F  reads F (QEMU's default /dev/urandom)
//
// Threads: fill() on the thread that serves the queue (a hart's); each
// source is used by one device.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "base/error.hpp"

namespace godwit {

class EntropySource {
 public:
  virtual ~EntropySource() = default;
  // Fills as much of `out` as it can now; returns how many bytes.
  virtual size_t fill(std::span<uint8_t> out) = 0;
};

std::unique_ptr<EntropySource> make_builtin_entropy();
// Opens `filename` for reading; fails naming it.
Result<std::unique_ptr<EntropySource>> open_entropy_file(const std::string& filename);

}  // namespace godwit
