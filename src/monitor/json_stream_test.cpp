#include "monitor/json_stream.hpp"

#include <gtest/gtest.h>

namespace godwit {
namespace {

std::vector<JsonStreamSplitter::Message> feed(JsonStreamSplitter& splitter, std::string_view text) {
  return splitter.feed({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

TEST(JsonStreamSplitter, SplitsBackToBackObjectsWithoutNewlines) {
  JsonStreamSplitter splitter;
  auto messages = feed(splitter, R"({"execute":"a"}{"execute":"b"} [1,{"x":"}"}])");
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[0].text, R"({"execute":"a"})");
  EXPECT_EQ(messages[1].text, R"({"execute":"b"})");
  EXPECT_EQ(messages[2].text, R"([1,{"x":"}"}])");
}

TEST(JsonStreamSplitter, WaitsForTheRestOfAMessageAcrossReads) {
  JsonStreamSplitter splitter;
  EXPECT_TRUE(feed(splitter, R"({"execute": "query-status", "id": "a\"})").empty());
  auto messages = feed(splitter, "\"}\n");
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].text, R"({"execute": "query-status", "id": "a\"}"})");
}

TEST(JsonStreamSplitter, TopLevelScalarsStandAlone) {
  JsonStreamSplitter splitter;
  auto messages = feed(splitter, "garbage \"str\" 12\n");
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[0].text, "garbage");
  EXPECT_EQ(messages[1].text, "\"str\"");
  EXPECT_EQ(messages[2].text, "12");
}

TEST(JsonStreamSplitter, TooDeepNestingIsAnErrorAndTheNextMessageStartsAfresh) {
  JsonStreamSplitter splitter;
  auto messages = feed(splitter, std::string(2000, '[') + std::string(2000, ']') + "{\"a\":1}");
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].error, "JSON nesting depth limit exceeded");
  EXPECT_EQ(messages[1].text, "{\"a\":1}");
}

TEST(JsonStreamSplitter, OversizedMessageIsAnErrorWithBoundedMemory) {
  JsonStreamSplitter splitter;
  std::string chunk = "{\"x\":\"" + std::string(1 << 20, 'a');
  std::vector<JsonStreamSplitter::Message> messages;
  for (int i = 0; i < 70; ++i) {
    for (auto& m : feed(splitter, chunk)) messages.push_back(std::move(m));
    chunk = std::string(1 << 20, 'a');
  }
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].error, "JSON token size limit exceeded");
  auto after = feed(splitter, "\"}\n{}");
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].text, "{}");
}

TEST(JsonStreamSplitter, APartialMessageCarriesOverToAnotherSplitter) {
  // CPR: the old program read half a command; the new one reads the rest.
  JsonStreamSplitter old_side;
  EXPECT_TRUE(feed(old_side, "{\"execute\": \"query-sta").empty());
  JsonStreamSplitter new_side;
  ASSERT_TRUE(new_side.restore(old_side.save()));
  auto messages = feed(new_side, "tus\", \"arguments\": {\"a\": \"}\"}}");
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].text, "{\"execute\": \"query-status\", \"arguments\": {\"a\": \"}\"}}");
}

TEST(JsonStreamSplitter, RestoreRefusesAStateItDidNotWrite) {
  JsonStreamSplitter splitter;
  EXPECT_FALSE(splitter.restore(nlohmann::json::array()));
  EXPECT_FALSE(splitter.restore({{"current", "x"}}));
  auto state = JsonStreamSplitter().save();
  state["depth"] = -1;
  EXPECT_FALSE(splitter.restore(state));
  state["depth"] = 1u << 20;
  EXPECT_FALSE(splitter.restore(state));
}

}  // namespace
}  // namespace godwit
