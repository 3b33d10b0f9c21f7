// -machine, -m, -smp, -bios, -L, -kernel, -initrd, -dtb, -append, -name,
// -display and the flags.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "base/errno_text.hpp"
#include "base/size_parse.hpp"
#include "base/key_value_list.hpp"
#include "cli/option_handlers.hpp"
#include "migration/cpr_state.hpp"
#include "migration/migration_uri.hpp"

namespace godwit {
namespace {

constexpr unsigned kMaxHarts = 8;

std::string quoted(std::string_view text) {
  std::string out(1, '\'');  // built by appending: GCC 12 warns falsely on "'" + string
  out += text;
  out += '\'';
  return out;
}

}  // namespace

// -machine [type=]virt[,memory-backend=ID][,aux-ram-share=on|off][,dumpdtb=FILE]
// Repeated -machine options merge, later keys winning, as in QEMU.
Status handle_machine(ParseState& state, std::string_view argument) {
  auto list = KeyValueList::parse(argument, "type");
  if (!list) return std::unexpected(std::move(list.error()));
  if (auto status = list->check_keys({"type", "memory-backend", "aux-ram-share", "dumpdtb"});
      !status) {
    return status;
  }
  MachineConfig& config = state.config();
  if (auto type = list->get("type")) {
    if (*type == "help" || *type == "?") {
      state.command_line.action = CommandLine::Action::kListMachines;
      state.done = true;
      return {};
    }
    if (*type != "virt") {
      return fail("unsupported machine type \"" + *type +
                  "\" (use -machine help to list supported machines)");
    }
    config.machine_type = *type;
  }
  if (auto id = list->get("memory-backend")) config.memory_backend_id = *id;
  auto share = list->get_bool("aux-ram-share");
  if (!share) return std::unexpected(std::move(share.error()));
  if (*share) config.aux_ram_share = **share;
  if (auto path = list->get("dumpdtb")) {
    if (path->empty()) return fail("dumpdtb needs a file name");
    config.dumpdtb_path = *path;
  }
  return {};
}

// -m [size=]SIZE: a plain number is in MiB; 0 or nothing keeps the default,
// as QEMU.
Status handle_memory_size(ParseState& state, std::string_view argument) {
  auto list = KeyValueList::parse(argument, "size");
  if (!list) return std::unexpected(std::move(list.error()));
  if (auto status = list->check_keys({"size"}); !status) return status;
  const auto text = list->get("size");
  if (!text || argument.empty()) return {};  // "-m ''": QEMU keeps the default
  const auto size = parse_size(*text, kMachineMemorySize);
  if (!size) return fail("invalid size " + quoted(*text));
  if (*size == 0) return {};
  state.config().ram_size_bytes = *size;
  state.config().ram_size_given = true;
  return {};
}

// -smp [cpus=]N: 1 to 8 harts. Topology keys (sockets, cores, threads) are
// not modelled.
Status handle_smp(ParseState& state, std::string_view argument) {
  auto list = KeyValueList::parse(argument, "cpus");
  if (!list) return std::unexpected(std::move(list.error()));
  if (auto status = list->check_keys({"cpus"}); !status) return status;
  const auto text = list->get("cpus");
  if (!text) return fail("parameter 'cpus' is missing");
  unsigned cpus = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), cpus);
  if (ec != std::errc() || end != text->data() + text->size() || text->empty()) {
    return fail("parameter 'cpus' expects an integer, not " + quoted(*text));
  }
  if (cpus == 0) return fail("CPU topology parameters must be greater than zero");
  if (cpus > kMaxHarts) {
    return fail("invalid SMP CPUs " + std::to_string(cpus) +
                ": the maximum supported by machine 'virt' is " + std::to_string(kMaxHarts));
  }
  state.config().smp = cpus;
  return {};
}

// -bios default|none|FILE. A file is looked up when the machine is built,
// after every -L is known, as QEMU does.
Status handle_bios(ParseState& state, std::string_view argument) {
  if (argument.empty()) return fail("no firmware file given (use default, none or a file)");
  state.config().bios = argument;
  return {};
}

// -L DIR: where -bios looks for firmware first (repeatable).
Status handle_data_dir(ParseState& state, std::string_view argument) {
  if (argument.empty()) return fail("no directory given");
  state.config().data_dirs.emplace_back(argument);
  return {};
}

namespace {

// The files are loaded much later; checking them here makes a typo in a
// name the first error reported, before anything else starts.
Result<std::string> readable_file(std::string_view argument, const char* what) {
  const std::string path(argument);
  if (path.empty()) return fail(std::string("no ") + what + " file given");
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail("cannot read " + quoted(path) + ": " + errno_text(errno));
  struct stat st {};
  const bool directory = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
  close(fd);
  if (directory) return fail("cannot read " + quoted(path) + ": Is a directory");
  return path;
}

}  // namespace

Status handle_kernel(ParseState& state, std::string_view argument) {
  auto path = readable_file(argument, "kernel");
  if (!path) return std::unexpected(std::move(path.error()));
  state.config().kernel_path = *path;
  return {};
}

Status handle_initrd(ParseState& state, std::string_view argument) {
  auto path = readable_file(argument, "initrd");
  if (!path) return std::unexpected(std::move(path.error()));
  state.config().initrd_path = *path;
  return {};
}

Status handle_dtb(ParseState& state, std::string_view argument) {
  auto path = readable_file(argument, "device tree");
  if (!path) return std::unexpected(std::move(path.error()));
  state.config().dtb_path = *path;
  return {};
}

Status handle_append(ParseState& state, std::string_view argument) {
  state.config().append = argument;
  return {};
}

// -name [guest=]NAME
Status handle_name(ParseState& state, std::string_view argument) {
  auto list = KeyValueList::parse(argument, "guest");
  if (!list) return std::unexpected(std::move(list.error()));
  if (auto status = list->check_keys({"guest"}); !status) return status;
  state.config().name = list->get("guest").value_or("");
  return {};
}

// Only "none": godwit has no graphical console.
Status handle_display(ParseState& state, std::string_view argument) {
  auto list = KeyValueList::parse(argument, "type");
  if (!list) return std::unexpected(std::move(list.error()));
  if (auto status = list->check_keys({"type"}); !status) return status;
  const std::string type = list->get("type").value_or("");
  if (type != "none")
    return fail("unsupported display " + quoted(type) + ": only 'none' is supported");
  state.config().display = type;
  return {};
}

Status handle_pidfile(ParseState& state, std::string_view argument) {
  if (argument.empty()) return fail("no file name given");
  state.config().pidfile_path = argument;
  return {};
}

Status handle_nographic(ParseState& state, std::string_view) {
  state.config().nographic = true;
  state.config().display = "none";
  return {};
}

Status handle_start_paused(ParseState& state, std::string_view) {
  state.config().start_paused = true;
  return {};
}

Status handle_incoming(ParseState& state, std::string_view argument) {
  if (argument.empty()) return fail("no URI given (use a migration URI or defer)");
  // QEMU's JSON form names the channel: a second -incoming may give the
  // cpr channel of a cpr-transfer.
  if (argument.front() == '{') {
    auto channel = parse_incoming_channel_json(argument);
    if (!channel) return std::unexpected(channel.error());
    if (channel->cpr) {
      if (!state.config().cpr_incoming.empty()) return fail("the cpr channel is given twice");
      if (auto unix_address = cpr_channel_address(channel->address); !unix_address) {
        return std::unexpected(unix_address.error());
      }
      state.config().cpr_incoming = argument;
      return {};
    }
  }
  if (!state.config().incoming.empty()) return fail("given twice: godwit takes one main incoming migration channel");
  state.config().incoming = argument;
  return {};
}

Status handle_no_shutdown(ParseState& state, std::string_view) {
  state.config().no_shutdown = true;
  return {};
}

Status handle_version(ParseState& state, std::string_view) {
  state.command_line.action = CommandLine::Action::kVersion;
  state.done = true;
  return {};
}

Status handle_help(ParseState& state, std::string_view) {
  state.command_line.action = CommandLine::Action::kHelp;
  state.done = true;
  return {};
}

}  // namespace godwit
