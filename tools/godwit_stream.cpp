// godwit-stream: prints a migration stream (a file, or - for stdin): its
// sections, versions and sizes, RAM page counts per block, and each device's
// fields decoded through the stream's own description.
//
//   godwit-stream [--json] [--no-fields] FILE|-
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "base/file_io.hpp"
#include "migration/stream_dump.hpp"

namespace {

std::vector<uint8_t> read_stdin() {
  std::vector<uint8_t> data;
  uint8_t buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(0, buffer, sizeof buffer);
    if (n <= 0) break;
    data.insert(data.end(), buffer, buffer + n);
  }
  return data;
}

int usage() {
  std::fputs("usage: godwit-stream [--json] [--no-fields] FILE|-\n", stderr);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  bool fields = true;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0) json = true;
    else if (std::strcmp(argv[i], "--no-fields") == 0) fields = false;
    else if (std::strcmp(argv[i], "-h") == 0 || std::strcmp(argv[i], "--help") == 0) return usage();
    else if (path.empty()) path = argv[i];
    else return usage();
  }
  if (path.empty()) return usage();

  std::vector<uint8_t> bytes;
  if (path == "-") {
    bytes = read_stdin();
  } else {
    auto data = godwit::read_file(path);
    if (!data) {
      std::fprintf(stderr, "godwit-stream: %s\n", data.error().message().c_str());
      return 1;
    }
    bytes = std::move(*data);
  }
  auto dump = godwit::dump_stream(bytes);
  if (!dump) {
    std::fprintf(stderr, "godwit-stream: %s\n", dump.error().message().c_str());
    return 1;
  }
  if (json) {
    std::puts(dump->dump(2).c_str());
  } else {
    std::fputs(godwit::format_stream_dump(*dump, fields).c_str(), stdout);
  }
  return 0;
}
