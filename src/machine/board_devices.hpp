// The one list of a board's devices. Each entry says where the device sits
// (MMIO window, interrupt), how the stream names its state and how the device
// tree describes it; the board's concerns are one loop each over the list, in
// the list's order: mapping, reset, quiesce, device-tree nodes, migration
// sections. Adding a device to a board is writing the device in its own
// folder and adding one entry.
//
// The stream's sections follow the list's order, so that order is part of
// the stream: append new devices, never reorder.
//
// Threads: built on the main thread before the harts start; reset, quiesce
// and unquiesce on the main thread with the harts parked; sections() on the
// migration thread while the guest is stopped.
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/state_description.hpp"
#include "devices/device.hpp"
#include "machine/fdt_writer.hpp"
#include "memory/address_space.hpp"
#include "migration/device_section.hpp"
#include "migration/state_section.hpp"

namespace godwit {

// What a device's node may refer to in the tree.
struct DeviceTreeLinks {
  unsigned harts = 0;
  uint32_t interrupt_parent = 0;  // phandle of the board's interrupt controller
  uint32_t phandle = 0;           // this node's, when it has one
  std::function<uint32_t(unsigned hart)> cpu_intc;  // phandle of a hart's interrupt controller
};

struct BoardDeviceInfo {
  std::string node_name;  // node `node_name@base` under /soc; also its name in errors
  uint64_t base = 0;
  uint64_t size = 0;
  std::optional<unsigned> irq;  // interrupt controller input, if the device raises one
  std::string section;          // the stream section's idstr (QEMU's name for the device)
  uint32_t instance_id = 0;
  bool phandle = false;                 // other nodes refer to this one
  bool interrupt_controller = false;    // the interrupt-parent of every irq above
  // The node's own properties (compatible first); reg, interrupts and
  // phandle are written from the fields above.
  std::function<void(FdtWriter&, const DeviceTreeLinks&)> node_properties;
};

class BoardDevices {
 public:
  struct Entry {
    BoardDeviceInfo info;
    std::unique_ptr<Device> device;
    std::function<DeviceSection()> section;  // made by add(), which knows the device's type
  };

  // Adds `device` at the end of the list and returns it (the board keeps
  // the pointer for what only it does with the device, e.g. wiring).
  template <class D>
    requires std::derived_from<D, Device> && StateOwner<D>
  D& add(BoardDeviceInfo info, std::unique_ptr<D> device) {
    D& borrowed = *device;
    std::function<DeviceSection()> section = [idstr = info.section, instance = info.instance_id, &borrowed] {
      return state_section(idstr, instance, borrowed);
    };
    entries_.push_back({std::move(info), std::move(device), std::move(section)});
    return borrowed;
  }

  // Maps every device's window; fails naming the device whose window
  // overlaps another region.
  Status map(AddressSpace& memory) const;
  void reset();
  // Device::quiesce of each, in order; unquiesce in reverse order. Calls
  // are balanced for the devices: quiesce() of a quiesced list and
  // unquiesce() of one that is not (the first start) do nothing.
  void quiesce();
  void unquiesce();
  bool quiesced() const { return quiesced_; }
  // Every device's stream section, in list order.
  void append_sections(std::vector<DeviceSection>& sections) const;
  // The /soc nodes: QEMU's board adds each node in front of the ones added
  // before it, so its tree lists devices last to first; this does the same,
  // which keeps Linux probing the virtio transports from the highest
  // address down, as on QEMU. `first_phandle` is the first free phandle.
  void write_nodes(FdtWriter& tree, unsigned harts, uint32_t first_phandle,
                   const std::function<uint32_t(unsigned hart)>& cpu_intc) const;
  // The phandle write_nodes() gives the device named `node_name`, or 0.
  uint32_t phandle_of(const std::string& node_name, uint32_t first_phandle) const;

  std::span<const Entry> entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
  bool quiesced_ = false;
};

}  // namespace godwit
