// Test helpers: a raw kernel that counts forever in a5 (`1: addi a5, a5, 1;
// j 1b`) and the configuration of a small machine that runs it, created
// with -S so a test decides when the harts start.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "machine/machine_config.hpp"

namespace godwit::testing_util {

// Writes the kernel to a file named after `tag` and the process; the caller unlinks it.
inline std::string write_spin_kernel(const std::string& tag) {
  const std::string path = ::testing::TempDir() + "godwit-spin-" + tag + "-" + std::to_string(getpid()) + ".bin";
  const uint32_t code[] = {0x00178793, 0xffdff06f};
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(code), sizeof code);
  return path;
}

inline MachineConfig spin_config(const std::string& kernel, unsigned harts = 2) {
  MachineConfig config;
  config.ram_size_bytes = 16ull << 20;
  config.smp = harts;
  config.kernel_path = kernel;
  config.start_paused = true;
  config.name = "unit";
  return config;
}

}  // namespace godwit::testing_util
