#include "chardev/socket_chardev.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <mutex>
#include <vector>

#include "base/errno_text.hpp"
#include "chardev/frontend_link.hpp"
#include "chardev/socket_address.hpp"
#include "io/socket_setup.hpp"

namespace godwit {

struct SocketChardev::Core : std::enable_shared_from_this<Core> {
  Core(IoLoop& loop, ChardevConfig config) : loop(loop), config(std::move(config)) {}
  ~Core();

  // Loop thread.
  void on_listen_event(short revents);
  void on_client_event(short revents);
  void resume_input();
  void set_frontend(CharFrontend* frontend);
  void notify_closed();
  void register_fds_locked();

  // Any thread, under mutex.
  void adopt_client_locked(int fd);
  void disconnect_locked();
  void update_events_locked();
  void flush_locked();
  void queue_output_locked(std::span<const uint8_t> bytes);

  IoLoop& loop;
  const ChardevConfig config;
  int listen_fd = -1;  // -1 for a client (server=off)
  uint16_t port = 0;

  FrontendLink link;  // loop thread only

  mutable std::mutex mutex;  // guards what follows
  int client_fd = -1;
  bool input_blocked = false;  // the front end is full: POLLIN is off
  bool shutting_down = false;  // the backend is going: register nothing more
  // CPR. adopted: built on an old program's descriptors; dormant: adopted
  // and not yet resumed (output queues, nothing is polled); frozen: handed
  // to the next program (nothing polled, output dropped); released: gone to
  // it for good (the socket path is its now).
  bool adopted = false;
  bool dormant = false;
  bool frozen = false;
  bool released = false;
  std::vector<uint8_t> pending_output;
  size_t output_limit = kOutputBufferBytes;
  // Output carried from the old program rides on top of the limit until it
  // is sent, so that it does not push out what the guest writes next.
  size_t carried_allowance = 0;
  bool drop_client_on_overflow = false;  // set_output_limit(): whole output or none
};

SocketChardev::Core::~Core() {
  if (client_fd >= 0) close(client_fd);
  if (listen_fd >= 0) close(listen_fd);
}

namespace {

std::string listen_fd_name(const std::string& id) { return "chardev:" + id + ":listen"; }
std::string client_fd_name(const std::string& id) { return "chardev:" + id + ":client"; }

uint64_t socket_inode(int fd) {
  struct stat st {};
  return fd >= 0 && fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
}

}  // namespace

void SocketChardev::Core::update_events_locked() {
  if (client_fd < 0 || dormant || frozen) return;
  short events = 0;
  if (!input_blocked) events |= POLLIN;
  if (!pending_output.empty()) events |= POLLOUT;
  loop.modify_fd(client_fd, events);
}

void SocketChardev::Core::adopt_client_locked(int fd) {
  client_fd = fd;
  input_blocked = false;
  pending_output.clear();
  carried_allowance = 0;
  std::weak_ptr<Core> weak = weak_from_this();
  loop.add_fd(fd, POLLIN, [weak](short revents) {
    if (auto core = weak.lock()) core->on_client_event(revents);
  });
  // One client at a time: later ones wait in the listen backlog.
  if (listen_fd >= 0) loop.remove_fd(listen_fd);
}

void SocketChardev::Core::disconnect_locked() {
  if (client_fd < 0) return;
  loop.remove_fd(client_fd);
  close(client_fd);
  client_fd = -1;
  pending_output.clear();
  if (listen_fd >= 0 && !shutting_down && !frozen) {
    std::weak_ptr<Core> weak = weak_from_this();
    loop.add_fd(listen_fd, POLLIN, [weak](short revents) {
      if (auto core = weak.lock()) core->on_listen_event(revents);
    });
  }
}

void SocketChardev::Core::on_listen_event(short) {
  const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return;  // EAGAIN: the client gave up; others: try again later
  {
    std::lock_guard lock(mutex);
    if (shutting_down || client_fd >= 0) {
      close(fd);
      return;
    }
    adopt_client_locked(fd);
  }
  // Outside the lock: the front end answers (a monitor's greeting) by writing.
  if (link.frontend() != nullptr) link.frontend()->opened();
}

void SocketChardev::Core::register_fds_locked() {
  std::weak_ptr<Core> weak = weak_from_this();
  if (client_fd >= 0) {
    short events = input_blocked ? 0 : POLLIN;
    if (!pending_output.empty()) events |= POLLOUT;
    loop.add_fd(client_fd, events, [weak](short revents) {
      if (auto core = weak.lock()) core->on_client_event(revents);
    });
  } else if (listen_fd >= 0) {
    loop.add_fd(listen_fd, POLLIN, [weak](short revents) {
      if (auto core = weak.lock()) core->on_listen_event(revents);
    });
  }
}

void SocketChardev::Core::notify_closed() {
  if (link.frontend() != nullptr) link.frontend()->closed();
}

void SocketChardev::Core::on_client_event(short revents) {
  if (revents & (POLLERR | POLLNVAL)) {
    {
      std::lock_guard lock(mutex);
      disconnect_locked();
    }
    notify_closed();
    return;
  }
  if (revents & POLLOUT) {
    std::lock_guard lock(mutex);
    flush_locked();
    update_events_locked();
  }
  if (!(revents & (POLLIN | POLLHUP))) return;
  const auto outcome = link.pump_socket(client_fd);
  if (outcome == FrontendLink::ReadOutcome::kDelivered) return;
  bool closed = false;
  {
    std::lock_guard lock(mutex);
    if (client_fd < 0) return;  // the front end's reply overflowed and dropped the client
    if (outcome == FrontendLink::ReadOutcome::kClosed || (revents & POLLHUP)) {
      // End of stream, or a hang-up with input the front end cannot take yet:
      // that input is lost with the connection, as QEMU drops it.
      disconnect_locked();
      closed = true;
    } else {
      input_blocked = true;
      update_events_locked();
    }
  }
  if (closed) notify_closed();
}

void SocketChardev::Core::resume_input() {
  std::lock_guard lock(mutex);
  if (!input_blocked) return;
  input_blocked = false;
  update_events_locked();
}

void SocketChardev::Core::set_frontend(CharFrontend* frontend) {
  link.set_frontend(frontend);
  bool is_connected;
  {
    std::lock_guard lock(mutex);
    // An adopted client is the old program's: resume_connection() restores
    // its front end instead of greeting it.
    is_connected = client_fd >= 0 && !dormant;
  }
  if (frontend != nullptr && is_connected) frontend->opened();
  resume_input();
}

void SocketChardev::Core::flush_locked() {
  while (!pending_output.empty()) {
    const ssize_t n =
        send(client_fd, pending_output.data(), pending_output.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      // EPIPE, ECONNRESET: the client is gone; the loop sees the hang-up.
      pending_output.clear();
      return;
    }
    pending_output.erase(pending_output.begin(), pending_output.begin() + n);
    carried_allowance -= std::min(carried_allowance, static_cast<size_t>(n));
  }
  if (pending_output.empty()) carried_allowance = 0;
}

void SocketChardev::Core::queue_output_locked(std::span<const uint8_t> bytes) {
  const bool was_empty = pending_output.empty();
  if (was_empty && !dormant) {
    // The common case: the socket takes it all at once, from this thread.
    while (!bytes.empty()) {
      const ssize_t n = send(client_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n <= 0) return;  // the client is gone
      bytes = bytes.subspan(static_cast<size_t>(n));
    }
  }
  const size_t limit = output_limit + carried_allowance;
  const size_t room = limit - std::min(limit, pending_output.size());
  if (drop_client_on_overflow && bytes.size() > room && !dormant) {
    // A reader this far behind loses the connection rather than part of a
    // message; the loop sees the hang-up and tells the front end.
    shutdown(client_fd, SHUT_RDWR);
    pending_output.clear();
    return;
  }
  const size_t kept = std::min(room, bytes.size());
  pending_output.insert(pending_output.end(), bytes.begin(), bytes.begin() + kept);
  if (was_empty && !pending_output.empty()) update_events_locked();
}

Result<std::unique_ptr<SocketChardev>> SocketChardev::create(const ChardevConfig& config,
                                                             IoLoop& loop, const TakeHandedOverFd& take_fd) {
  const std::string prefix = "chardev '" + config.id + "'";
  auto core = std::make_shared<Core>(loop, config);
  if (take_fd) {
    const int listen = config.server ? take_fd(listen_fd_name(config.id)) : -1;
    const int client = take_fd(client_fd_name(config.id));
    const bool matches = config.server ? listen >= 0 && socket_matches(listen, socket_address_of(config), true)
                                       : client >= 0 && socket_matches(client, socket_address_of(config), false);
    if (matches) {
      std::lock_guard lock(core->mutex);
      core->listen_fd = listen;
      core->client_fd = client;
      core->port = config.server && config.path.empty() ? socket_bound_port(listen) : 0;
      core->adopted = core->dormant = true;
      core->input_blocked = true;
      return std::unique_ptr<SocketChardev>(new SocketChardev(config.id, std::move(core)));
    }
    // Another address: this program's chardev is a different one, which
    // opens as usual; the old connection ends with the old program.
    if (listen >= 0) close(listen);
    if (client >= 0) close(client);
  }
  if (config.server) {
    auto fd = listen_socket(config);
    if (!fd) return std::unexpected(std::move(fd.error()).context(prefix));
    core->listen_fd = *fd;
    core->port = config.path.empty() ? socket_bound_port(*fd) : 0;
    std::lock_guard lock(core->mutex);
    if (config.wait) {
      // As QEMU: start-up waits for the first client, saying where.
      ChardevConfig shown = config;
      shown.port = core->port;
      std::fprintf(stderr, "godwit: waiting for connection on: disconnected:%s,server=on\n",
                   socket_address_text(shown).c_str());
      for (;;) {
        pollfd p{*fd, POLLIN, 0};
        if (poll(&p, 1, -1) < 0 && errno != EINTR) {
          return fail(prefix + ": " + socket_address_text(config) + ": poll: " + errno_text(errno));
        }
        const int client = accept4(*fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (client >= 0) {
          core->adopt_client_locked(client);
          break;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
          return fail(prefix + ": " + socket_address_text(config) +
                      ": accept: " + errno_text(errno));
        }
      }
    } else {
      std::weak_ptr<Core> weak = core;
      loop.add_fd(*fd, POLLIN, [weak](short revents) {
        if (auto c = weak.lock()) c->on_listen_event(revents);
      });
    }
  } else {
    auto fd = connect_socket(config);
    if (!fd) return std::unexpected(std::move(fd.error()).context(prefix));
    std::lock_guard lock(core->mutex);
    core->adopt_client_locked(*fd);
  }
  {
    // Input waits until a front end is attached.
    std::lock_guard lock(core->mutex);
    core->input_blocked = true;
    core->update_events_locked();
  }
  return std::unique_ptr<SocketChardev>(new SocketChardev(config.id, std::move(core)));
}

SocketChardev::SocketChardev(std::string id, std::shared_ptr<Core> core)
    : id_(std::move(id)), core_(std::move(core)) {}

SocketChardev::~SocketChardev() {
  std::lock_guard lock(core_->mutex);
  core_->shutting_down = true;
  if (core_->client_fd >= 0) core_->loop.remove_fd(core_->client_fd);
  if (core_->listen_fd >= 0) core_->loop.remove_fd(core_->listen_fd);
  if (core_->config.server && !core_->config.path.empty() && !core_->released) {
    // QEMU removes the path of a unix socket it listened on. Done here, not
    // when the fd closes, so the path is gone when the destructor returns.
    // A socket handed to a new program is that program's to remove.
    unlink(core_->config.path.c_str());
  }
  // The fds close when the last callback holding the core returns.
}

std::string SocketChardev::filename() const {
  ChardevConfig shown = core_->config;
  if (core_->port != 0) shown.port = core_->port;
  std::string text = socket_address_text(shown);
  if (core_->config.server) text += ",server=on";
  return connected() ? text : "disconnected:" + text;
}

void SocketChardev::write(std::span<const uint8_t> bytes) {
  std::lock_guard lock(core_->mutex);
  // No client: dropped, as QEMU. Frozen: the next program speaks now.
  if (core_->client_fd < 0 || core_->shutting_down || core_->frozen) return;
  core_->queue_output_locked(bytes);
}

void SocketChardev::attach(CharFrontend* frontend) {
  std::weak_ptr<Core> weak = core_;
  core_->loop.post([weak, frontend] {
    if (auto core = weak.lock()) core->set_frontend(frontend);
  });
}

void SocketChardev::frontend_ready() {
  std::weak_ptr<Core> weak = core_;
  core_->loop.post([weak] {
    if (auto core = weak.lock()) core->resume_input();
  });
}

void SocketChardev::set_output_limit(size_t bytes) {
  std::lock_guard lock(core_->mutex);
  core_->output_limit = bytes;
  core_->drop_client_on_overflow = true;
}

uint16_t SocketChardev::bound_port() const { return core_->port; }

bool SocketChardev::connected() const {
  std::lock_guard lock(core_->mutex);
  return core_->client_fd >= 0;
}

std::vector<ChardevFd> SocketChardev::connection_fds() const {
  std::lock_guard lock(core_->mutex);
  std::vector<ChardevFd> fds;
  if (core_->released) return fds;
  if (core_->listen_fd >= 0) fds.push_back({listen_fd_name(id_), core_->listen_fd});
  if (core_->client_fd >= 0) fds.push_back({client_fd_name(id_), core_->client_fd});
  return fds;
}

bool SocketChardev::adopted() const {
  std::lock_guard lock(core_->mutex);
  return core_->adopted;
}

void SocketChardev::quiesce_connection() {
  {
    std::lock_guard lock(core_->mutex);
    core_->input_blocked = true;
    core_->update_events_locked();
  }
  if (core_->link.frontend() != nullptr) core_->link.frontend()->quiesce();
}

ConnectionState SocketChardev::freeze_connection() {
  ConnectionState state;
  bool connected;
  {
    std::lock_guard lock(core_->mutex);
    if (core_->client_fd >= 0) {
      core_->flush_locked();  // whatever the socket takes now need not travel
      core_->loop.remove_fd(core_->client_fd);
    }
    if (core_->listen_fd >= 0) core_->loop.remove_fd(core_->listen_fd);
    core_->frozen = true;
    connected = core_->client_fd >= 0;
    state.client_inode = socket_inode(core_->client_fd);
    state.unsent_output = core_->pending_output;  // kept here too, for a thaw
  }
  if (connected && core_->link.frontend() != nullptr) state.frontend_state = core_->link.frontend()->save_connection();
  return state;
}

void SocketChardev::thaw_connection() {
  {
    std::lock_guard lock(core_->mutex);
    if (!core_->frozen) return;
    core_->frozen = false;
    core_->input_blocked = false;
    core_->register_fds_locked();
  }
  if (core_->link.frontend() != nullptr) core_->link.frontend()->unquiesce();
}

void SocketChardev::release_connection() {
  std::lock_guard lock(core_->mutex);
  core_->frozen = core_->released = true;
  if (core_->client_fd >= 0) {
    core_->loop.remove_fd(core_->client_fd);
    close(core_->client_fd);
    core_->client_fd = -1;
  }
  if (core_->listen_fd >= 0) {
    core_->loop.remove_fd(core_->listen_fd);
    close(core_->listen_fd);
    core_->listen_fd = -1;
  }
  core_->pending_output.clear();
}

void SocketChardev::resume_connection(const ConnectionState* state) {
  bool restore = false;
  {
    std::lock_guard lock(core_->mutex);
    if (!core_->dormant) return;
    core_->dormant = false;
    if (core_->client_fd >= 0 && (state == nullptr || state->client_inode != socket_inode(core_->client_fd))) {
      // The old program's client changed after it handed this one over (or
      // nothing came for it): this one is stale.
      close(core_->client_fd);
      core_->client_fd = -1;
      core_->pending_output.clear();
      state = nullptr;
    }
    if (core_->client_fd >= 0) {
      restore = true;
      // What the old program had not sent yet goes first, then what was
      // written here while dormant.
      core_->pending_output.insert(core_->pending_output.begin(), state->unsent_output.begin(),
                                   state->unsent_output.end());
      core_->carried_allowance = state->unsent_output.size();
      core_->flush_locked();
    }
    core_->register_fds_locked();
  }
  if (restore && core_->link.frontend() != nullptr) {
    core_->link.frontend()->restore_connection(state->frontend_state);
  }
}

}  // namespace godwit
