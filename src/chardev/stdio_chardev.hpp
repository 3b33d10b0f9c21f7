// -chardev stdio: the terminal godwit runs in. stdin is put in raw mode when
// it is a terminal (restored when the backend goes away); signal=off also
// passes Ctrl-C to the guest. With mux (the -nographic console) Ctrl-A
// escapes are interpreted, see MuxEscape.
//
// Threads: write() from hart threads; input is read on the IoLoop thread.
#pragma once

#include <termios.h>

#include <functional>
#include <memory>
#include <string>

#include "base/error.hpp"
#include "chardev/char_backend.hpp"
#include "io/io_loop.hpp"
#include "chardev/chardev_config.hpp"

namespace godwit {

class StdioChardev final : public CharBackend {
 public:
  // `in_fd`/`out_fd` are 0 and 1 except in tests; they are not closed.
  static Result<std::unique_ptr<StdioChardev>> create(const ChardevConfig& config, IoLoop& loop,
                                                      std::function<void()> request_quit,
                                                      int in_fd = 0, int out_fd = 1);
  ~StdioChardev() override;  // stops reading, restores the terminal

  const std::string& id() const override { return id_; }
  std::string_view kind() const override { return "stdio"; }
  std::string filename() const override { return "stdio"; }

  // Waits at most about a second for a stalled terminal or pipe, then drops
  // the output (and stops waiting on later writes until the output moves
  // again): a guest must not hang because nobody reads its console. QEMU
  // blocks instead.
  void write(std::span<const uint8_t> bytes) override;
  void attach(CharFrontend* frontend) override;
  void frontend_ready() override;
  void hand_terminal_back() override;
  void take_terminal_again() override;

 private:
  struct Core;
  StdioChardev(std::string id, std::shared_ptr<Core> core);

  std::string id_;
  std::shared_ptr<Core> core_;  // shared with the loop's callbacks
};

}  // namespace godwit
