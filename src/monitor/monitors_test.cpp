// End to end: a real machine with a QMP and an HMP monitor on unix sockets,
// its main thread serving requests, clients on real sockets.
#include "monitor/monitors.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "monitor/monitor_test_util.hpp"

namespace godwit {
namespace {

using testing::SocketClient;

class MonitorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MachineConfig config = testing::spin_config(kernel_.path());
    for (const auto& [id, path] : {std::pair{"qmp", qmp_path_}, std::pair{"hmp", hmp_path_}}) {
      ChardevConfig chardev;
      chardev.id = id;
      chardev.kind = ChardevKind::kSocket;
      chardev.path = path;
      chardev.server = true;
      chardev.wait = false;
      config.chardevs.push_back(chardev);
    }
    config.monitors.push_back({"qmp", true, false});
    config.monitors.push_back({"hmp", false, false});
    auto machine = VirtMachine::create(config);
    ASSERT_TRUE(machine) << machine.error().message();
    machine_ = std::move(*machine);
    auto monitors = Monitors::create(*machine_);
    ASSERT_TRUE(monitors) << monitors.error().message();
    monitors_ = std::move(*monitors);
    machine_->start();
    exit_status_ = std::async(std::launch::async, [this] { return machine_->run_until_exit(); });
  }
  void TearDown() override {
    if (machine_ && exit_status_.valid()) {
      machine_->request_quit(0);
      EXPECT_EQ(exit_status_.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    }
    monitors_.reset();
    machine_.reset();
  }

  Json negotiate(SocketClient& client) {
    Json greeting = client.read_json();
    EXPECT_EQ(client.command(R"({"execute":"qmp_capabilities"})"), Json::parse(R"({"return":{}})"));
    return greeting;
  }

  testing::SpinKernel kernel_;
  testing::TempDir dir_;
  std::string qmp_path_ = dir_ / "qmp.sock";
  std::string hmp_path_ = dir_ / "hmp.sock";
  std::unique_ptr<VirtMachine> machine_;
  std::unique_ptr<Monitors> monitors_;
  std::future<int> exit_status_;
};

TEST_F(MonitorsTest, GreetsNegotiatesAndEchoesIds) {
  SocketClient client(qmp_path_);
  Json greeting = client.read_json();
  EXPECT_EQ(greeting["QMP"]["capabilities"], Json::array({"oob"}));
  EXPECT_EQ(greeting["QMP"]["version"]["package"], "godwit");
  Json early = client.command(R"({"execute":"query-status","id":7})");
  EXPECT_EQ(early["error"]["class"], "CommandNotFound");
  EXPECT_EQ(early["error"]["desc"], "Expecting capabilities negotiation with 'qmp_capabilities'");
  EXPECT_EQ(early["id"], 7);
  EXPECT_EQ(client.command(R"({"execute":"qmp_capabilities","arguments":{"enable":["oob"]},"id":[1,{"a":null}]})"),
            Json::parse(R"({"return":{},"id":[1,{"a":null}]})"));
  Json again = client.command(R"({"execute":"qmp_capabilities"})");
  EXPECT_EQ(again["error"]["class"], "CommandNotFound");
}

TEST_F(MonitorsTest, BadInputGetsAnErrorAndTheSessionGoesOn) {
  SocketClient client(qmp_path_);
  negotiate(client);
  EXPECT_EQ(client.command("garbage")["error"]["desc"], "JSON parse error, invalid keyword 'garbage'");
  EXPECT_EQ(client.command("[1]")["error"]["desc"], "QMP input must be a JSON object");
  EXPECT_EQ(client.command(R"({"execute":"nosuch"})")["error"]["desc"], "The command nosuch has not been found");
  EXPECT_EQ(client.command(R"({"execute":"query-status","arguments":[]})")["error"]["desc"],
            "QMP input member 'arguments' must be an object");
  EXPECT_EQ(client.command(R"({"execute":"query-status","x":1})")["error"]["desc"],
            "QMP input member 'x' is unexpected");
  EXPECT_EQ(client.command(R"({"execute":"query-status"})")["return"]["status"], "prelaunch");
}

TEST_F(MonitorsTest, LifeCycleWithEventsInQemusOrder) {
  SocketClient client(qmp_path_);
  negotiate(client);
  client.send(R"({"execute":"cont"})" "\n");
  EXPECT_EQ(client.read_json()["event"], "RESUME");
  EXPECT_EQ(client.read_json(), Json::parse(R"({"return":{}})"));
  EXPECT_EQ(client.command(R"({"execute":"query-status"})")["return"],
            Json::parse(R"({"status":"running","running":true})"));
  client.send(R"({"execute":"stop"})" "\n");
  EXPECT_EQ(client.read_json()["event"], "STOP");
  EXPECT_EQ(client.read_json(), Json::parse(R"({"return":{}})"));
  client.send(R"({"execute":"system_reset"})" "\n");
  Json reset = client.read_json();
  EXPECT_EQ(reset["event"], "RESET");
  EXPECT_EQ(reset["data"], Json::parse(R"({"guest":false,"reason":"host-qmp-system-reset"})"));
  EXPECT_TRUE(reset["timestamp"].contains("microseconds"));
  EXPECT_EQ(client.read_json(), Json::parse(R"({"return":{}})"));
  // QEMU: a VM that was not running comes back from a reset in prelaunch.
  EXPECT_EQ(client.command(R"({"execute":"query-status"})")["return"]["status"], "prelaunch");
  client.send(R"({"execute":"quit"})" "\n");
  Json shutdown = client.read_json();
  EXPECT_EQ(shutdown["event"], "SHUTDOWN");
  EXPECT_EQ(shutdown["data"], Json::parse(R"({"guest":false,"reason":"host-qmp-quit"})"));
  EXPECT_EQ(client.read_json(), Json::parse(R"({"return":{}})"));
  EXPECT_EQ(exit_status_.get(), 0);
}

TEST_F(MonitorsTest, FdsPassedWithScmRightsGoToTheFdStore) {
  SocketClient client(qmp_path_);
  negotiate(client);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  EXPECT_EQ(client.command(R"({"execute":"getfd","arguments":{"fdname":"a"}})")["error"]["desc"],
            "No file descriptor supplied via SCM_RIGHTS");
  EXPECT_EQ(client.command(R"({"execute":"getfd","arguments":{"fdname":"a"}})", pipe_fds[0]),
            Json::parse(R"({"return":{}})"));
  Json added = client.command(R"({"execute":"add-fd","arguments":{"opaque":"note"}})", pipe_fds[1]);
  EXPECT_EQ(added["return"]["fdset-id"], 0);
  EXPECT_EQ(machine_->fd_store().size(), 2u);
  Json sets = client.command(R"({"execute":"query-fdsets"})")["return"];
  ASSERT_EQ(sets.size(), 1u);
  EXPECT_EQ(sets[0]["fds"][0]["opaque"], "note");
  EXPECT_EQ(client.command(R"({"execute":"closefd","arguments":{"fdname":"a"}})"), Json::parse(R"({"return":{}})"));
  EXPECT_EQ(client.command(R"({"execute":"remove-fd","arguments":{"fdset-id":0}})"), Json::parse(R"({"return":{}})"));
  EXPECT_EQ(machine_->fd_store().size(), 0u);
  EXPECT_EQ(client.command(R"({"execute":"closefd","arguments":{"fdname":"a"}})")["error"]["desc"],
            "File descriptor named 'a' not found");
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}

TEST_F(MonitorsTest, ManyClientsComeAndGoWithoutLeakingDescriptors) {
  auto open_fds = [] {
    int count = 0;
    for (int fd = 0; fd < 4096; ++fd) count += ::fcntl(fd, F_GETFD) != -1;
    return count;
  };
  { SocketClient warm(qmp_path_); warm.read_json(); }
  usleep(50000);
  const int before = open_fds();
  for (int i = 0; i < 100; ++i) {
    SocketClient client(qmp_path_);
    client.read_json();
    if (i % 2) client.send("{\"execute\":\"qmp_capabilities\"}{\"execute\":\"query-stat");  // gone mid-message
  }
  SocketClient last(qmp_path_);
  negotiate(last);
  EXPECT_EQ(last.command(R"({"execute":"query-name"})")["return"]["name"], "unit");
  EXPECT_LE(open_fds(), before + 2);  // this client and its accepted peer
}

TEST_F(MonitorsTest, HmpBannerPromptAndCommands) {
  SocketClient client(hmp_path_);
  EXPECT_NE(client.read_until("(qemu) ").find("godwit " "0.1.0" " monitor - type 'help' for more information\r\n"),
            std::string::npos);
  client.send("info status\r\n");
  std::string reply = client.read_until("(qemu) ");
  EXPECT_NE(reply.find("VM status: paused (prelaunch)\r\n"), std::string::npos);
  client.read_until("(qemu) ");  // the empty line after \r
  client.send("c\n");
  client.read_until("(qemu) ");
  EXPECT_EQ(machine_->run_state(), RunState::kRunning);
  client.send("xp /2xw 0x1000\n");
  EXPECT_NE(client.read_until("(qemu) ").find("0000000000001000: 0x00000297 0x02828613\r\n"), std::string::npos);
  client.send("bogus\n");
  EXPECT_NE(client.read_until("(qemu) ").find("unknown command: 'bogus'\r\n"), std::string::npos);
}

}  // namespace
}  // namespace godwit
