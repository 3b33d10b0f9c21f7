// SiFive "test" finisher (QEMU's sifive_test, compatible "sifive,test1"):
// one write-only register through which a guest powers off or resets the
// machine.
//
// Layout: offset 0, written with status in bits 15:0 and an exit code in
// bits 31:16: 0x5555 pass (exit 0), 0x3333 fail (exit code), 0x7777 reset.
// Reads return 0. Like QEMU, only 2- and 4-byte accesses are honoured.
//
// Threads: write() on hart threads; the device has no state of its own.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/error.hpp"
#include "base/state_description.hpp"
#include "devices/device.hpp"
#include "devices/power_control.hpp"

namespace godwit {

class SifiveTest final : public Device {
 public:
  static constexpr uint64_t kWindowBytes = 0x1000;
  static constexpr uint32_t kFail = 0x3333;
  static constexpr uint32_t kPass = 0x5555;
  static constexpr uint32_t kReset = 0x7777;

  // Nothing to save: the finisher only forwards requests (QEMU's sifive_test
  // has no VMState either). The empty description lets the machine treat
  // every device alike.
  struct State {
    static constexpr VMStateInfo kVMState{"riscv.sifive.test", 1, 1};
    template <class V>
    void visit_state(V&) {}
  };

  explicit SifiveTest(PowerControl& power) : power_(power) {}

  std::string_view name() const override { return "sifive_test"; }
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  // The empty description: its section is a version check and nothing else.
  State snapshot() const { return {}; }
  Status restore(const State&) { return {}; }

 private:
  PowerControl& power_;
};

}  // namespace godwit
