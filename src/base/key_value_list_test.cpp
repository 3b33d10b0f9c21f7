#include "base/key_value_list.hpp"

#include <gtest/gtest.h>

namespace godwit {
namespace {

TEST(KeyValueList, ImpliedFirstKey) {
  auto list = KeyValueList::parse("virt,memory-backend=mem", "type");
  ASSERT_TRUE(list.has_value()) << list.error().message();
  EXPECT_EQ(list->get("type"), "virt");
  EXPECT_EQ(list->get("memory-backend"), "mem");
  EXPECT_EQ(list->get("absent"), std::nullopt);
}

TEST(KeyValueList, ExplicitFirstKeyNeedsNoImpliedOne) {
  auto list = KeyValueList::parse("type=virt", "type");
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ(list->get("type"), "virt");
}

TEST(KeyValueList, DoubledCommaIsALiteralComma) {
  auto list = KeyValueList::parse("file,id=f,path=/tmp/a,,b.log", "backend");
  ASSERT_TRUE(list.has_value()) << list.error().message();
  EXPECT_EQ(list->get("path"), "/tmp/a,b.log");
  auto implied = KeyValueList::parse("a,,b", "guest");
  ASSERT_TRUE(implied.has_value());
  EXPECT_EQ(implied->get("guest"), "a,b");
}

TEST(KeyValueList, ValueMayContainEquals) {
  auto list = KeyValueList::parse("guest=a=b", "guest");
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ(list->get("guest"), "a=b");
}

TEST(KeyValueList, LaterKeysWin) {
  auto list = KeyValueList::parse("virt,aux-ram-share=on,aux-ram-share=off", "type");
  ASSERT_TRUE(list.has_value());
  auto share = list->get_bool("aux-ram-share");
  ASSERT_TRUE(share.has_value());
  EXPECT_EQ(*share, false);
}

TEST(KeyValueList, BooleanSpellings) {
  for (const char* on : {"on", "yes", "true", "y"}) EXPECT_EQ(parse_bool("k", on), true) << on;
  for (const char* off : {"off", "no", "false", "n"}) EXPECT_EQ(parse_bool("k", off), false) << off;
  auto bad = parse_bool("share", "maybe");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message(), "parameter 'share' expects 'on' or 'off'");
}

TEST(KeyValueList, BareElementNeedsEqualsUnlessShortBooleansAllowed) {
  auto strict = KeyValueList::parse("virt,dumpdtb", "type");
  ASSERT_FALSE(strict.has_value());
  EXPECT_EQ(strict.error().message(), "expected '=' after parameter 'dumpdtb'");

  auto lenient = KeyValueList::parse("socket,id=s,path=/p,server,nowait", "backend", true);
  ASSERT_TRUE(lenient.has_value()) << lenient.error().message();
  ASSERT_TRUE(lenient->check_keys({"backend", "id", "path", "server", "wait"}).has_value());
  EXPECT_EQ(*lenient->get_bool("server"), true);
  EXPECT_EQ(*lenient->get_bool("wait"), false);
}

TEST(KeyValueList, UnknownKeyIsNamed) {
  auto list = KeyValueList::parse("null,id=a,foo=1", "backend");
  ASSERT_TRUE(list.has_value());
  auto status = list->check_keys({"backend", "id"});
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().message(), "invalid parameter 'foo'");
}

TEST(KeyValueList, EmptyTextHasNoEntries) {
  auto list = KeyValueList::parse("", "size");
  ASSERT_TRUE(list.has_value());
  EXPECT_TRUE(list->entries().empty());
}

TEST(KeyValueList, CommaRunsPairUpLeftToRight) {
  // ",,," is an escaped comma followed by a separator.
  auto list = KeyValueList::parse("a=1,,,b=2", "");
  ASSERT_TRUE(list.has_value()) << list.error().message();
  EXPECT_EQ(list->get("a"), "1,");
  EXPECT_EQ(list->get("b"), "2");
  auto escaped = KeyValueList::parse("a=1,,b=2,", "");  // a trailing comma is tolerated
  ASSERT_TRUE(escaped.has_value()) << escaped.error().message();
  EXPECT_EQ(escaped->get("a"), "1,b=2");
  EXPECT_FALSE(escaped->has("b"));
}

TEST(KeyValueList, MissingKeyBeforeEquals) {
  auto list = KeyValueList::parse("x=1,=2", "");
  ASSERT_FALSE(list.has_value());
  EXPECT_EQ(list.error().message(), "parameter name missing before '=' in '=2'");
}

}  // namespace
}  // namespace godwit
