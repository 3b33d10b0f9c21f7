#include "machine/chosen_fixup.hpp"

#include <gtest/gtest.h>
#include <libfdt.h>

#include <string>
#include <vector>

#include "machine/fdt_writer.hpp"

namespace godwit {
namespace {

std::vector<uint8_t> small_tree(bool with_chosen) {
  FdtWriter w(4096);
  w.begin("");
  w.prop_u32("#address-cells", 2);
  if (with_chosen) {
    w.begin("chosen");
    w.prop_string("stdout-path", "/soc/serial@10000000");
    w.end();
  }
  w.end();
  return *w.finish();
}

// The names of /chosen's properties, in the tree's order.
std::vector<std::string> chosen_names(const std::vector<uint8_t>& tree) {
  std::vector<std::string> names;
  const int chosen = fdt_path_offset(tree.data(), "/chosen");
  int offset = 0;
  fdt_for_each_property_offset(offset, tree.data(), chosen) {
    const char* name = nullptr;
    fdt_getprop_by_offset(tree.data(), offset, &name, nullptr);
    names.emplace_back(name);
  }
  return names;
}

uint64_t u64_prop(const std::vector<uint8_t>& tree, const char* name) {
  int len = 0;
  const void* value = fdt_getprop(tree.data(), fdt_path_offset(tree.data(), "/chosen"), name, &len);
  if (value == nullptr || len != 8) return ~0ull;
  return fdt64_ld(static_cast<const fdt64_t*>(value));  // properties are only 4-byte aligned
}

TEST(ChosenFixup, AddsInitrdAndBootargsInQemusOrder) {
  auto tree = fix_up_chosen(small_tree(true), {.bootargs = "console=ttyS0", .initrd = ChosenFixup::Range{0x88200000, 0x882003e8}});
  ASSERT_TRUE(tree) << tree.error().message();
  EXPECT_EQ(fdt_check_header(tree->data()), 0);
  // qemu-system-riscv64 10.0.2 -append -initrd: bootargs, initrd-end,
  // initrd-start, then what the board wrote.
  EXPECT_EQ(chosen_names(*tree),
            (std::vector<std::string>{"bootargs", "linux,initrd-end", "linux,initrd-start", "stdout-path"}));
  EXPECT_EQ(u64_prop(*tree, "linux,initrd-start"), 0x88200000u);
  EXPECT_EQ(u64_prop(*tree, "linux,initrd-end"), 0x882003e8u);
  EXPECT_STREQ(static_cast<const char*>(fdt_getprop(tree->data(), fdt_path_offset(tree->data(), "/chosen"), "bootargs", nullptr)),
               "console=ttyS0");
  EXPECT_EQ(tree->size(), fdt_totalsize(tree->data()));  // packed
}

TEST(ChosenFixup, NothingToAddLeavesChosenAlone) {
  auto tree = fix_up_chosen(small_tree(true), {});
  ASSERT_TRUE(tree);
  EXPECT_EQ(chosen_names(*tree), std::vector<std::string>{"stdout-path"});
  // Without /chosen there is nothing to fix up either.
  EXPECT_TRUE(fix_up_chosen(small_tree(false), {}));
}

TEST(ChosenFixup, NamesWhatIsWrong) {
  auto missing = fix_up_chosen(small_tree(false), {.bootargs = "x", .initrd = std::nullopt});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(), "the device tree has no /chosen node");
  const std::vector<uint8_t> text(100, 'x');
  auto garbage = fix_up_chosen(text, {});
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.error().message().find("FDT_ERR_BADMAGIC"), std::string::npos) << garbage.error().message();
  auto truncated_tree = small_tree(true);
  truncated_tree.resize(truncated_tree.size() / 2);
  EXPECT_FALSE(fix_up_chosen(truncated_tree, {}));
  EXPECT_FALSE(fix_up_chosen({}, {}));
}

}  // namespace
}  // namespace godwit
