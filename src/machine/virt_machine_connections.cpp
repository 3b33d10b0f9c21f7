// CPR connection handover: monitor and serial connections that outlive the
// program. Their descriptors travel with the CPR state (cpr_fds); what the
// backends and monitor sessions hold in memory travels in the stream's
// "godwit-connections" section, written last, with the guest stopped:
//
//   old side  quiesce (no new input, no new command) -> wait for commands
//             in flight to answer -> freeze (stop touching the descriptors,
//             take the unsent output and the sessions' state) -> section;
//             then release them (success) or serve them again (failure).
//   new side  adopt matching descriptors at build (dormant) -> load the
//             section -> resume each adopted connection before the guest
//             resumes, so that the old program's unsent output, then the
//             MIGRATION and RESUME events, then the new guest output arrive
//             in that order.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "machine/virt_machine.hpp"

namespace godwit {
namespace {

constexpr uint32_t kConnectionsVersion = 1;
constexpr uint32_t kMaxConnections = 64;
constexpr uint32_t kMaxIdBytes = 256;
// Bounds on what a stream may ask this side to allocate: a monitor queues at
// most 16 MiB of output, a session holds at most 16 messages of 64 MiB in
// theory, far less in practice.
constexpr uint32_t kMaxUnsentBytes = 64u << 20;
constexpr uint32_t kMaxFrontendStateBytes = 256u << 20;

void put_bytes(StreamWriter& out, std::span<const uint8_t> bytes) {
  out.put_be32(static_cast<uint32_t>(bytes.size()));
  out.put_buffer(bytes);
}

bool get_bytes(StreamReader& in, uint32_t limit, std::vector<uint8_t>& bytes) {
  const uint32_t length = in.get_be32();
  if (in.failed() || length > limit) return false;
  bytes.resize(length);
  in.get_buffer(bytes);
  return !in.failed();
}

}  // namespace

std::vector<std::string> VirtMachine::connection_chardevs() {
  std::vector<std::string> ids;
  for (const auto& chardev : chardevs_) {
    if (!chardev->connection_fds().empty()) ids.push_back(chardev->id());
  }
  return ids;
}

void VirtMachine::hand_over_connections(std::vector<std::string> chardev_ids) {
  connection_handover_ids_ = std::move(chardev_ids);
}

std::vector<std::string> VirtMachine::adopted_chardevs() const {
  std::vector<std::string> ids;
  for (const auto& chardev : chardevs_) {
    if (chardev->adopted()) ids.push_back(chardev->id());
  }
  return ids;
}

void VirtMachine::save_connections(StreamWriter& out) {
  std::vector<CharBackend*> chosen;
  for (const auto& chardev : chardevs_) {
    if (std::ranges::find(connection_handover_ids_, chardev->id()) != connection_handover_ids_.end()) {
      chosen.push_back(chardev.get());
    }
  }
  std::vector<ConnectionState> states(chosen.size());
  if (!chosen.empty()) {
    io_loop_.run_and_wait([&] {
      for (CharBackend* chardev : chosen) chardev->quiesce_connection();
    });
    // A command already handed to the main thread answers before the
    // connection freezes; its reply is then queued (or sent) below.
    (void)run_on_main_and_wait([] {});
    io_loop_.run_and_wait([&] {
      for (size_t i = 0; i < chosen.size(); ++i) states[i] = chosen[i]->freeze_connection();
    });
    frozen_connections_ = chosen;
  }
  const uint64_t start = out.bytes_written();
  out.put_be32(static_cast<uint32_t>(chosen.size()));
  for (size_t i = 0; i < chosen.size(); ++i) {
    const std::string& id = chosen[i]->id();
    put_bytes(out, {reinterpret_cast<const uint8_t*>(id.data()), id.size()});
    out.put_be64(states[i].client_inode);
    put_bytes(out, states[i].unsent_output);
    put_bytes(out, states[i].frontend_state);
  }
  saved_connections_bytes_ = out.bytes_written() - start;
}

Status VirtMachine::load_connections(StreamReader& in, uint32_t version) {
  (void)version;
  const uint32_t count = in.get_be32();
  if (in.failed()) return in.status();
  if (count > kMaxConnections) return fail(std::to_string(count) + " connections is more than " + std::to_string(kMaxConnections));
  incoming_connections_.clear();
  for (uint32_t i = 0; i < count; ++i) {
    std::vector<uint8_t> id;
    ConnectionState state;
    if (!get_bytes(in, kMaxIdBytes, id)) return fail("connection " + std::to_string(i) + ": bad chardev id");
    state.client_inode = in.get_be64();
    if (!get_bytes(in, kMaxUnsentBytes, state.unsent_output)) {
      return fail("connection " + std::to_string(i) + ": bad unsent output");
    }
    if (!get_bytes(in, kMaxFrontendStateBytes, state.frontend_state)) {
      return fail("connection " + std::to_string(i) + ": bad front end state");
    }
    incoming_connections_[std::string(id.begin(), id.end())] = std::move(state);
  }
  return {};
}

nlohmann::json VirtMachine::describe_connections() const {
  // A count, then records of variable length the describer cannot spell
  // field by field: shown as one buffer.
  nlohmann::json fields = nlohmann::json::array();
  fields.push_back({{"name", "count"}, {"type", "uint32"}, {"size", 4}});
  if (saved_connections_bytes_ > 4) {
    fields.push_back({{"name", "connections"}, {"type", "buffer"}, {"size", saved_connections_bytes_ - 4}});
  }
  return {{"vmsd_name", "godwit-connections"}, {"version", kConnectionsVersion}, {"fields", std::move(fields)}};
}

uint32_t VirtMachine::connections_section_version() { return kConnectionsVersion; }

void VirtMachine::finish_connection_handover(bool success) {
  std::vector<CharBackend*> frozen = std::move(frozen_connections_);
  frozen_connections_.clear();
  connection_handover_ids_.clear();
  if (frozen.empty()) return;
  io_loop_.run_and_wait([&] {
    for (CharBackend* chardev : frozen) {
      if (success) {
        chardev->release_connection();
      } else {
        chardev->thaw_connection();
      }
    }
  });
  if (!success || config_.monitors.empty()) return;
  for (const MonitorConfig& monitor : config_.monitors) {
    const bool gone = std::ranges::any_of(frozen, [&](CharBackend* c) { return c->id() == monitor.chardev_id; });
    if (!gone) return;
  }
  // Every monitor now belongs to the new process: nobody can reach this one
  // any more, so it leaves on its own instead of lingering in postmigrate.
  std::fprintf(stderr, "godwit: the new process took over every monitor connection; exiting\n");
  request_quit(0, ShutdownCause::kHostQmpQuit);
}

void VirtMachine::resume_adopted_connections() {
  std::vector<std::pair<CharBackend*, std::optional<ConnectionState>>> adopted;
  for (const auto& chardev : chardevs_) {
    if (!chardev->adopted()) continue;
    auto found = incoming_connections_.find(chardev->id());
    adopted.emplace_back(chardev.get(), found == incoming_connections_.end()
                                            ? std::nullopt
                                            : std::optional<ConnectionState>(std::move(found->second)));
  }
  incoming_connections_.clear();
  if (adopted.empty()) return;
  // Posted, not waited for: the events and guest output that follow are
  // posted or queued after it, and keep their order.
  io_loop_.post([adopted = std::move(adopted)] {
    for (const auto& [chardev, state] : adopted) chardev->resume_connection(state ? &*state : nullptr);
  });
}

void VirtMachine::close_unadopted_connection_fds(CprState& handed_over) {
  // A client nobody here serves must see its connection end, not hang.
  for (CprFd& fd : handed_over.fds) {
    if (fd.fd() >= 0 && fd.name().rfind("chardev:", 0) == 0) ::close(fd.take());
  }
}

}  // namespace godwit
