#include "net/user_net.hpp"

#include <arpa/inet.h>
#include <libslirp.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "base/monotonic_clock.hpp"

namespace godwit {

// libslirp asks for timers by id and gets them back in timer_mod/free; the
// loop fires them from dispatch().
struct UserNet::Timer {
  SlirpTimerId id;
  void* cb_opaque;
  int64_t expire_ms = -1;  // on clock_ns()'s scale; -1: not armed
};

namespace {

in_addr ipv4(uint32_t host_order) {
  in_addr address{};
  address.s_addr = htonl(host_order);
  return address;
}

std::string dotted(uint32_t host_order) {
  char text[INET_ADDRSTRLEN] = {};
  const in_addr address = ipv4(host_order);
  inet_ntop(AF_INET, &address, text, sizeof text);
  return text;
}

short to_poll(int slirp_events) {
  short events = 0;
  if (slirp_events & SLIRP_POLL_IN) events |= POLLIN;
  if (slirp_events & SLIRP_POLL_OUT) events |= POLLOUT;
  if (slirp_events & SLIRP_POLL_PRI) events |= POLLPRI;
  if (slirp_events & SLIRP_POLL_ERR) events |= POLLERR;
  if (slirp_events & SLIRP_POLL_HUP) events |= POLLHUP;
  return events;
}

int from_poll(short revents) {
  int events = 0;
  if (revents & POLLIN) events |= SLIRP_POLL_IN;
  if (revents & POLLOUT) events |= SLIRP_POLL_OUT;
  if (revents & POLLPRI) events |= SLIRP_POLL_PRI;
  if (revents & (POLLERR | POLLNVAL)) events |= SLIRP_POLL_ERR;
  if (revents & POLLHUP) events |= SLIRP_POLL_HUP;
  return events;
}

int64_t now_ms() { return monotonic_ns() / 1'000'000; }

}  // namespace

struct UserNet::Callbacks {
  static UserNet& self(void* opaque) { return *static_cast<UserNet*>(opaque); }

  static ssize_t send_packet(const void* buf, size_t len, void* opaque) {
    UserNet& net = self(opaque);
    const std::span<const uint8_t> frame(static_cast<const uint8_t*>(buf), len);
    if (net.nic_ == nullptr || !net.nic_->receive(frame, VnetHeader{})) ++net.dropped_;
    return static_cast<ssize_t>(len);
  }
  static void guest_error(const char* message, void* opaque) {
    std::fprintf(stderr, "godwit: netdev %s: guest error: %s\n", self(opaque).config_.id.c_str(), message);
  }
  static int64_t clock_ns(void*) { return monotonic_ns(); }
  static void* timer_new(SlirpTimerCb, void*, void*) { return nullptr; }  // replaced by timer_new_opaque
  static void* timer_new_opaque(SlirpTimerId id, void* cb_opaque, void* opaque) {
    auto timer = std::make_unique<Timer>(Timer{id, cb_opaque});
    Timer* raw = timer.get();
    self(opaque).timers_.push_back(std::move(timer));
    return raw;
  }
  static void timer_free(void* timer, void* opaque) {
    std::erase_if(self(opaque).timers_, [timer](const auto& t) { return t.get() == timer; });
  }
  static void timer_mod(void* timer, int64_t expire_ms, void*) { static_cast<Timer*>(timer)->expire_ms = expire_ms; }
  static void register_poll_fd(int, void*) {}
  static void unregister_poll_fd(int, void*) {}
  // A socket can take more from the guest: the next iteration's fill sees
  // it; only wake the loop.
  static void notify(void* opaque) { self(opaque).loop_.post([] {}); }

  static int add_poll(int fd, int events, void* opaque) {
    UserNet& net = self(opaque);
    net.filling_->push_back({fd, to_poll(events), 0});
    return static_cast<int>(net.filling_->size() - 1 - net.fill_begin_);
  }
  static int get_revents(int index, void* opaque) {
    const UserNet& net = self(opaque);
    if (index < 0 || static_cast<size_t>(index) >= net.polled_.size()) return 0;
    return from_poll(net.polled_[static_cast<size_t>(index)].revents);
  }

  static const SlirpCb& table() {
    static const SlirpCb kTable = {
      .send_packet = send_packet,
      .guest_error = guest_error,
      .clock_get_ns = clock_ns,
      .timer_new = timer_new,
      .timer_free = timer_free,
      .timer_mod = timer_mod,
      .register_poll_fd = register_poll_fd,
      .unregister_poll_fd = unregister_poll_fd,
      .notify = notify,
      .init_completed = nullptr,
      .timer_new_opaque = timer_new_opaque,
    };
    return kTable;
  }
};


UserNet::UserNet(const NetdevConfig& config, IoLoop& loop) : config_(config), loop_(loop) {}

Result<std::unique_ptr<UserNet>> UserNet::create(const NetdevConfig& config, IoLoop& loop, bool after_cpr) {
  std::unique_ptr<UserNet> net(new UserNet(config, loop));
  const UserNetConfig& user = net->config_.user;
  SlirpConfig slirp_config{};
  slirp_config.version = 4;
  slirp_config.restricted = user.restricted ? 1 : 0;
  slirp_config.in_enabled = true;
  slirp_config.vnetwork = ipv4(user.network);
  slirp_config.vnetmask = ipv4(user.netmask);
  slirp_config.vhost = ipv4(user.host);
  slirp_config.in6_enabled = false;
  slirp_config.vhostname = user.hostname.empty() ? nullptr : user.hostname.c_str();
  slirp_config.vdhcp_start = ipv4(user.dhcp_start);
  slirp_config.vnameserver = ipv4(user.dns);
  net->slirp_ = slirp_new(&slirp_config, &Callbacks::table(), net.get());
  if (net->slirp_ == nullptr) return fail(config.origin + ": libslirp could not start user networking");
  if (after_cpr) {
    net->waiting_ = user.forwards;
    net->pending_forwards_ = user.forwards.size();
    net->give_up_ms_ = now_ms() + 10'000;
  } else {
    for (const HostForward& forward : user.forwards) {
      const uint32_t guest = forward.guest_address != 0 ? forward.guest_address : user.dhcp_start;
      if (slirp_add_hostfwd(net->slirp_, forward.udp ? 1 : 0, ipv4(forward.host_address), forward.host_port,
                            ipv4(guest), forward.guest_port) < 0) {
        return fail(config.origin + ": Could not set up host forwarding rule '" + forward.text + "'");
      }
    }
  }
  loop.add_source(net.get());
  return net;
}

UserNet::~UserNet() {
  // Off the loop first, then libslirp goes (closing its sockets) where no
  // poll of them can be running.
  loop_.run_and_wait([this] {
    loop_.remove_source(this);
    if (slirp_ != nullptr) slirp_cleanup(slirp_);
    slirp_ = nullptr;
  });
}

void UserNet::retry_forwards() {
  const int64_t now = now_ms();
  if (waiting_.empty() || now < next_try_ms_) return;
  const uint32_t dhcp_start = config_.user.dhcp_start;
  std::erase_if(waiting_, [&](const HostForward& forward) {
    const uint32_t guest = forward.guest_address != 0 ? forward.guest_address : dhcp_start;
    return slirp_add_hostfwd(slirp_, forward.udp ? 1 : 0, ipv4(forward.host_address), forward.host_port, ipv4(guest),
                             forward.guest_port) == 0;
  });
  pending_forwards_ = waiting_.size();
  next_try_ms_ = now + 10;
  if (!waiting_.empty() && now >= give_up_ms_) {
    for (const HostForward& forward : waiting_) {
      std::fprintf(stderr, "godwit: %s: Could not set up host forwarding rule '%s' (its port stayed taken)\n",
                   config_.origin.c_str(), forward.text.c_str());
    }
    waiting_.clear();
    pending_forwards_ = 0;
  }
}

void UserNet::hand_over() {
  handed_over_ = true;
  // The listening sockets close here, so the new program can take the ports.
  loop_.run_and_wait([this] {
    if (slirp_ == nullptr) return;
    for (const HostForward& forward : config_.user.forwards) {
      (void)slirp_remove_hostfwd(slirp_, forward.udp ? 1 : 0, ipv4(forward.host_address), forward.host_port);
    }
  });
}

UserNet::State UserNet::snapshot() const {
  State state;
  state.slirp_version = static_cast<uint32_t>(slirp_state_version());
  loop_.run_and_wait([&] {
    if (slirp_ == nullptr) return;
    slirp_state_save(
        slirp_,
        [](const void* buf, size_t len, void* opaque) -> ssize_t {
          auto& bytes = *static_cast<std::vector<uint8_t>*>(opaque);
          const auto* data = static_cast<const uint8_t*>(buf);
          bytes.insert(bytes.end(), data, data + len);
          return static_cast<ssize_t>(len);
        },
        &state.bytes);
  });
  return state;
}

Status UserNet::restore(const State& state) {
  if (state.slirp_version > static_cast<uint32_t>(slirp_state_version())) {
    return fail("slirp: the state is libslirp's version " + std::to_string(state.slirp_version) +
                ", this libslirp reads up to " + std::to_string(slirp_state_version()));
  }
  struct Cursor {
    const std::vector<uint8_t>* bytes;
    size_t at = 0;
  } cursor{&state.bytes};
  int result = 0;
  loop_.run_and_wait([&] {
    if (slirp_ == nullptr) return;
    result = slirp_state_load(
        slirp_, static_cast<int>(state.slirp_version),
        [](void* buf, size_t len, void* opaque) -> ssize_t {
          auto& c = *static_cast<Cursor*>(opaque);
          const size_t n = std::min(len, c.bytes->size() - c.at);
          std::copy_n(c.bytes->data() + c.at, n, static_cast<uint8_t*>(buf));
          c.at += n;
          return static_cast<ssize_t>(n);
        },
        &cursor);
  });
  if (result < 0) return fail("slirp: libslirp refused the state (" + std::string(std::strerror(-result)) + ")");
  return {};
}

void UserNet::send(std::span<const uint8_t> frame, const VnetHeader&) {
  // Never with offloads: the NIC offers them only to backends with a vnet header.
  if (slirp_ != nullptr) slirp_input(slirp_, frame.data(), static_cast<int>(frame.size()));
}

std::string UserNet::info() const {
  return config_.id + ": index=0,type=user,net=" + dotted(config_.user.network) +
         ",restrict=" + (config_.user.restricted ? "on" : "off");
}

void UserNet::prepare(std::vector<pollfd>& fds, int& timeout_ms) {
  uint32_t timeout = timeout_ms < 0 ? UINT32_MAX : static_cast<uint32_t>(timeout_ms);
  if (!waiting_.empty()) timeout = std::min<uint32_t>(timeout, 10);
  const int64_t now = now_ms();
  for (const auto& timer : timers_) {
    if (timer->expire_ms < 0) continue;
    timeout = std::min<uint32_t>(timeout, static_cast<uint32_t>(std::max<int64_t>(0, timer->expire_ms - now)));
  }
  filling_ = &fds;
  fill_begin_ = fds.size();
  slirp_pollfds_fill(slirp_, &timeout, Callbacks::add_poll, this);
  filling_ = nullptr;
  timeout_ms = timeout == UINT32_MAX ? -1 : static_cast<int>(std::min<uint32_t>(timeout, INT32_MAX));
}

void UserNet::dispatch(std::span<const pollfd> fds) {
  polled_ = fds;
  slirp_pollfds_poll(slirp_, 0, Callbacks::get_revents, this);
  polled_ = {};
  const int64_t now = now_ms();
  // A handler may arm or free timers: collect the due ones first.
  std::vector<std::pair<SlirpTimerId, void*>> due;
  for (const auto& timer : timers_) {
    if (timer->expire_ms >= 0 && timer->expire_ms <= now) {
      timer->expire_ms = -1;
      due.emplace_back(timer->id, timer->cb_opaque);
    }
  }
  for (const auto& [id, cb_opaque] : due) slirp_handle_timer(slirp_, id, cb_opaque);
  retry_forwards();
}

}  // namespace godwit
