// One QMP monitor on one chardev (QEMU's monitor in control mode): greets
// each client, negotiates capabilities, answers commands in order and
// passes on the machine's events once negotiated.
//
// A command that runs on the main thread holds the client's later input
// (can_receive() is 0) until its reply is sent, so replies keep request
// order without the loop waiting on the main thread. A client that leaves
// mid-command loses that reply; the next one starts afresh.
//
// Threads: the I/O loop, except construction and destruction (main thread,
// while the chardev holds no pointer to it: see Monitors).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "chardev/char_backend.hpp"
#include "machine/virt_machine.hpp"
#include "monitor/json_stream.hpp"
#include "monitor/qmp_error.hpp"

namespace godwit {

class QmpSession final : public CharFrontend, public std::enable_shared_from_this<QmpSession> {
 public:
  QmpSession(VirtMachine& machine, CharBackend& backend, bool pretty);
  ~QmpSession() override;  // closes descriptors no command took

  size_t can_receive() override;
  void receive(std::span<const uint8_t> bytes) override;
  void opened() override;
  void closed() override;
  void receive_fds(std::vector<int> fds) override;
  // CPR: negotiation, the input not handled yet and whether the old
  // program's client had migration events on travel with the connection;
  // the new program then sends MIGRATION completed (if so), RESUME follows.
  void quiesce() override;
  void unquiesce() override;
  std::vector<uint8_t> save_connection() override;
  void restore_connection(std::span<const uint8_t> state) override;

  // Sends an event (one serialized message) if the client has negotiated.
  void send_event(const Json& event);

 private:
  // Handles one message; false when its reply will come from the main thread.
  bool handle(const JsonStreamSplitter::Message& message);
  void process_pending();
  void finish(uint64_t generation, const Json& reply);
  void send(const Json& message);
  void close_received_fds();

  VirtMachine& machine_;
  CharBackend& backend_;
  const bool pretty_;

  JsonStreamSplitter splitter_;
  std::deque<JsonStreamSplitter::Message> pending_;
  std::deque<int> received_fds_;
  bool negotiated_ = false;
  bool busy_ = false;        // a command is out on the main thread
  bool quiesced_ = false;    // CPR handover: no further command starts
  uint64_t generation_ = 0;  // counts clients: a reply for a gone one is dropped
};

// {"event": ..., "data": ..., "timestamp": ...} with the host's wall clock.
Json make_event(const MachineEvent& event);

}  // namespace godwit
