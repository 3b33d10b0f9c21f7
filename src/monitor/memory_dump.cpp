#include "monitor/memory_dump.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <optional>
#include <vector>

#include "base/errno_text.hpp"
#include "cpu/instruction_table.hpp"

namespace godwit {
namespace {

constexpr uint64_t kPageSize = 4096;
constexpr int kPhysical = -1;

std::string hex64(uint64_t value) {
  char text[20];
  std::snprintf(text, sizeof text, "%016" PRIx64, value);
  return text;
}

// Reads guest-physical [pa, pa + out.size()): RAM and ROM as bytes, and
// device registers (CLINT's mtime, ...) by naturally aligned accesses of up
// to 8 bytes, as QEMU's xp and pmemsave see them. False where nothing is
// mapped.
bool read_physical(const AddressSpace& memory, uint64_t pa, std::span<uint8_t> out) {
  if (memory.read_bytes(pa, out)) return true;
  for (size_t i = 0; i < out.size();) {
    unsigned size = 8;
    while (size > 1 && ((pa + i) % size != 0 || i + size > out.size())) size /= 2;
    uint64_t value = 0;
    if (!memory.read(pa + i, size, value)) return false;
    for (unsigned b = 0; b < size; ++b) out[i + b] = static_cast<uint8_t>(value >> (8 * b));
    i += size;
  }
  return true;
}

// Reads [address, address + out.size()) through hart `cpu`'s MMU, or
// physically when `cpu` is kPhysical. False at the first byte that is neither
// RAM nor ROM, or whose page does not translate.
bool read_guest(VirtMachine& machine, int cpu, uint64_t address, std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    const uint64_t va = address + done;
    const size_t chunk = std::min<uint64_t>(out.size() - done, kPageSize - (va % kPageSize));
    uint64_t pa = va;
    if (cpu != kPhysical) {
      auto translated = machine.hart(static_cast<unsigned>(cpu)).translate_for_debug(va);
      if (!translated) return false;
      pa = *translated;
    }
    if (!read_physical(machine.memory(), pa, out.subspan(done, chunk))) return false;
    done += chunk;
  }
  return true;
}

class OutputFile {
 public:
  static Result<OutputFile> open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return fail("Could not open '" + path + "': " + errno_text(errno));
    return OutputFile(fd, path);
  }
  OutputFile(OutputFile&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) { other.fd_ = -1; }
  ~OutputFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status write(std::span<const uint8_t> bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return fail("writing to '" + path_ + "': " + errno_text(errno));
      bytes = bytes.subspan(static_cast<size_t>(n));
    }
    return {};
  }

 private:
  OutputFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

std::string printable_char(uint8_t c) {
  // QEMU's monitor_printc.
  switch (c) {
    case '\'': return "'\\''";
    case '\\': return "'\\\\'";
    case '\n': return "'\\n'";
    case '\r': return "'\\r'";
    default: break;
  }
  char text[16];
  if (c >= 32 && c <= 126) {
    std::snprintf(text, sizeof text, "'%c'", c);
  } else {
    std::snprintf(text, sizeof text, "'\\x%02x'", c);
  }
  return text;
}

std::string dump_instructions(VirtMachine& machine, int cpu, uint64_t address, uint64_t count) {
  std::string out;
  char line[64];
  for (uint64_t i = 0; i < count; ++i) {
    uint8_t bytes[4] = {};
    if (!read_guest(machine, cpu, address, std::span(bytes, 2))) {
      std::snprintf(line, sizeof line, "0x%08" PRIx64 ":  Cannot access memory\n", address);
      out += line;
      break;
    }
    const bool compressed = (bytes[0] & 3) != 3;
    if (!compressed && !read_guest(machine, cpu, address + 2, std::span(bytes + 2, 2))) {
      std::snprintf(line, sizeof line, "0x%08" PRIx64 ":  Cannot access memory\n", address);
      out += line;
      break;
    }
    const uint32_t raw = compressed ? uint32_t(bytes[0] | bytes[1] << 8)
                                    : uint32_t(bytes[0] | bytes[1] << 8 | bytes[2] << 16 | uint32_t(bytes[3]) << 24);
    if (compressed) {
      std::snprintf(line, sizeof line, "0x%08" PRIx64 ":  %04x              ", address, raw);
    } else {
      std::snprintf(line, sizeof line, "0x%08" PRIx64 ":  %08x          ", address, raw);
    }
    out += line;
    out += disassemble(raw, address);
    out += '\n';
    address += compressed ? 2 : 4;
  }
  return out;
}

}  // namespace

Status save_physical_memory(VirtMachine& machine, uint64_t address, uint64_t size, const std::string& path) {
  auto file = OutputFile::open(path);
  if (!file) return std::unexpected(std::move(file.error()));
  std::vector<uint8_t> buffer;
  for (uint64_t done = 0; done < size;) {
    const uint64_t pa = address + done;
    const size_t chunk = std::min<uint64_t>(size - done, kPageSize - (pa % kPageSize));
    buffer.assign(chunk, 0);
    if (!read_physical(machine.memory(), pa, buffer)) {
      // Partly unassigned: byte by byte, as QEMU reads unassigned memory as zeros.
      for (size_t i = 0; i < chunk; ++i) (void)read_physical(machine.memory(), pa + i, std::span(&buffer[i], 1));
    }
    if (auto status = file->write(buffer); !status) return status;
    done += chunk;
  }
  return {};
}

Status save_virtual_memory(VirtMachine& machine, unsigned cpu, uint64_t address, uint64_t size,
                           const std::string& path) {
  auto file = OutputFile::open(path);
  if (!file) return std::unexpected(std::move(file.error()));
  std::vector<uint8_t> buffer;
  for (uint64_t done = 0; done < size;) {
    const uint64_t va = address + done;
    const size_t chunk = std::min<uint64_t>(size - done, kPageSize - (va % kPageSize));
    buffer.assign(chunk, 0);
    if (!read_guest(machine, static_cast<int>(cpu), va, buffer)) {
      char text[96];
      std::snprintf(text, sizeof text, "Invalid addr 0x%016" PRIx64 "/size %" PRId64 " specified", address,
                    static_cast<int64_t>(size));
      return fail(text);
    }
    if (auto status = file->write(buffer); !status) return status;
    done += chunk;
  }
  return {};
}

Result<DumpFormat> parse_dump_format(std::string_view text) {
  DumpFormat format;
  if (!text.starts_with("/")) return format;
  text.remove_prefix(1);
  size_t i = 0;
  if (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    format.count = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') format.count = format.count * 10 + (text[i++] - '0');
  }
  bool size_given = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    switch (c) {
      case 'x': case 'd': case 'u': case 'o': case 'c': case 'i': format.format = c; break;
      case 'b': format.size = 1; size_given = true; break;
      case 'h': format.size = 2; size_given = true; break;
      case 'w': format.size = 4; size_given = true; break;
      case 'g': format.size = 8; size_given = true; break;
      default: return fail(std::string("invalid char in format: '") + c + "'");
    }
  }
  if (format.format == 'c' && !size_given) format.size = 1;
  return format;
}

std::string dump_memory(VirtMachine& machine, unsigned cpu, uint64_t address, const DumpFormat& format, bool physical) {
  const int through = physical ? kPhysical : static_cast<int>(cpu);
  if (format.format == 'i') return dump_instructions(machine, through, address, format.count);

  // QEMU's memory_dump: 16 bytes a line (8 for bytes), fixed-width columns.
  unsigned size = format.size;
  unsigned line_bytes = size == 1 ? 8 : 16;
  int digits = 0;
  switch (format.format) {
    case 'o': digits = static_cast<int>((size * 8 + 2) / 3); break;
    case 'u': case 'd': digits = static_cast<int>((size * 8 * 10 + 32) / 33); break;
    case 'c': size = 1; line_bytes = 16; break;
    default: digits = static_cast<int>(size * 2); break;
  }
  std::string out;
  uint64_t remaining = format.count * size;
  std::vector<uint8_t> line(line_bytes);
  char cell[48];
  while (remaining > 0) {
    out += hex64(address) + ":";
    const size_t length = std::min<uint64_t>(remaining, line_bytes);
    if (!read_guest(machine, through, address, std::span(line.data(), length))) {
      out += " Cannot access memory\n";
      break;
    }
    for (size_t i = 0; i < length; i += size) {
      uint64_t value = 0;
      for (unsigned b = 0; b < size; ++b) value |= uint64_t(line[i + b]) << (8 * b);
      switch (format.format) {
        case 'o': std::snprintf(cell, sizeof cell, " %#*" PRIo64, digits, value); break;
        case 'u': std::snprintf(cell, sizeof cell, " %*" PRIu64, digits, value); break;
        case 'd': std::snprintf(cell, sizeof cell, " %*" PRId64, digits, static_cast<int64_t>(value)); break;
        case 'c': std::snprintf(cell, sizeof cell, " %s", printable_char(static_cast<uint8_t>(value)).c_str()); break;
        default: std::snprintf(cell, sizeof cell, " 0x%0*" PRIx64, digits, value); break;
      }
      out += cell;
    }
    out += '\n';
    address += length;
    remaining -= length;
  }
  return out;
}

}  // namespace godwit
