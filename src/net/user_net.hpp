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
// Threads: create() and destruction on the main thread (destruction waits
// for the loop thread to let go); everything else on the I/O thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "io/io_loop.hpp"
#include "net/net_backend.hpp"
#include "net/net_config.hpp"

struct Slirp;

namespace godwit {

class UserNet final : public NetBackend, private PollSource {
 public:
  // Starts libslirp and its host forwarding; errors in QEMU's words:
  //   Could not set up host forwarding rule 'tcp::5555-:22'
  static Result<std::unique_ptr<UserNet>> create(const NetdevConfig& config, IoLoop& loop);
  ~UserNet() override;

  const std::string& id() const override { return config_.id; }
  void attach(NetReceiver* nic) override { nic_ = nic; }
  void send(std::span<const uint8_t> frame, const VnetHeader& header) override;
  std::string info() const override;

  uint64_t frames_dropped() const { return dropped_; }

 private:
  struct Timer;
  UserNet(const NetdevConfig& config, IoLoop& loop);

  void prepare(std::vector<pollfd>& fds, int& timeout_ms) override;
  void dispatch(std::span<const pollfd> fds) override;

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
};

}  // namespace godwit
