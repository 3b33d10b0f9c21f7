#include "machine/device_tree.hpp"

#include <cstdio>

#include "machine/fdt_writer.hpp"
#include "machine/virt_memory_map.hpp"

namespace godwit {
namespace {

// The ISA godwit's harts implement, in the two spellings Linux reads, in
// QEMU's order (single letters, then Z extensions, then S extensions).
// Sstc lets Linux program stimecmp itself instead of an SBI call per tick.
// Sdtrig is not named: QEMU's rv64 has the triggers but does not list it.
constexpr const char kIsaString[] = "rv64imafdc_zicntr_zicsr_zifencei_sstc";
constexpr const char* kIsaExtensions[] = {"i", "m", "a", "f", "d", "c", "zicntr", "zicsr", "zifencei", "sstc"};

std::string node_name(const char* base, uint64_t address) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%s@%llx", base, static_cast<unsigned long long>(address));
  return buffer;
}

}  // namespace

Result<std::vector<uint8_t>> build_device_tree(const DeviceTreeConfig& config) {
  // Phandles: each hart's cpu node and its interrupt controller, the last
  // hart's first as QEMU numbers them, then the board's devices that have
  // one (BoardDevices::write_nodes).
  const unsigned harts = config.harts;
  auto cpu_phandle = [harts](unsigned hart) { return 1 + 2 * (harts - 1 - hart); };
  auto intc_phandle = [harts](unsigned hart) -> uint32_t { return 2 + 2 * (harts - 1 - hart); };
  const uint32_t first_device_phandle = 2 * config.harts + 1;
  const uint32_t test_phandle = config.devices ? config.devices->phandle_of("test", first_device_phandle) : 0;

  FdtWriter w(64 * 1024);
  w.begin("");
  w.prop_u32("#address-cells", 2);
  w.prop_u32("#size-cells", 2);
  w.prop_string("compatible", "riscv-virtio");
  w.prop_string("model", "riscv-virtio,qemu");

  // syscon-poweroff / syscon-reboot drive the sifive_test device: the
  // value written to its register does what the node's name says.
  if (test_phandle != 0) {
    struct Syscon {
      const char* node;
      uint32_t value;
    };
    for (const Syscon& syscon : {Syscon{"poweroff", 0x5555}, Syscon{"reboot", 0x7777}}) {
      w.begin(syscon.node);
      w.prop_u32("value", syscon.value);
      w.prop_u32("offset", 0);
      w.prop_u32("regmap", test_phandle);
      w.prop_string("compatible", std::string("syscon-") + syscon.node);
      w.end();
    }
  }

  w.begin(node_name("memory", config.ram_base));
  w.prop_string("device_type", "memory");
  w.prop_reg(config.ram_base, config.ram_size);
  w.end();

  w.begin("cpus");
  w.prop_u32("#address-cells", 1);
  w.prop_u32("#size-cells", 0);
  w.prop_u32("timebase-frequency", 10'000'000);
  for (unsigned hart = 0; hart < config.harts; ++hart) {
    w.begin(node_name("cpu", hart));
    w.prop_u32("phandle", cpu_phandle(hart));
    w.prop_string("device_type", "cpu");
    w.prop_u32("reg", hart);
    w.prop_string("status", "okay");
    w.prop_string("compatible", "riscv");
    w.prop_string("riscv,isa", kIsaString);
    w.prop_string("riscv,isa-base", "rv64i");
    w.prop_strings("riscv,isa-extensions", kIsaExtensions);
    w.prop_string("mmu-type", "riscv,sv39");
    w.begin("interrupt-controller");
    w.prop_u32("#interrupt-cells", 1);
    w.prop_empty("interrupt-controller");
    w.prop_string("compatible", "riscv,cpu-intc");
    w.prop_u32("phandle", intc_phandle(hart));
    w.end();
    w.end();
  }
  w.begin("cpu-map");
  w.begin("cluster0");
  for (unsigned hart = 0; hart < config.harts; ++hart) {
    w.begin("core" + std::to_string(hart));
    w.prop_u32("cpu", cpu_phandle(hart));
    w.end();
  }
  w.end();
  w.end();
  w.end();  // cpus

  w.begin("aliases");
  w.prop_string("serial0", node_name("/soc/serial", virt::kUartBase));
  w.end();

  w.begin("chosen");
  w.prop_string("stdout-path", node_name("/soc/serial", virt::kUartBase));
  if (!config.rng_seed.empty()) w.prop_bytes("rng-seed", config.rng_seed);
  w.end();

  w.begin("soc");
  w.prop_u32("#address-cells", 2);
  w.prop_u32("#size-cells", 2);
  w.prop_string("compatible", "simple-bus");
  w.prop_empty("ranges");

  if (config.devices) config.devices->write_nodes(w, config.harts, first_device_phandle, intc_phandle);
  w.end();  // soc
  w.end();  // root
  return w.finish();
}

}  // namespace godwit
