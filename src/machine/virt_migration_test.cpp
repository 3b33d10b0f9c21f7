#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>

#include "machine/spin_machine_test_util.hpp"
#include "machine/virt_machine.hpp"

namespace godwit {
namespace {

using namespace std::chrono_literals;

class MachineSectionsTest : public ::testing::Test {
 protected:

  std::unique_ptr<VirtMachine> make(unsigned harts) {
    auto machine = VirtMachine::create(testing::spin_config(kernel_.path(), harts));
    EXPECT_TRUE(machine) << machine.error().message();
    (*machine)->start();
    return std::move(*machine);
  }

  static std::vector<uint8_t> save(VirtMachine& vm) {
    MemorySink sink;
    StreamWriter out(sink);
    savevm::Writer writer(out);
    writer.write_header("virt");
    uint32_t next_id = 0;
    nlohmann::json devices = nlohmann::json::array();
    write_device_sections(writer, vm.migration_side().device_sections(), next_id, &devices);
    writer.write_eof({{"page_size", savevm::kPageSize}, {"devices", devices}});
    EXPECT_TRUE(out.flush());
    return sink.data();
  }

  static Status load(VirtMachine& vm, const std::vector<uint8_t>& bytes) {
    MemorySource source(bytes);
    StreamReader in(source);
    savevm::Reader reader(in);
    if (auto s = reader.read_header("virt"); !s) return s;
    const auto sections = vm.migration_side().device_sections();
    for (;;) {
      auto header = reader.read_section_header();
      if (!header) return std::unexpected(header.error());
      if (header->type == savevm::kEof) return {};
      if (auto s = load_device_section(reader, *header, sections); !s) return s;
    }
  }

  testing::SpinKernel kernel_;
};

TEST_F(MachineSectionsTest, DeviceStateMovesToAnIdenticalMachineAndRunsOn) {
  auto source = make(2);
  source->resume();
  std::this_thread::sleep_for(20ms);
  source->pause();
  const uint64_t counter = source->hart(1).state().x[15];
  const uint64_t pc = source->hart(1).state().pc;
  const uint64_t guest_ns = source->clock().ns();
  ASSERT_GT(counter, 0u);
  const auto bytes = save(*source);

  auto destination = make(2);
  ASSERT_TRUE(load(*destination, bytes));
  EXPECT_EQ(destination->hart(1).state().x[15], counter);
  EXPECT_EQ(destination->hart(1).state().pc, pc);
  EXPECT_EQ(destination->clock().ns(), guest_ns);  // guest time continues, not restarts

  // The destination's guest goes on counting from where the source stopped.
  destination->resume();
  std::this_thread::sleep_for(10ms);
  destination->pause();
  EXPECT_GT(destination->hart(1).state().x[15], counter);
  EXPECT_GE(destination->clock().ns(), guest_ns);
}

TEST_F(MachineSectionsTest, DescriptionNamesEverySection) {
  auto vm = make(1);
  const auto sections = vm->migration_side().device_sections();
  std::vector<std::string> names;
  for (const auto& s : sections) names.push_back(s.idstr + "/" + std::to_string(s.instance_id));
  EXPECT_EQ(names[0], "virt-machine/0");
  EXPECT_EQ(names[1], "timer/0");
  EXPECT_EQ(names[2], "globalstate/0");
  EXPECT_EQ(names[3], "godwit-pause/0");
  EXPECT_EQ(names[4], "cpu/0");
  EXPECT_NE(std::find(names.begin(), names.end(), "serial/0"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "virtio-mmio/7"), names.end());
}

TEST_F(MachineSectionsTest, DifferentHartCountIsRefusedWithAClearError) {
  auto source = make(4);
  const auto bytes = save(*source);
  auto destination = make(2);
  auto status = load(*destination, bytes);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message(),
            "loading section 'virt-machine' instance 0: virt-machine: field harts: stream has 4, this machine has 2");
}

}  // namespace
}  // namespace godwit
