#include "monitor/arg_schema.hpp"

#include <gtest/gtest.h>

namespace godwit {
namespace {

constexpr std::string_view kCaps[] = {"oob"};
constexpr ArgSpec kSpecs[] = {{"val", ArgType::kUint64},
                              {"filename", ArgType::kString},
                              {"cpu-index", ArgType::kInt, true},
                              {"enable", ArgType::kStringList, true, kCaps}};

std::string error_of(const char* json) {
  auto result = validate_arguments(Json::parse(json), kSpecs);
  return result ? "" : result.error().error_class + ": " + result.error().desc;
}

TEST(ArgSchema, AcceptsWhatTheSchemaDescribes) {
  EXPECT_EQ(error_of(R"({"val": 1, "filename": "f"})"), "");
  EXPECT_EQ(error_of(R"({"val": -1, "filename": "f", "cpu-index": 0, "enable": ["oob"]})"), "");
}

TEST(ArgSchema, ErrorsAreQemusWords) {
  EXPECT_EQ(error_of(R"({"filename": "f"})"), "GenericError: Parameter 'val' is missing");
  EXPECT_EQ(error_of(R"({"val": "x", "filename": "f"})"), "GenericError: Parameter 'val' expects uint64");
  EXPECT_EQ(error_of(R"({"val": 1.5, "filename": "f"})"), "GenericError: Parameter 'val' expects uint64");
  EXPECT_EQ(error_of(R"({"val": 1, "filename": 3})"),
            "GenericError: Invalid parameter type for 'filename', expected: string");
  EXPECT_EQ(error_of(R"({"val": 1, "filename": "f", "cpu-index": "x"})"),
            "GenericError: Invalid parameter type for 'cpu-index', expected: integer");
  EXPECT_EQ(error_of(R"({"val": 1, "filename": "f", "foo": 1})"), "GenericError: Parameter 'foo' is unexpected");
  EXPECT_EQ(error_of(R"({"val": 1, "filename": "f", "enable": ["foo"]})"),
            "GenericError: Parameter 'null' does not accept value 'foo'");
  EXPECT_EQ(error_of(R"({"val": 1, "filename": "f", "enable": "oob"})"),
            "GenericError: Invalid parameter type for 'enable', expected: array");
}

TEST(ArgSchema, MissingComesBeforeUnexpected) {
  EXPECT_EQ(error_of(R"({"foo": 1})"), "GenericError: Parameter 'val' is missing");
}

}  // namespace
}  // namespace godwit
