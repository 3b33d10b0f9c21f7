#include "machine/boot_rom.hpp"

#include "base/byte_order.hpp"
#include "machine/virt_memory_map.hpp"

namespace godwit {
namespace {

// Minimal encoders for the few instructions the reset vector needs
// (RISC-V unprivileged spec, chapter 2 base formats).
constexpr uint32_t kT0 = 5, kA0 = 10, kA1 = 11, kA2 = 12;

constexpr uint32_t i_type(uint32_t imm, uint32_t rs1, uint32_t funct3, uint32_t rd, uint32_t opcode) {
  return (imm & 0xfff) << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | opcode;
}
constexpr uint32_t auipc(uint32_t rd, uint32_t imm20) { return imm20 << 12 | rd << 7 | 0x17; }
constexpr uint32_t addi(uint32_t rd, uint32_t rs1, uint32_t imm) { return i_type(imm, rs1, 0, rd, 0x13); }
constexpr uint32_t ld(uint32_t rd, uint32_t rs1, uint32_t imm) { return i_type(imm, rs1, 3, rd, 0x03); }
constexpr uint32_t csrr(uint32_t rd, uint32_t csr) { return i_type(csr, 0, 2, rd, 0x73); }  // csrrs rd, csr, x0
constexpr uint32_t jr(uint32_t rs1) { return i_type(0, rs1, 0, 0, 0x67); }                   // jalr x0, 0(rs1)

constexpr uint32_t kMhartid = 0xf14;

// Layout of the ROM, byte offsets from its base.
constexpr uint32_t kEntryOffset = 24;
constexpr uint32_t kFdtOffset = 32;
constexpr uint32_t kDynamicInfoOffset = 40;

// OpenSBI's fw_dynamic_info, which QEMU always provides: magic "OSBI",
// version 2, next address, next mode (1 = supervisor), options, boot hart
// (QEMU names hart 0; OpenSBI then lets only it boot the kernel).
constexpr uint64_t kDynamicInfoMagic = 0x4942534f;
constexpr uint64_t kDynamicInfoVersion = 2;
constexpr uint64_t kNextModeSupervisor = 1;
constexpr uint64_t kOptions = 0;
constexpr uint64_t kBootHart = 0;

}  // namespace

std::vector<uint8_t> build_boot_rom(const BootRomConfig& config) {
  const uint32_t code[] = {
      auipc(kT0, 0),                    // t0 = 0x1000
      addi(kA2, kT0, kDynamicInfoOffset),
      csrr(kA0, kMhartid),
      ld(kA1, kT0, kFdtOffset),
      ld(kT0, kT0, kEntryOffset),
      jr(kT0),
  };
  std::vector<uint8_t> rom(virt::kMromSize, 0);
  for (unsigned i = 0; i < std::size(code); ++i) store_le<uint32_t>(&rom[4 * i], code[i]);
  store_le<uint64_t>(&rom[kEntryOffset], config.start_address);
  store_le<uint64_t>(&rom[kFdtOffset], config.fdt_address);
  const uint64_t info[] = {kDynamicInfoMagic,   kDynamicInfoVersion, config.next_address,
                           kNextModeSupervisor, kOptions,            kBootHart};
  for (unsigned i = 0; i < std::size(info); ++i) store_le<uint64_t>(&rom[kDynamicInfoOffset + 8 * i], info[i]);
  return rom;
}

}  // namespace godwit
