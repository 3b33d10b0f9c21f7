// One human monitor on one chardev (QEMU's readline mode): the banner and
// the "(qemu) " prompt scripts wait for, echo of what is typed, a line at a
// time to hmp_execute() on the main thread. Input that arrives while a line
// runs waits (can_receive() is 0).
//
// Threads: as QmpSession.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "chardev/char_backend.hpp"
#include "machine/virt_machine.hpp"

namespace godwit {

class HmpSession final : public CharFrontend, public std::enable_shared_from_this<HmpSession> {
 public:
  static constexpr size_t kMaxLineBytes = 4096;  // QEMU's READLINE_CMD_BUF_SIZE
  static constexpr std::string_view kPrompt = "(qemu) ";  // kept: expect scripts wait for it

  HmpSession(VirtMachine& machine, CharBackend& backend);

  size_t can_receive() override;
  void receive(std::span<const uint8_t> bytes) override;
  void opened() override;
  void closed() override;
  // CPR: the line being typed and input not yet looked at travel with the
  // connection; the new program prints no banner.
  void quiesce() override;
  void unquiesce() override;
  std::vector<uint8_t> save_connection() override;
  void restore_connection(std::span<const uint8_t> state) override;

  static std::string banner();

 private:
  void process_input();
  void finish(uint64_t generation, const std::string& output);
  void write(std::string_view text);

  VirtMachine& machine_;
  CharBackend& backend_;
  std::string input_;  // received, not yet looked at
  std::string line_;   // the line being typed
  enum class Escape { kNone, kStart, kCsi } escape_ = Escape::kNone;
  bool busy_ = false;
  bool quiesced_ = false;  // CPR handover: no further line runs
  uint64_t generation_ = 0;
};

}  // namespace godwit
