#include "monitor/hmp.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "monitor/monitor_test_util.hpp"

namespace godwit {
namespace {

class HmpTest : public testing::SpinMachineTest {
 protected:
  std::string run(std::string_view line, unsigned cpu = 0) {
    CommandContext context{*machine_, nullptr, cpu};
    return hmp_execute(context, line);
  }
};

TEST_F(HmpTest, InfoStatusFollowsTheRunState) {
  EXPECT_EQ(run("info status"), "VM status: paused (prelaunch)\r\n");
  EXPECT_EQ(run("cont"), "");
  EXPECT_EQ(run("info status"), "VM status: running\r\n");
  EXPECT_EQ(run("s"), "");
  EXPECT_EQ(run("info status"), "VM status: paused\r\n");
}

TEST_F(HmpTest, MemoryDumpsHaveQemusShape) {
  // The boot ROM at 0x1000 starts with auipc t0, 0; addi a2, t0, 40.
  EXPECT_EQ(run("xp /2xw 0x1000"), "0000000000001000: 0x00000297 0x02828613\r\n");
  EXPECT_EQ(run("x/3xg 0x1000"), "0000000000001000: 0x0282861300000297 0x0202b583f1402573\r\n"
                                 "0000000000001010: 0x000280670182b283\r\n");
  EXPECT_EQ(run("xp /5db 0x1000"), "0000000000001000: 151   2   0   0  19\r\n");
  EXPECT_EQ(run("xp /5uh 0x1000"), "0000000000001000:   663     0 34323   642  9587\r\n");
  EXPECT_EQ(run("xp /5oh 0x1000"), "0000000000001000:  01227      0 0103023  01202 022563\r\n");
  EXPECT_EQ(run("xp /9xb 0x1000"), "0000000000001000: 0x97 0x02 0x00 0x00 0x13 0x86 0x82 0x02\r\n"
                                   "0000000000001008: 0x73\r\n");
  EXPECT_EQ(run("xp /2x 0x100"), "0000000000000100: Cannot access memory\r\n");
  EXPECT_EQ(run("x /2x 0x80000000"), "0000000080000000: 0x00178793 0xffdff06f\r\n");  // M-mode: identity
}

TEST_F(HmpTest, UsageErrorsPointAtHelp) {
  EXPECT_EQ(run("x"), "unexpected end of expression\r\nTry \"help x\" for more information\r\n");
  EXPECT_EQ(run("xp /2qw 0x1000"), "invalid char in format: 'q'\r\nTry \"help xp\" for more information\r\n");
  EXPECT_EQ(run("xp /2xw 0x1000 5"),
            "xp: extraneous characters at the end of line\r\nTry \"help xp\" for more information\r\n");
  EXPECT_EQ(run("nosuch"), "unknown command: 'nosuch'\r\n");
  EXPECT_EQ(run("info nosuch"), "unknown command: 'info nosuch'\r\n");
  EXPECT_EQ(run("help stop"), "stop|s  -- stop emulation\r\n");
}

TEST_F(HmpTest, InfoRegistersHasQemusLayout) {
  const std::string text = run("info registers", 1);
  EXPECT_EQ(text.rfind("\r\nCPU#1\r\n pc       0000000000001000\r\n mhartid  0000000000000001\r\n", 0), 0u);
  EXPECT_NE(text.find(" x0/zero  0000000000000000 x1/ra    0000000000000000"), std::string::npos);
  const std::string all = run("info registers -a");
  EXPECT_NE(all.find("CPU#0"), std::string::npos);
  EXPECT_NE(all.find("CPU#1"), std::string::npos);
  EXPECT_EQ(run("info registers 5"), "CPU#5 not available\r\n");
}

TEST_F(HmpTest, PmemsaveWritesTheBytes) {
  const std::string path = dir_ / "pmem";
  EXPECT_EQ(run("pmemsave 0x80000000 8 " + path), "");
  std::ifstream file(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(file)), {});
  EXPECT_EQ(bytes, std::string("\x93\x87\x17\x00\x6f\xf0\xdf\xff", 8));
}

}  // namespace
}  // namespace godwit
