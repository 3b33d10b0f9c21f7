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

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "memory/mmio_device.hpp"
#include "devices/power_control.hpp"
#include "migration/stream_reader.hpp"
#include "migration/stream_writer.hpp"
#include "migration/vmstate.hpp"

namespace godwit {

class SifiveTest final : public MmioDevice {
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
  // Migration of the empty description: a version check and nothing else.
  void save(StreamWriter& out) const {
    State copy = state_;
    save_state(out, copy);
  }
  Status load(StreamReader& in, uint32_t version_id) {
    State loaded = state_;
    return load_state(in, loaded, version_id);
  }
  nlohmann::json describe() const {
    State copy = state_;
    return describe_state(copy);
  }

  void reset() {}

 private:
  PowerControl& power_;
  State state_;
};

}  // namespace godwit
