#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "monitor/command_context.hpp"
#include "monitor/monitor_test_util.hpp"

namespace godwit {
namespace {

class QmpCommandsTest : public testing::SpinMachineTest {
 protected:
  QmpResult<Json> run(std::string_view name, const char* arguments = "{}") {
    const CommandSpec* spec = find_qmp_command(name);
    EXPECT_NE(spec, nullptr) << name;
    CommandContext context{*machine_, &fds_};
    return run_qmp_command(*spec, context, Json::parse(arguments));
  }
  std::deque<int> fds_;
};

TEST_F(QmpCommandsTest, QueriesHaveQemusShapes) {
  EXPECT_EQ(*run("query-status"), Json::parse(R"({"status":"prelaunch","running":false})"));
  EXPECT_EQ(*run("query-name"), Json::parse(R"({"name":"unit"})"));
  EXPECT_EQ((*run("query-version"))["package"], "godwit");
  const Json cpus = *run("query-cpus-fast");
  ASSERT_EQ(cpus.size(), 2u);
  EXPECT_EQ(cpus[1]["qom-path"], "/machine/soc0/harts[1]");
  EXPECT_EQ(cpus[1]["target"], "riscv64");
  EXPECT_GT(cpus[1]["thread-id"].get<int>(), 0);
  const Json memdev = *run("query-memdev");
  ASSERT_EQ(memdev.size(), 1u);
  EXPECT_EQ(memdev[0]["id"], "riscv_virt_board.ram");
  EXPECT_EQ(memdev[0]["size"], 16u << 20);
  EXPECT_EQ(memdev[0]["policy"], "default");
  bool listed = false;
  const Json commands = *run("query-commands");
  for (const Json& entry : commands) listed |= entry["name"] == "human-monitor-command";
  EXPECT_TRUE(listed);
}

TEST_F(QmpCommandsTest, LifeCycle) {
  EXPECT_TRUE(run("cont"));
  EXPECT_EQ(machine_->run_state(), RunState::kRunning);
  EXPECT_TRUE(run("stop"));
  EXPECT_EQ(machine_->run_state(), RunState::kPaused);
  EXPECT_TRUE(run("system_reset"));
  EXPECT_EQ(machine_->run_state(), RunState::kPrelaunch);
}

TEST_F(QmpCommandsTest, ContAfterGuestPoweroffNeedsAReset) {
  MachineConfig config = testing::spin_config(kernel_.path());
  config.no_shutdown = true;
  auto machine = VirtMachine::create(config);
  ASSERT_TRUE(machine);
  VirtMachine& vm = **machine;
  std::vector<MachineEvent> events;
  vm.set_event_listener([&](const MachineEvent& event) { events.push_back(event); });
  vm.start();
  ASSERT_TRUE(vm.cont());
  vm.request_poweroff(0);
  vm.run_on_main([&] {
    auto refused = vm.cont();
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message(), "Resetting the Virtual Machine is required");
    vm.quit(ShutdownCause::kHostQmpQuit);
  });
  EXPECT_EQ(vm.run_until_exit(), 0);
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events[0].kind, MachineEvent::Kind::kResume);
  EXPECT_EQ(events[1].kind, MachineEvent::Kind::kShutdown);
  EXPECT_EQ(events[1].cause, ShutdownCause::kGuestShutdown);
  EXPECT_EQ(events[2].kind, MachineEvent::Kind::kStop);
  EXPECT_EQ(events[3].cause, ShutdownCause::kHostQmpQuit);
}

TEST_F(QmpCommandsTest, MemsaveAndPmemsave) {
  const std::string path = dir_ / "mem";
  ASSERT_TRUE(run("memsave", (R"({"val":2147483648,"size":8,"filename":")" + path + R"(","cpu-index":1})").c_str()));
  std::ifstream file(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(file)), {});
  EXPECT_EQ(bytes, std::string("\x93\x87\x17\x00\x6f\xf0\xdf\xff", 8));
  auto bad_cpu = run("memsave", R"({"val":0,"size":1,"filename":"/dev/null","cpu-index":2})");
  ASSERT_FALSE(bad_cpu);
  EXPECT_EQ(bad_cpu.error().desc, "Parameter 'cpu-index' expects a CPU number");
  auto unmapped = run("memsave", R"({"val":16,"size":16,"filename":"/dev/null"})");
  ASSERT_FALSE(unmapped);
  EXPECT_EQ(unmapped.error().desc, "Invalid addr 0x0000000000000010/size 16 specified");
  auto no_dir = run("pmemsave", R"({"val":0,"size":1,"filename":"/nonexistent/x"})");
  ASSERT_FALSE(no_dir);
  EXPECT_EQ(no_dir.error().desc, "Could not open '/nonexistent/x': No such file or directory");
}

TEST_F(QmpCommandsTest, HumanMonitorCommandReturnsTheText) {
  EXPECT_EQ(*run("human-monitor-command", R"({"command-line":"info status"})"), "VM status: paused (prelaunch)\r\n");
  auto bad = run("human-monitor-command", R"({"command-line":"info status","cpu-index":9})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().desc, "Parameter 'cpu-index' expects a CPU number");
}

}  // namespace
}  // namespace godwit
