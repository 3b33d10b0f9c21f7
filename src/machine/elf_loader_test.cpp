#include "machine/elf_loader.hpp"

#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>

namespace godwit {
namespace {

// Builds a small RISC-V ELF: one loadable segment (4 code bytes + bss) and a
// symbol table naming tohost and fromhost.
std::vector<uint8_t> make_elf(uint64_t load_address, uint16_t machine = EM_RISCV) {
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

class ElfLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(memory.map_ram(0x80000000, ram)); }
  std::vector<uint8_t> ram = std::vector<uint8_t>(1 << 20, 0xee);
  AddressSpace memory;
  GuestMemory guest{memory};
};

TEST_F(ElfLoaderTest, LoadsSegmentsZeroesBssAndFindsHtifSymbols) {
  auto kernel = load_kernel(make_elf(0x80000000), guest);
  ASSERT_TRUE(kernel) << kernel.error().message();
  EXPECT_EQ(kernel->entry, 0x80000000u);
  EXPECT_EQ(ram[0], 0x13);
  EXPECT_EQ(ram[4], 0);      // bss cleared
  EXPECT_EQ(ram[0x1ff], 0);
  EXPECT_EQ(ram[0x200], 0xee);  // past memsz untouched
  ASSERT_TRUE(kernel->tohost);
  EXPECT_EQ(*kernel->tohost, 0x80000100u);
  ASSERT_TRUE(kernel->fromhost);
  EXPECT_EQ(*kernel->fromhost, 0x80000108u);
  EXPECT_EQ(kernel->highest_address, 0x80000200u);
}

TEST_F(ElfLoaderTest, RejectsSegmentsOutsideMemory) {
  auto kernel = load_kernel(make_elf(0x40000000), guest);
  ASSERT_FALSE(kernel);
  EXPECT_NE(kernel.error().message().find("ELF segment 0 at 0x40000000"), std::string::npos) << kernel.error().message();
}

TEST_F(ElfLoaderTest, RejectsOtherArchitectures) {
  auto kernel = load_kernel(make_elf(0x80000000, EM_X86_64), guest);
  ASSERT_FALSE(kernel);
  EXPECT_NE(kernel.error().message().find("not for RISC-V"), std::string::npos);
}

TEST_F(ElfLoaderTest, RejectsTruncatedFiles) {
  auto image = make_elf(0x80000000);
  image.resize(sizeof(Elf64_Ehdr) + 10);
  auto kernel = load_kernel(image, guest);
  ASSERT_FALSE(kernel);
  EXPECT_NE(kernel.error().message().find("outside the file"), std::string::npos) << kernel.error().message();
}

TEST_F(ElfLoaderTest, RawImagesGoToTheStartOfRam) {
  auto kernel = load_kernel({0x6f, 0x00, 0x00, 0x00}, guest);
  ASSERT_TRUE(kernel);
  EXPECT_EQ(kernel->entry, 0x80000000u);
  EXPECT_EQ(ram[0], 0x6f);
  EXPECT_FALSE(kernel->tohost);
}

TEST(ReadFile, NamesTheMissingFile) {
  auto data = read_file("/nonexistent/godwit-kernel.elf");
  ASSERT_FALSE(data);
  EXPECT_NE(data.error().message().find("/nonexistent/godwit-kernel.elf"), std::string::npos);
}

}  // namespace
}  // namespace godwit
