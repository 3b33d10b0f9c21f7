#include "machine/elf_loader.hpp"

#include <elf.h>

#include <cstdio>
#include <cstring>
#include <string_view>

#include "base/hex.hpp"

namespace godwit {
namespace {

Status place(GuestMemory& memory, uint64_t pa, std::span<const uint8_t> bytes, KernelPlacement placement) {
  if (placement == KernelPlacement::kRamFromMigration && memory.is_ram(pa, bytes.size())) return {};
  return memory.write(pa, bytes);
}

// Copies a struct out of the image after checking it lies inside.
template <class T>
bool read_struct(std::span<const uint8_t> image, uint64_t offset, T& out) {
  if (offset > image.size() || sizeof(T) > image.size() - offset) return false;
  std::memcpy(&out, image.data() + offset, sizeof(T));
  return true;
}

bool is_riscv64_elf(std::span<const uint8_t> image) {
  Elf64_Ehdr header;
  if (!read_struct(image, 0, header)) return false;
  return std::memcmp(header.e_ident, ELFMAG, SELFMAG) == 0;
}

// Finds tohost/fromhost in the symbol table, if there is one.
void find_htif_symbols(std::span<const uint8_t> image, const Elf64_Ehdr& header, LoadedKernel& kernel) {
  for (unsigned i = 0; i < header.e_shnum; ++i) {
    Elf64_Shdr symtab;
    if (!read_struct(image, header.e_shoff + uint64_t{i} * header.e_shentsize, symtab)) return;
    if (symtab.sh_type != SHT_SYMTAB || symtab.sh_entsize != sizeof(Elf64_Sym)) continue;
    Elf64_Shdr strtab;
    if (!read_struct(image, header.e_shoff + uint64_t{symtab.sh_link} * header.e_shentsize, strtab)) return;
    if (strtab.sh_offset > image.size() || strtab.sh_size > image.size() - strtab.sh_offset) return;
    const std::string_view strings(reinterpret_cast<const char*>(image.data() + strtab.sh_offset), strtab.sh_size);
    for (uint64_t off = 0; off + sizeof(Elf64_Sym) <= symtab.sh_size; off += sizeof(Elf64_Sym)) {
      Elf64_Sym sym;
      if (!read_struct(image, symtab.sh_offset + off, sym)) return;
      if (sym.st_name >= strings.size()) continue;
      const std::string_view rest = strings.substr(sym.st_name);
      const std::string_view name = rest.substr(0, rest.find('\0'));
      if (name == "tohost") kernel.tohost = sym.st_value;
      if (name == "fromhost") kernel.fromhost = sym.st_value;
    }
  }
}

Result<LoadedKernel> load_elf(std::span<const uint8_t> image, GuestMemory memory, KernelPlacement placement) {
  Elf64_Ehdr header;
  read_struct(image, 0, header);
  if (header.e_ident[EI_CLASS] != ELFCLASS64) return fail("not a 64-bit ELF file");
  if (header.e_ident[EI_DATA] != ELFDATA2LSB) return fail("not a little-endian ELF file");
  if (header.e_machine != EM_RISCV) return fail("ELF file is not for RISC-V (e_machine " + std::to_string(header.e_machine) + ")");
  if (header.e_type != ET_EXEC) return fail("ELF file is not an executable");
  if (header.e_phentsize != sizeof(Elf64_Phdr)) return fail("ELF program header size is " + std::to_string(header.e_phentsize));

  LoadedKernel kernel;
  kernel.entry = header.e_entry;
  bool loaded_any = false;
  for (unsigned i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr segment;
    if (!read_struct(image, header.e_phoff + uint64_t{i} * sizeof(Elf64_Phdr), segment)) {
      return fail("ELF program header " + std::to_string(i) + " lies outside the file");
    }
    if (segment.p_type != PT_LOAD || segment.p_memsz == 0) continue;
    if (segment.p_filesz > segment.p_memsz) return fail("ELF segment " + std::to_string(i) + " has filesz > memsz");
    if (segment.p_offset > image.size() || segment.p_filesz > image.size() - segment.p_offset) {
      return fail("ELF segment " + std::to_string(i) + " lies outside the file");
    }
    const std::string where = "ELF segment " + std::to_string(i) + " at " + hex(segment.p_paddr) + " (" +
                              std::to_string(segment.p_memsz) + " bytes)";
    auto status = place(memory, segment.p_paddr, {image.data() + segment.p_offset, segment.p_filesz}, placement);
    if (!status) return std::unexpected(std::move(status.error()).context(where + " does not fit in guest memory"));
    if (segment.p_memsz > segment.p_filesz) {
      const std::vector<uint8_t> zeros(segment.p_memsz - segment.p_filesz);
      status = place(memory, segment.p_paddr + segment.p_filesz, zeros, placement);
      if (!status) return std::unexpected(std::move(status.error()).context(where + " does not fit in guest memory"));
    }
    kernel.lowest_address = loaded_any ? std::min(kernel.lowest_address, segment.p_paddr) : segment.p_paddr;
    kernel.highest_address = std::max(kernel.highest_address, segment.p_paddr + segment.p_memsz);
    loaded_any = true;
  }
  if (!loaded_any) return fail("ELF file has no loadable segment");
  find_htif_symbols(image, header, kernel);
  return kernel;
}

}  // namespace

Result<LoadedKernel> load_kernel(std::span<const uint8_t> image, GuestMemory memory, KernelPlacement placement,
                                 uint64_t raw_address) {
  if (image.empty()) return fail("the file is empty");
  if (is_riscv64_elf(image)) return load_elf(image, memory, placement);
  if (!memory.is_ram(raw_address, image.size())) {
    return fail("its " + std::to_string(image.size()) + " bytes do not fit in RAM at " + hex(raw_address));
  }
  auto status = place(memory, raw_address, image, placement);
  if (!status) return std::unexpected(std::move(status.error()).context("raw image at " + hex(raw_address)));
  LoadedKernel kernel;
  kernel.entry = raw_address;
  kernel.lowest_address = raw_address;
  kernel.highest_address = raw_address + image.size();
  return kernel;
}

}  // namespace godwit
