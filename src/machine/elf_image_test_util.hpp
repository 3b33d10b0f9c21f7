// Test helper: a small RISC-V ELF executable built in memory.
#pragma once

#include <elf.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace godwit::testing {

// Builds a small RISC-V ELF: one loadable segment (4 code bytes + bss) and a
// symbol table naming tohost and fromhost.
inline std::vector<uint8_t> make_elf(uint64_t load_address, uint16_t machine = EM_RISCV) {
  const char strings[] = "\0tohost\0fromhost\0";
  const uint8_t code[] = {0x13, 0x00, 0x00, 0x00};  // nop
  Elf64_Ehdr header{};
  std::memcpy(header.e_ident, ELFMAG, SELFMAG);
  header.e_ident[EI_CLASS] = ELFCLASS64;
  header.e_ident[EI_DATA] = ELFDATA2LSB;
  header.e_ident[EI_VERSION] = EV_CURRENT;
  header.e_type = ET_EXEC;
  header.e_machine = machine;
  header.e_version = EV_CURRENT;
  header.e_entry = load_address;
  header.e_phoff = sizeof(Elf64_Ehdr);
  header.e_ehsize = sizeof(Elf64_Ehdr);
  header.e_phentsize = sizeof(Elf64_Phdr);
  header.e_phnum = 1;
  header.e_shentsize = sizeof(Elf64_Shdr);

  const uint64_t code_offset = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr);
  const uint64_t symbols_offset = code_offset + sizeof code;
  Elf64_Sym symbols[3]{};
  symbols[1].st_name = 1;
  symbols[1].st_value = load_address + 0x100;
  symbols[2].st_name = 8;
  symbols[2].st_value = load_address + 0x108;
  const uint64_t strings_offset = symbols_offset + sizeof symbols;
  const uint64_t sections_offset = strings_offset + sizeof strings;
  header.e_shoff = sections_offset;
  header.e_shnum = 3;

  Elf64_Phdr segment{};
  segment.p_type = PT_LOAD;
  segment.p_offset = code_offset;
  segment.p_vaddr = segment.p_paddr = load_address;
  segment.p_filesz = sizeof code;
  segment.p_memsz = 0x200;  // bss after the code

  Elf64_Shdr sections[3]{};
  sections[1].sh_type = SHT_SYMTAB;
  sections[1].sh_offset = symbols_offset;
  sections[1].sh_size = sizeof symbols;
  sections[1].sh_entsize = sizeof(Elf64_Sym);
  sections[1].sh_link = 2;
  sections[2].sh_type = SHT_STRTAB;
  sections[2].sh_offset = strings_offset;
  sections[2].sh_size = sizeof strings;

  std::vector<uint8_t> image(sections_offset + sizeof sections);
  std::memcpy(image.data(), &header, sizeof header);
  std::memcpy(image.data() + sizeof header, &segment, sizeof segment);
  std::memcpy(image.data() + code_offset, code, sizeof code);
  std::memcpy(image.data() + symbols_offset, symbols, sizeof symbols);
  std::memcpy(image.data() + strings_offset, strings, sizeof strings);
  std::memcpy(image.data() + sections_offset, sections, sizeof sections);
  return image;
}

}  // namespace godwit::testing
