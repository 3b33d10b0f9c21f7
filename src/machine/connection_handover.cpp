#include "machine/connection_handover.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>


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

std::vector<std::string> ConnectionHandover::connection_chardevs() const {
  std::vector<std::string> ids;
  for (const auto& chardev : chardevs_) {
    if (!chardev->connection_fds().empty()) ids.push_back(chardev->id());
  }
  return ids;
}

std::vector<std::string> ConnectionHandover::adopted_chardevs() const {
  std::vector<std::string> ids;
  for (const auto& chardev : chardevs_) {
    if (chardev->adopted()) ids.push_back(chardev->id());
  }
  return ids;
}

DeviceSection ConnectionHandover::section() {
  return {"godwit-connections", 0, kConnectionsVersion, [this](StreamWriter& out) { save(out); },
          [this](StreamReader& in, uint32_t) { return load(in); }, [this] { return describe(); }};
}

void ConnectionHandover::save(StreamWriter& out) {
  std::vector<CharBackend*> chosen;
  for (const auto& chardev : chardevs_) {
    if (std::ranges::find(chosen_ids_, chardev->id()) != chosen_ids_.end()) {
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
    (void)drain_main_();
    io_loop_.run_and_wait([&] {
      for (size_t i = 0; i < chosen.size(); ++i) states[i] = chosen[i]->freeze_connection();
    });
    frozen_ = chosen;
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
  saved_bytes_ = out.bytes_written() - start;
}

Status ConnectionHandover::load(StreamReader& in) {
  const uint32_t count = in.get_be32();
  if (in.failed()) return in.status();
  if (count > kMaxConnections) return fail(std::to_string(count) + " connections is more than " + std::to_string(kMaxConnections));
  incoming_.clear();
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
    incoming_[std::string(id.begin(), id.end())] = std::move(state);
  }
  return {};
}

nlohmann::json ConnectionHandover::describe() const {
  // A count, then records of variable length the describer cannot spell
  // field by field: shown as one buffer.
  nlohmann::json fields = nlohmann::json::array();
  fields.push_back({{"name", "count"}, {"type", "uint32"}, {"size", 4}});
  if (saved_bytes_ > 4) {
    fields.push_back({{"name", "connections"}, {"type", "buffer"}, {"size", saved_bytes_ - 4}});
  }
  return {{"vmsd_name", "godwit-connections"}, {"version", kConnectionsVersion}, {"fields", std::move(fields)}};
}

bool ConnectionHandover::finish(bool success, const std::vector<std::string>& monitor_chardevs) {
  std::vector<CharBackend*> frozen = std::move(frozen_);
  frozen_.clear();
  chosen_ids_.clear();
  if (frozen.empty()) return false;
  io_loop_.run_and_wait([&] {
    for (CharBackend* chardev : frozen) {
      if (success) {
        chardev->release_connection();
      } else {
        chardev->thaw_connection();
      }
    }
  });
  if (!success || monitor_chardevs.empty()) return false;
  return std::ranges::all_of(monitor_chardevs, [&](const std::string& id) {
    return std::ranges::any_of(frozen, [&](CharBackend* c) { return c->id() == id; });
  });
}

void ConnectionHandover::resume_adopted() {
  std::vector<std::pair<CharBackend*, std::optional<ConnectionState>>> adopted;
  for (const auto& chardev : chardevs_) {
    if (!chardev->adopted()) continue;
    auto found = incoming_.find(chardev->id());
    adopted.emplace_back(chardev.get(), found == incoming_.end()
                                            ? std::nullopt
                                            : std::optional<ConnectionState>(std::move(found->second)));
  }
  incoming_.clear();
  if (adopted.empty()) return;
  // Posted, not waited for: the events and guest output that follow are
  // posted or queued after it, and keep their order.
  io_loop_.post([adopted = std::move(adopted)] {
    for (const auto& [chardev, state] : adopted) chardev->resume_connection(state ? &*state : nullptr);
  });
}

void ConnectionHandover::close_unadopted_fds(CprState& handed_over) {
  for (CprFd& fd : handed_over.fds) {
    if (fd.fd() >= 0 && fd.name().rfind("chardev:", 0) == 0) ::close(fd.take());
  }
}

}  // namespace godwit
