#include "chardev/mux_escape.hpp"

#include <gtest/gtest.h>

namespace godwit {
namespace {

std::vector<uint8_t> bytes(std::string_view text) { return {text.begin(), text.end()}; }

struct Recorder {
  int quits = 0;
  std::string help;
  MuxEscape make() {
    return MuxEscape({.quit = [this] { ++quits; },
                      .print_help = [this](const std::string& text) { help += text; }});
  }
};

TEST(MuxEscape, PlainBytesPassThrough) {
  Recorder recorder;
  auto mux = recorder.make();
  EXPECT_EQ(mux.filter(bytes("ls -l\r")), bytes("ls -l\r"));
  EXPECT_EQ(recorder.quits, 0);
}

TEST(MuxEscape, CtrlAXQuitsAndIsSwallowed) {
  Recorder recorder;
  auto mux = recorder.make();
  EXPECT_EQ(mux.filter(bytes("a\x01xb")), bytes("ab"));
  EXPECT_EQ(recorder.quits, 1);
}

TEST(MuxEscape, DoubleCtrlASendsOne) {
  Recorder recorder;
  auto mux = recorder.make();
  EXPECT_EQ(mux.filter(bytes("\x01\x01")), bytes("\x01"));
  EXPECT_EQ(recorder.quits, 0);
}

TEST(MuxEscape, CtrlAHPrintsHelp) {
  Recorder recorder;
  auto mux = recorder.make();
  EXPECT_TRUE(mux.filter(bytes("\x01h")).empty());
  EXPECT_NE(recorder.help.find("C-a x"), std::string::npos);
  EXPECT_EQ(recorder.help, MuxEscape::help_text());
}

TEST(MuxEscape, EscapeSplitAcrossReads) {
  Recorder recorder;
  auto mux = recorder.make();
  EXPECT_EQ(mux.filter(bytes("q\x01")), bytes("q"));
  EXPECT_EQ(mux.filter(bytes("x")), bytes(""));
  EXPECT_EQ(recorder.quits, 1);
}

TEST(MuxEscape, UnknownEscapeIsSwallowed) {
  Recorder recorder;
  auto mux = recorder.make();
  EXPECT_EQ(mux.filter(bytes("\x01zy")), bytes("y"));
  EXPECT_EQ(recorder.quits, 0);
  EXPECT_TRUE(recorder.help.empty());
}

}  // namespace
}  // namespace godwit
