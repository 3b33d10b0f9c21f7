#include "machine/device_tree.hpp"

#include <libfdt.h>

#include <algorithm>
#include <cstdio>
#include <initializer_list>

#include "machine/virt_memory_map.hpp"

namespace godwit {
namespace {

// The ISA godwit's harts implement, in the two spellings Linux reads.
constexpr const char kIsaString[] = "rv64imac_zicntr_zicsr_zifencei";
constexpr const char* kIsaExtensions[] = {"i", "m", "a", "c", "zicntr", "zicsr", "zifencei"};

// Sequential-write helper: checks every libfdt call and keeps the first error.
class TreeWriter {
 public:
  explicit TreeWriter(size_t capacity) : blob_(capacity) {
    check(fdt_create(blob_.data(), static_cast<int>(blob_.size())), "create");
    check(fdt_finish_reservemap(blob_.data()), "reserve map");
  }

  void begin(const std::string& name) { check(fdt_begin_node(blob_.data(), name.c_str()), name); }
  void end() { check(fdt_end_node(blob_.data()), "end node"); }
  void prop_u32(const char* name, uint32_t value) { check(fdt_property_u32(blob_.data(), name, value), name); }
  void prop_cells(const char* name, std::initializer_list<uint32_t> cells) { prop_cells(name, std::vector<uint32_t>(cells)); }
  void prop_cells(const char* name, const std::vector<uint32_t>& cells) {
    std::vector<fdt32_t> be;
    for (uint32_t c : cells) be.push_back(cpu_to_fdt32(c));
    check(fdt_property(blob_.data(), name, be.data(), static_cast<int>(be.size() * sizeof(fdt32_t))), name);
  }
  // reg = <base size> with #address-cells = #size-cells = 2.
  void prop_reg(uint64_t base, uint64_t size) {
    prop_cells("reg", {static_cast<uint32_t>(base >> 32), static_cast<uint32_t>(base),
                       static_cast<uint32_t>(size >> 32), static_cast<uint32_t>(size)});
  }
  void prop_string(const char* name, const std::string& value) { check(fdt_property_string(blob_.data(), name, value.c_str()), name); }
  // A string list, e.g. compatible = "sifive,plic-1.0.0", "riscv,plic0".
  template <class Strings>
  void prop_strings(const char* name, const Strings& values) {
    std::string joined;
    for (const char* v : values) {
      joined += v;
      joined.push_back('\0');
    }
    check(fdt_property(blob_.data(), name, joined.data(), static_cast<int>(joined.size())), name);
  }
  void prop_strings(const char* name, std::initializer_list<const char*> values) {
    prop_strings<std::initializer_list<const char*>>(name, values);
  }
  void prop_empty(const char* name) { check(fdt_property(blob_.data(), name, nullptr, 0), name); }

  Result<std::vector<uint8_t>> finish() {
    check(fdt_finish(blob_.data()), "finish");
    if (!error_.empty()) return fail("building the device tree: " + error_);
    blob_.resize(fdt_totalsize(blob_.data()));
    return std::move(blob_);
  }

 private:
  void check(int rc, const std::string& what) {
    if (rc < 0 && error_.empty()) error_ = what + ": " + fdt_strerror(rc);
  }

  std::vector<uint8_t> blob_;
  std::string error_;
};

std::string node_name(const char* base, uint64_t address) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%s@%llx", base, static_cast<unsigned long long>(address));
  return buffer;
}

}  // namespace

Result<std::vector<uint8_t>> build_device_tree(const DeviceTreeConfig& config) {
  // Phandles: each hart's cpu node and its interrupt controller, then the
  // PLIC and the test device.
  auto cpu_phandle = [](unsigned hart) { return 1 + 2 * hart; };
  auto intc_phandle = [](unsigned hart) { return 2 + 2 * hart; };
  const uint32_t plic_phandle = 2 * config.harts + 1;
  const uint32_t test_phandle = 2 * config.harts + 2;

  TreeWriter w(64 * 1024);
  w.begin("");
  w.prop_u32("#address-cells", 2);
  w.prop_u32("#size-cells", 2);
  w.prop_string("compatible", "riscv-virtio");
  w.prop_string("model", "riscv-virtio,qemu");

  // syscon-poweroff / syscon-reboot drive the sifive_test device.
  w.begin("poweroff");
  w.prop_u32("value", 0x5555);
  w.prop_u32("offset", 0);
  w.prop_u32("regmap", test_phandle);
  w.prop_string("compatible", "syscon-poweroff");
  w.end();
  w.begin("reboot");
  w.prop_u32("value", 0x7777);
  w.prop_u32("offset", 0);
  w.prop_u32("regmap", test_phandle);
  w.prop_string("compatible", "syscon-reboot");
  w.end();

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
  if (!config.bootargs.empty()) w.prop_string("bootargs", config.bootargs);
  w.end();

  w.begin("soc");
  w.prop_u32("#address-cells", 2);
  w.prop_u32("#size-cells", 2);
  w.prop_string("compatible", "simple-bus");
  w.prop_empty("ranges");

  w.begin(node_name("rtc", virt::kRtcBase));
  w.prop_u32("interrupts", virt::kRtcIrq);
  w.prop_u32("interrupt-parent", plic_phandle);
  w.prop_reg(virt::kRtcBase, virt::kRtcSize);
  w.prop_string("compatible", "google,goldfish-rtc");
  w.end();

  w.begin(node_name("serial", virt::kUartBase));
  w.prop_u32("interrupts", virt::kUartIrq);
  w.prop_u32("interrupt-parent", plic_phandle);
  w.prop_u32("clock-frequency", virt::kUartClockHz);
  w.prop_reg(virt::kUartBase, virt::kUartSize);
  w.prop_string("compatible", "ns16550a");
  w.end();

  w.begin(node_name("test", virt::kTestBase));
  w.prop_u32("phandle", test_phandle);
  w.prop_reg(virt::kTestBase, virt::kTestSize);
  w.prop_strings("compatible", {"sifive,test1", "sifive,test0", "syscon"});
  w.end();

  // QEMU lists the transports from the highest address down.
  for (unsigned i = virt::kVirtioCount; i-- > 0;) {
    const uint64_t base = virt::kVirtioBase + i * virt::kVirtioStride;
    w.begin(node_name("virtio_mmio", base));
    w.prop_u32("interrupts", virt::kVirtioIrqFirst + i);
    w.prop_u32("interrupt-parent", plic_phandle);
    w.prop_reg(base, virt::kVirtioStride);
    w.prop_string("compatible", "virtio,mmio");
    w.end();
  }

  // Each hart has an M-mode (11 = MEI) and an S-mode (9 = SEI) context.
  std::vector<uint32_t> plic_contexts;
  std::vector<uint32_t> clint_lines;
  for (unsigned hart = 0; hart < config.harts; ++hart) {
    plic_contexts.insert(plic_contexts.end(), {intc_phandle(hart), 11, intc_phandle(hart), 9});
    clint_lines.insert(clint_lines.end(), {intc_phandle(hart), 3, intc_phandle(hart), 7});
  }
  w.begin(node_name("plic", virt::kPlicBase));
  w.prop_u32("phandle", plic_phandle);
  w.prop_u32("riscv,ndev", virt::kPlicSources);
  w.prop_reg(virt::kPlicBase, virt::kPlicSize);
  w.prop_cells("interrupts-extended", plic_contexts);
  w.prop_empty("interrupt-controller");
  w.prop_strings("compatible", {"sifive,plic-1.0.0", "riscv,plic0"});
  w.prop_u32("#address-cells", 0);
  w.prop_u32("#interrupt-cells", 1);
  w.end();

  w.begin(node_name("clint", virt::kClintBase));
  w.prop_cells("interrupts-extended", clint_lines);
  w.prop_reg(virt::kClintBase, virt::kClintSize);
  w.prop_strings("compatible", {"sifive,clint0", "riscv,clint0"});
  w.end();

  w.end();  // soc
  w.end();  // root
  return w.finish();
}

uint64_t device_tree_address(uint64_t ram_base, uint64_t ram_size, uint64_t fdt_size) {
  constexpr uint64_t kThreeGiB = 3ull << 30;
  constexpr uint64_t kTwoMiB = 2ull << 20;
  const uint64_t ram_end = ram_base + ram_size;
  const uint64_t top = ram_base < kThreeGiB ? std::min(ram_end, kThreeGiB) : ram_end;
  return (top - fdt_size) & ~(kTwoMiB - 1);
}

}  // namespace godwit
