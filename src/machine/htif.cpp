#include "machine/htif.hpp"

#include <vector>

namespace godwit {
namespace {

constexpr uint64_t kSysWrite = 64;
constexpr uint64_t kMaxWriteBytes = 1 << 20;  // a guest cannot make us copy more per call

}  // namespace

void Htif::acknowledge(uint64_t value) {
  if (fromhost_) (void)memory_.write_value(*fromhost_, 8, value);
}

void Htif::serve_syscall(uint64_t block_address) {
  // magic_mem: [0] syscall number, [1..3] arguments; the result goes to [0].
  uint64_t args[4] = {};
  for (unsigned i = 0; i < 4; ++i) {
    if (!memory_.read_value(block_address + 8 * i, 8, args[i])) return;
  }
  uint64_t result = static_cast<uint64_t>(-38);  // -ENOSYS
  if (args[0] == kSysWrite && args[3] <= kMaxWriteBytes) {
    std::vector<uint8_t> bytes(args[3]);
    if (memory_.read(args[2], bytes)) {
      if (console_ != nullptr) console_->write(bytes);
      result = args[3];
    }
  }
  (void)memory_.write_value(block_address, 8, result);
  acknowledge(1);
}

std::optional<int> Htif::poll() {
  uint64_t request = 0;
  if (!memory_.read_value(tohost_, 8, request) || request == 0) return std::nullopt;
  (void)memory_.write_value(tohost_, 8, 0);
  const uint64_t device = request >> 56;
  const uint64_t command = (request >> 48) & 0xff;
  const uint64_t payload = request & ((uint64_t{1} << 48) - 1);
  if (device == 0 && command == 0) {
    if (payload & 1) return static_cast<int>(payload >> 1);
    serve_syscall(payload);
  } else if (device == 1 && command == 1) {
    const uint8_t byte = static_cast<uint8_t>(payload);
    if (console_ != nullptr) console_->write({&byte, 1});
    acknowledge(request & ~((uint64_t{1} << 48) - 1));
  }
  return std::nullopt;
}

}  // namespace godwit
