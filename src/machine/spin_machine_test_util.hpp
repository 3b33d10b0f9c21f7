// Test helpers: a raw kernel that counts forever in a5 (`1: addi a5, a5, 1;
// j 1b`) and the configuration of a small machine that runs it, created
// with -S so a test decides when the harts start.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "base/temp_dir_test_util.hpp"
#include "machine/machine_config.hpp"

namespace godwit::testing {

// The kernel in a file of its own temporary directory, removed with it.
class SpinKernel {
 public:
  SpinKernel() {
    const uint32_t code[] = {0x00178793, 0xffdff06f};
    std::ofstream(path_, std::ios::binary).write(reinterpret_cast<const char*>(code), sizeof code);
  }
  const std::string& path() const { return path_; }

 private:
  TempDir dir_;
  std::string path_ = dir_ / "spin.bin";
};

inline MachineConfig spin_config(const std::string& kernel, unsigned harts = 2) {
  MachineConfig config;
  config.ram_size_bytes = 16ull << 20;
  config.smp = harts;
  config.bios = "none";  // the kernel itself at the start of RAM, in M-mode
  config.kernel_path = kernel;
  config.start_paused = true;
  config.name = "unit";
  return config;
}

inline MachineConfig spin_config(const SpinKernel& kernel, unsigned harts = 2) { return spin_config(kernel.path(), harts); }

}  // namespace godwit::testing
