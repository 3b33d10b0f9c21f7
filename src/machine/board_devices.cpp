#include "machine/board_devices.hpp"

#include <cstdio>

namespace godwit {

Status BoardDevices::map(AddressSpace& memory) const {
  for (const Entry& entry : entries_) {
    if (auto status = memory.map_mmio(entry.info.base, entry.info.size, *entry.device); !status) return status;
  }
  return {};
}

void BoardDevices::reset() {
  for (Entry& entry : entries_) entry.device->reset();
}

void BoardDevices::quiesce() {
  if (quiesced_) return;
  quiesced_ = true;
  for (Entry& entry : entries_) entry.device->quiesce();
}

void BoardDevices::unquiesce() {
  if (!quiesced_) return;
  quiesced_ = false;
  for (auto entry = entries_.rbegin(); entry != entries_.rend(); ++entry) entry->device->unquiesce();
}

void BoardDevices::append_sections(std::vector<DeviceSection>& sections) const {
  for (const Entry& entry : entries_) sections.push_back(entry.section());
}

uint32_t BoardDevices::phandle_of(const std::string& node_name, uint32_t first_phandle) const {
  uint32_t next = first_phandle;
  for (const Entry& entry : entries_) {
    if (!entry.info.phandle) continue;
    if (entry.info.node_name == node_name) return next;
    ++next;
  }
  return 0;
}

void BoardDevices::write_nodes(FdtWriter& tree, unsigned harts, uint32_t first_phandle,
                               const std::function<uint32_t(unsigned hart)>& cpu_intc) const {
  // Phandles in list order, so they do not depend on the tree's order.
  std::vector<uint32_t> phandles(entries_.size(), 0);
  uint32_t next = first_phandle;
  uint32_t interrupt_parent = 0;
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (!entries_[i].info.phandle) continue;
    phandles[i] = next++;
    if (entries_[i].info.interrupt_controller) interrupt_parent = phandles[i];
  }
  for (size_t i = entries_.size(); i-- > 0;) {
    const BoardDeviceInfo& info = entries_[i].info;
    char name[96];
    std::snprintf(name, sizeof name, "%s@%llx", info.node_name.c_str(), static_cast<unsigned long long>(info.base));
    tree.begin(name);
    if (info.phandle) tree.prop_u32("phandle", phandles[i]);
    if (info.irq) {
      tree.prop_u32("interrupts", *info.irq);
      tree.prop_u32("interrupt-parent", interrupt_parent);
    }
    tree.prop_reg(info.base, info.size);
    if (info.node_properties) info.node_properties(tree, {harts, interrupt_parent, phandles[i], cpu_intc});
    tree.end();
  }
}

}  // namespace godwit
