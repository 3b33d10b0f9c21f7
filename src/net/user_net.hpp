// -netdev user: QEMU's user-mode networking through libslirp (Debian's
// libslirp-dev). libslirp plays the guest's whole network in this process:
// a gateway and DHCP server at 10.0.2.2, DNS at 10.0.2.3, and outgoing
// connections made as ordinary host sockets; hostfwd rules listen on host
// ports and connect into the guest.
//
// libslirp runs on godwit's I/O thread as one of its PollSources: before
// each poll() it lists its sockets and timeout (slirp_pollfds_fill), after
// it handles what happened (slirp_pollfds_poll) and its expired timers.
// Frames the NIC gives send() go to slirp_input on that thread too.
//
// Under cpr-transfer the old program still listens on the hostfwd ports
// when the new one is built: the new one's rules are set up from the I/O
// thread, retried until the old one lets the ports go (hand_over(), at the
// switchover) or 10 s pass. Connections made through the old program's
// rules end with it: libslirp cannot hand its TCP state over.
//
// Threads: create() and destruction on the main thread (destruction waits
// for the loop thread to let go); everything else on the I/O thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/state_description.hpp"
#include "io/io_loop.hpp"
#include "net/net_backend.hpp"
#include "net/net_config.hpp"

struct Slirp;

namespace godwit {

class UserNet final : public NetBackend, private PollSource {
 public:
  // libslirp's own state (slirp_state_save): its DHCP leases, the IP id
  // counter and guestfwd sockets, as QEMU's "slirp" section carries it.
  // Connections through hostfwd and outgoing ones are not in it (libslirp
  // saves no other socket), so they end with a migration.
  static constexpr uint32_t kMaxStateBytes = 1 << 20;
  struct State {
    static constexpr VMStateInfo kVMState{"slirp", 1, 1};
    uint32_t slirp_version = 0;  // slirp_state_version() of the saving side
    std::vector<uint8_t> bytes;
    template <class V>
    void visit_state(V& v) {
      v.field("slirp_version", slirp_version);
      uint32_t length = static_cast<uint32_t>(bytes.size());
      v.field("length", length);
      v.validate(length <= kMaxStateBytes, "libslirp's state of " + std::to_string(length) + " bytes");
      if constexpr (V::loading()) bytes.resize(std::min(length, kMaxStateBytes));
      v.buffer("state", bytes);
    }
  };

  // Starts libslirp and its host forwarding; errors in QEMU's words:
  //   Could not set up host forwarding rule 'tcp::5555-:22'
  // `after_cpr`: the forwards are set up in the background, as above.
  static Result<std::unique_ptr<UserNet>> create(const NetdevConfig& config, IoLoop& loop, bool after_cpr = false);
  ~UserNet() override;

  const std::string& id() const override { return config_.id; }
  void attach(NetReceiver* nic) override { nic_ = nic; }
  void send(std::span<const uint8_t> frame, const VnetHeader& header) override;
  std::string info() const override;
  // The new program has the guest: the hostfwd ports go to it.
  void hand_over() override;
  bool handed_over() const override { return handed_over_; }
  // On the I/O thread (waits for it).
  State snapshot() const;
  Status restore(const State& state);

  // Forwards still waiting for their ports (after a cpr-transfer).
  size_t forwards_pending() const { return pending_forwards_; }

  uint64_t frames_dropped() const { return dropped_; }

 private:
  struct Timer;
  UserNet(const NetdevConfig& config, IoLoop& loop);

  void prepare(std::vector<pollfd>& fds, int& timeout_ms) override;
  void dispatch(std::span<const pollfd> fds) override;
  // Tries the forwards not set up yet; I/O thread.
  void retry_forwards();

  // libslirp's callbacks (SlirpCb), defined with libslirp's types.
  struct Callbacks;
  friend struct Callbacks;

  NetdevConfig config_;
  IoLoop& loop_;
  Slirp* slirp_ = nullptr;
  NetReceiver* nic_ = nullptr;
  std::vector<std::unique_ptr<Timer>> timers_;
  std::vector<pollfd>* filling_ = nullptr;  // during prepare()
  size_t fill_begin_ = 0;
  std::span<const pollfd> polled_;          // during dispatch()
  uint64_t dropped_ = 0;
  std::vector<HostForward> waiting_;     // forwards whose port is still taken
  std::atomic<size_t> pending_forwards_ = 0;
  int64_t next_try_ms_ = 0;
  int64_t give_up_ms_ = 0;
  std::atomic<bool> handed_over_ = false;
};

}  // namespace godwit
