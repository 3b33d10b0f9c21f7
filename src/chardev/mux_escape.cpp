#include "chardev/mux_escape.hpp"

namespace godwit {

std::string MuxEscape::help_text() {
  // Raw-mode terminals need \r\n to return to the first column.
  return "\r\n"
         "C-a h    print this help\r\n"
         "C-a x    exit godwit\r\n"
         "C-a C-a  send C-a to the guest\r\n";
}

std::vector<uint8_t> MuxEscape::filter(std::span<const uint8_t> input) {
  std::vector<uint8_t> out;
  out.reserve(input.size());
  for (const uint8_t byte : input) {
    if (!after_escape_) {
      if (byte == kEscape) {
        after_escape_ = true;
      } else {
        out.push_back(byte);
      }
      continue;
    }
    after_escape_ = false;
    switch (byte) {
      case kEscape: out.push_back(kEscape); break;
      case 'x':
        if (actions_.quit) actions_.quit();
        break;
      case 'h':
      case '?':
        if (actions_.print_help) actions_.print_help(help_text());
        break;
      default: break;
    }
  }
  return out;
}

}  // namespace godwit
