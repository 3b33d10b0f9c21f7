// Writes a flattened device tree front to back with libfdt's sequential-write
// calls, checking every call and keeping the first error, so a builder reads
// as the tree it writes.
#pragma once

#include <libfdt.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "base/error.hpp"

namespace godwit {

class FdtWriter {
 public:
  explicit FdtWriter(size_t capacity) : blob_(capacity) {
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
  void prop_bytes(const char* name, const std::vector<uint8_t>& bytes) {
    check(fdt_property(blob_.data(), name, bytes.data(), static_cast<int>(bytes.size())), name);
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

}  // namespace godwit
