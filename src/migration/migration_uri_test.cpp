#include "migration/migration_uri.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace godwit {
namespace {

using Json = nlohmann::json;
constexpr auto kOut = MigrationDirection::outgoing;
constexpr auto kIn = MigrationDirection::incoming;

std::string uri_error(const std::string& uri, MigrationDirection direction = kOut) {
  auto parsed = parse_migration_uri(uri, direction);
  EXPECT_FALSE(parsed.has_value()) << uri;
  return parsed ? "" : parsed.error().message();
}

std::string arguments_error(const Json& arguments, MigrationDirection direction = kOut) {
  auto parsed = parse_migrate_arguments(arguments, direction);
  EXPECT_FALSE(parsed.has_value()) << arguments.dump();
  return parsed ? "" : parsed.error().message();
}

Json channel(const char* type, Json addr) {
  return Json{{"channel-type", type}, {"addr", std::move(addr)}};
}
Json inet(const char* host, const char* port) {
  return Json{{"transport", "socket"}, {"type", "inet"}, {"host", host}, {"port", port}};
}

TEST(MigrationUri, ParsesEachTransport) {
  struct Case {
    const char* uri;
    MigrationAddress address;
  };
  const Case cases[] = {
      {"tcp:10.0.0.2:4444", InetAddress{"10.0.0.2", 4444}},
      {"tcp:example.org:1", InetAddress{"example.org", 1}},
      {"tcp:[::1]:65535", InetAddress{"::1", 65535}},
      {"unix:/tmp/m.sock", UnixAddress{"/tmp/m.sock"}},
      {"fd:migfd", FdAddress{"migfd"}},
      {"fd:7", FdAddress{"7"}},
      {"exec:gzip -c > f.gz", ExecAddress{{"/bin/sh", "-c", "gzip -c > f.gz"}}},
      {"file:/tmp/x", FileAddress{"/tmp/x", 0}},
      {"file:/tmp/x,offset=4096", FileAddress{"/tmp/x", 4096}},
      {"file:/tmp/x,offset=0x1000", FileAddress{"/tmp/x", 0x1000}},
      {"file:/tmp/x,offset=4k", FileAddress{"/tmp/x", 4096}},
      {"file:/tmp/x,offset=1.5M", FileAddress{"/tmp/x", 1572864}},
  };
  for (const Case& c : cases) {
    auto parsed = parse_migration_uri(c.uri, kOut);
    ASSERT_TRUE(parsed.has_value()) << c.uri << ": " << parsed.error().message();
    EXPECT_EQ(*parsed, c.address) << c.uri;
    EXPECT_EQ(to_string(*parsed), c.uri == std::string("file:/tmp/x,offset=0x1000") ||
                                          c.uri == std::string("file:/tmp/x,offset=4k")
                                      ? "file:/tmp/x,offset=4096"
                                  : c.uri == std::string("file:/tmp/x,offset=1.5M")
                                      ? "file:/tmp/x,offset=1572864"
                                      : c.uri);
  }
}

TEST(MigrationUri, PortZeroOnlyForIncoming) {
  auto listening = parse_migration_uri("tcp:127.0.0.1:0", kIn);
  ASSERT_TRUE(listening.has_value());
  EXPECT_EQ(std::get<InetAddress>(*listening).port, 0);
  EXPECT_EQ(uri_error("tcp:127.0.0.1:0"),
            "port 0 in address '127.0.0.1:0' is only valid for an incoming migration");
  auto any_host = parse_migration_uri("tcp::4444", kIn);
  ASSERT_TRUE(any_host.has_value());
  EXPECT_EQ(*any_host, MigrationAddress(InetAddress{"", 4444}));
}

TEST(MigrationUri, RejectsBadUrisWithQemuWords) {
  EXPECT_EQ(uri_error("ftp:x"), "unknown migration protocol: ftp:x");
  EXPECT_EQ(uri_error("localhost:4444"), "unknown migration protocol: localhost:4444");
  EXPECT_EQ(uri_error("tcp:foo"), "error parsing address 'foo'");
  EXPECT_EQ(uri_error("tcp:foo:"), "error parsing address 'foo:'");
  EXPECT_EQ(uri_error("tcp:[::1"), "error parsing IPv6 address '[::1'");
  EXPECT_EQ(uri_error("tcp:[::1]"), "error parsing IPv6 address '[::1]'");
  EXPECT_EQ(uri_error("tcp:[]:4"), "error parsing IPv6 address '[]:4'");
  EXPECT_EQ(uri_error("tcp::", kIn), "error parsing port in address ':'");
  EXPECT_EQ(uri_error("unix:"), "invalid Unix socket address");
  EXPECT_EQ(uri_error("fd:"), "invalid file descriptor address");
  EXPECT_EQ(uri_error("file:/x,offset=abc"), "file URI has bad offset abc: Invalid argument");
  EXPECT_EQ(uri_error("file:/x,offset=-1"), "file URI has bad offset -1: Invalid argument");
  EXPECT_EQ(uri_error("file:/x,offset=0x10k"), "file URI has bad offset 0x10k: Invalid argument");
  EXPECT_EQ(uri_error("file:/x,offset=1.5"), "file URI has bad offset 1.5: Invalid argument");
  EXPECT_EQ(uri_error("file:/x,offset=99999999999999999999"),
            "file URI has bad offset 99999999999999999999: Numerical result out of range");
  EXPECT_EQ(uri_error("file:/x,offset=16E"),
            "file URI has bad offset 16E: Numerical result out of range");
  // godwit's own limits.
  EXPECT_EQ(uri_error("tcp:host:http"),
            "invalid port 'http' in address 'host:http': expected a number from 1 to 65535");
  EXPECT_EQ(uri_error("tcp:host:65536"),
            "invalid port '65536' in address 'host:65536': expected a number from 1 to 65535");
  EXPECT_EQ(uri_error("tcp:host:4444,ipv4"),
            "socket address options are not supported: ',ipv4'");
  EXPECT_EQ(uri_error("rdma:host:4444"), "migration transport 'rdma' is not supported by godwit");
  EXPECT_EQ(uri_error("vsock:3:4444"), "migration transport 'vsock' is not supported by godwit");
}

TEST(MigrationChannels, ParsesEachTransport) {
  const Json channels = Json::array(
      {channel("main", inet("10.0.0.2", "4444")),
       channel("cpr", {{"transport", "socket"}, {"type", "unix"}, {"path", "/tmp/cpr.sock"}})});
  auto target = parse_migrate_arguments(Json{{"channels", channels}}, kOut);
  ASSERT_TRUE(target.has_value()) << target.error().message();
  EXPECT_EQ(target->main, MigrationAddress(InetAddress{"10.0.0.2", 4444}));
  ASSERT_TRUE(target->cpr.has_value());
  EXPECT_EQ(*target->cpr, MigrationAddress(UnixAddress{"/tmp/cpr.sock"}));

  struct Case {
    Json addr;
    MigrationAddress address;
  };
  const Case cases[] = {
      {{{"transport", "socket"}, {"type", "fd"}, {"str", "migfd"}}, FdAddress{"migfd"}},
      {{{"transport", "exec"}, {"args", {"gzip", "-dc", "f.gz"}}},
       ExecAddress{{"gzip", "-dc", "f.gz"}}},
      {{{"transport", "file"}, {"filename", "/tmp/x"}, {"offset", 4096}},
       FileAddress{"/tmp/x", 4096}},
  };
  for (const Case& c : cases) {
    auto parsed = parse_migration_channels(Json::array({channel("main", c.addr)}), kIn);
    ASSERT_TRUE(parsed.has_value()) << c.addr.dump() << ": " << parsed.error().message();
    EXPECT_EQ(parsed->main, c.address);
  }
  auto uri = parse_migrate_arguments(Json{{"uri", "unix:/m.sock"}, {"detach", true}}, kOut);
  ASSERT_TRUE(uri.has_value());
  EXPECT_EQ(uri->main, MigrationAddress(UnixAddress{"/m.sock"}));
  // The ordered flavour the monitor uses.
  auto ordered = parse_migrate_arguments(nlohmann::ordered_json::parse(
                                             R"({"channels":[{"channel-type":"main","addr":
                                                 {"transport":"exec","args":["cat"]}}]})"),
                                         kOut);
  ASSERT_TRUE(ordered.has_value());
  EXPECT_EQ(ordered->main, MigrationAddress(ExecAddress{{"cat"}}));
}

TEST(MigrationChannels, ListRulesUseQemuWords) {
  const Json main = channel("main", inet("h", "1"));
  const Json cpr = channel("cpr", {{"transport", "socket"}, {"type", "unix"}, {"path", "/c"}});
  EXPECT_EQ(arguments_error(Json::object()), "need either 'uri' or 'channels' argument");
  EXPECT_EQ(arguments_error(Json{{"uri", "tcp:h:1"}, {"channels", {main}}}),
            "need either 'uri' or 'channels' argument");
  EXPECT_EQ(arguments_error(Json{{"channels", Json::array()}}),
            "need either 'uri' or 'channels' argument");
  EXPECT_EQ(arguments_error(Json{{"channels", {main, main}}}),
            "Channel list has more than one main entry");
  EXPECT_EQ(arguments_error(Json{{"channels", {main, cpr, cpr}}}),
            "Channel list has more than one cpr entry");
  EXPECT_EQ(arguments_error(Json{{"channels", {cpr}}}), "Channel list has no main entry");
  EXPECT_EQ(arguments_error(Json{{"channels", {main, cpr}}}, kIn),
            "Channel list must have only one entry, for type 'main'");
  EXPECT_EQ(arguments_error(Json{{"channels", {cpr}}}, kIn), "Channel list has no main entry");
  EXPECT_EQ(arguments_error(Json{{"uri", 5}}), "Invalid parameter type for 'uri', expected: string");
  EXPECT_EQ(arguments_error(Json{{"channels", "x"}}),
            "Invalid parameter type for 'channels', expected: array");
  EXPECT_EQ(arguments_error(Json{{"uri", "bogus"}}), "unknown migration protocol: bogus");
}

TEST(MigrationChannels, MemberErrorsUseQapiWords) {
  auto error_of = [](Json entry) { return arguments_error(Json{{"channels", {entry}}}); };
  EXPECT_EQ(error_of(5), "Invalid parameter type for 'channels[0]', expected: object");
  EXPECT_EQ(error_of(Json{{"addr", inet("h", "1")}}),
            "Parameter 'channels[0].channel-type' is missing");
  EXPECT_EQ(error_of(channel("backup", inet("h", "1"))),
            "Parameter 'channel-type' does not accept value 'backup'");
  EXPECT_EQ(error_of(Json{{"channel-type", "main"}}), "Parameter 'channels[0].addr' is missing");
  EXPECT_EQ(error_of(channel("main", "tcp:h:1")),
            "Invalid parameter type for 'channels[0].addr', expected: object");
  EXPECT_EQ(error_of(channel("main", {{"type", "inet"}})),
            "Parameter 'channels[0].addr.transport' is missing");
  EXPECT_EQ(error_of(channel("main", {{"transport", "pigeon"}})),
            "Parameter 'transport' does not accept value 'pigeon'");
  EXPECT_EQ(error_of(channel("main", {{"transport", "socket"}})),
            "Parameter 'channels[0].addr.type' is missing");
  EXPECT_EQ(error_of(channel("main", {{"transport", "socket"}, {"type", "tcp"}})),
            "Parameter 'type' does not accept value 'tcp'");
  EXPECT_EQ(error_of(channel("main", {{"transport", "socket"}, {"type", "inet"}, {"host", "h"}})),
            "Parameter 'channels[0].addr.port' is missing");
  EXPECT_EQ(error_of(channel("main", {{"transport", "socket"},
                                      {"type", "inet"},
                                      {"host", "h"},
                                      {"port", 4444}})),
            "Invalid parameter type for 'channels[0].addr.port', expected: string");
  EXPECT_EQ(error_of(channel("main", {{"transport", "socket"}, {"type", "unix"}})),
            "Parameter 'channels[0].addr.path' is missing");
  EXPECT_EQ(error_of(channel("main", {{"transport", "socket"}, {"type", "fd"}})),
            "Parameter 'channels[0].addr.str' is missing");
  EXPECT_EQ(error_of(channel("main", {{"transport", "exec"}})),
            "Parameter 'channels[0].addr.args' is missing");
  EXPECT_EQ(error_of(channel("main", {{"transport", "exec"}, {"args", "cat"}})),
            "Invalid parameter type for 'channels[0].addr.args', expected: array");
  EXPECT_EQ(error_of(channel("main", {{"transport", "exec"}, {"args", {"cat", 1}}})),
            "Invalid parameter type for 'channels[0].addr.args[1]', expected: string");
  EXPECT_EQ(error_of(channel("main", {{"transport", "file"}, {"filename", "/x"}})),
            "Parameter 'channels[0].addr.offset' is missing");
  EXPECT_EQ(error_of(channel("main", {{"transport", "file"}, {"filename", "/x"}, {"offset", "0"}})),
            "Parameter 'channels[0].addr.offset' expects uint64");
  EXPECT_EQ(error_of(channel("main", {{"transport", "file"}, {"offset", 0}})),
            "Parameter 'channels[0].addr.filename' is missing");
  Json extra = inet("h", "1");
  extra["colour"] = "red";
  EXPECT_EQ(error_of(channel("main", extra)), "Parameter 'channels[0].addr.colour' is unexpected");
  Json outer = channel("main", inet("h", "1"));
  outer["priority"] = 1;
  EXPECT_EQ(error_of(outer), "Parameter 'channels[0].priority' is unexpected");
  // The second entry is named by its index.
  EXPECT_EQ(arguments_error(Json{{"channels", {channel("main", inet("h", "1")),
                                               channel("cpr", {{"transport", "exec"}})}}}),
            "Parameter 'channels[1].addr.args' is missing");
  // Known to QEMU, not to godwit.
  EXPECT_EQ(error_of(channel("main", {{"transport", "rdma"}, {"host", "h"}, {"port", "1"}})),
            "migration transport 'rdma' is not supported by godwit");
  Json v4 = inet("h", "1");
  v4["ipv4"] = true;
  EXPECT_EQ(error_of(channel("main", v4)),
            "Parameter 'channels[0].addr.ipv4' is not supported by godwit");
  EXPECT_EQ(error_of(channel("main", inet("h", "0"))),
            "port 0 in address 'h:0' is only valid for an incoming migration");
}

}  // namespace
}  // namespace godwit
