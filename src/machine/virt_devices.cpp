#include "machine/virt_devices.hpp"

#include <memory>

#include "devices/clint.hpp"
#include "devices/sifive_test_device.hpp"
#include "devices/uart16550.hpp"
#include "virtio/virtio_mmio.hpp"
#include "machine/virt_memory_map.hpp"

namespace godwit {

VirtDeviceHandles add_virt_devices(BoardDevices& devices, VirtDeviceWiring wiring) {
  using Links = DeviceTreeLinks;
  VirtDeviceHandles handles;

  devices.add({.node_name = "clint",
               .base = virt::kClintBase,
               .size = virt::kClintSize,
               .section = "riscv_aclint",
               .node_properties = [](FdtWriter& tree, const Links& links) {
                 // Each hart's software (3 = MSI) and timer (7 = MTI) interrupts.
                 std::vector<uint32_t> lines;
                 for (unsigned hart = 0; hart < links.harts; ++hart) {
                   lines.insert(lines.end(), {links.cpu_intc(hart), 3, links.cpu_intc(hart), 7});
                 }
                 tree.prop_cells("interrupts-extended", lines);
                 tree.prop_strings("compatible", {"sifive,clint0", "riscv,clint0"});
               }},
              std::make_unique<Clint>(wiring.harts, wiring.clock));

  handles.plic = &devices.add({.node_name = "plic",
                               .base = virt::kPlicBase,
                               .size = virt::kPlicSize,
                               .section = "riscv_sifive_plic",
                               .phandle = true,
                               .interrupt_controller = true,
                               .node_properties = [](FdtWriter& tree, const Links& links) {
                                 // Each hart has an M-mode (11 = MEI) and an S-mode (9 = SEI) context.
                                 std::vector<uint32_t> contexts;
                                 for (unsigned hart = 0; hart < links.harts; ++hart) {
                                   contexts.insert(contexts.end(), {links.cpu_intc(hart), 11, links.cpu_intc(hart), 9});
                                 }
                                 tree.prop_u32("riscv,ndev", virt::kPlicSources);
                                 tree.prop_cells("interrupts-extended", contexts);
                                 tree.prop_empty("interrupt-controller");
                                 tree.prop_strings("compatible", {"sifive,plic-1.0.0", "riscv,plic0"});
                                 tree.prop_u32("#address-cells", 0);
                                 tree.prop_u32("#interrupt-cells", 1);
                               }},
                              std::make_unique<Plic>(wiring.harts, virt::kPlicSources));
  Plic* plic = handles.plic;

  devices.add({.node_name = "serial",
               .base = virt::kUartBase,
               .size = virt::kUartSize,
               .irq = virt::kUartIrq,
               .section = "serial",
               .node_properties = [](FdtWriter& tree, const Links&) {
                 tree.prop_u32("clock-frequency", virt::kUartClockHz);
                 tree.prop_string("compatible", "ns16550a");
               }},
              std::make_unique<Uart16550>(wiring.serial, IrqLine(plic, virt::kUartIrq)));

  handles.rtc = &devices.add({.node_name = "rtc",
                              .base = virt::kRtcBase,
                              .size = virt::kRtcSize,
                              .irq = virt::kRtcIrq,
                              .section = "goldfish_rtc",
                              .node_properties = [](FdtWriter& tree, const Links&) { tree.prop_string("compatible", "google,goldfish-rtc"); }},
                             std::make_unique<GoldfishRtc>(wiring.clock, IrqLine(plic, virt::kRtcIrq)));

  // The syscon-poweroff and syscon-reboot nodes refer to it by phandle.
  devices.add({.node_name = "test",
               .base = virt::kTestBase,
               .size = virt::kTestSize,
               .section = "riscv.sifive.test",
               .phandle = true,
               .node_properties = [](FdtWriter& tree, const Links&) { tree.prop_strings("compatible", {"sifive,test1", "sifive,test0", "syscon"}); }},
              std::make_unique<SifiveTest>(wiring.power));

  for (unsigned i = 0; i < virt::kVirtioCount; ++i) {
    const unsigned irq = virt::kVirtioIrqFirst + i;
    BoardDeviceInfo info{.node_name = "virtio_mmio",
                         .base = virt::kVirtioBase + i * virt::kVirtioStride,
                         .size = virt::kVirtioStride,
                         .irq = irq,
                         .section = "virtio-mmio",
                         .instance_id = i,
                         .node_properties = [](FdtWriter& tree, const Links&) { tree.prop_string("compatible", "virtio,mmio"); }};
    // QEMU plugs the first -device into the last transport created.
    const unsigned plug = virt::kVirtioCount - 1 - i;
    if (plug < wiring.virtio.size()) {
      wiring.virtio[plug](devices, std::move(info), IrqLine(plic, irq), wiring.virtio_legacy);
    } else {
      devices.add(std::move(info), std::make_unique<VirtioMmio>(IrqLine(plic, irq), wiring.virtio_legacy));
    }
  }
  return handles;
}

}  // namespace godwit
