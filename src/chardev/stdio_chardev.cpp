#include "chardev/stdio_chardev.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <mutex>
#include <optional>
#include <string_view>

#include "base/errno_text.hpp"
#include "chardev/frontend_link.hpp"
#include "chardev/mux_escape.hpp"

namespace godwit {
namespace {

constexpr int kStallTimeoutMs = 1000;

// Blocking-free output: waits up to `timeout_ms` for room, then writes what
// fits. Returns false when the fd stayed full or failed.
bool write_all(int fd, std::span<const uint8_t> bytes, int timeout_ms) {
  while (!bytes.empty()) {
    pollfd p{fd, POLLOUT, 0};
    const int ready = poll(&p, 1, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0 || (p.revents & (POLLERR | POLLHUP | POLLNVAL))) return false;
    // At most PIPE_BUF per write: POLLOUT on a pipe promises that much room,
    // so a blocking fd does not block here.
    const ssize_t n = ::write(fd, bytes.data(), std::min<size_t>(bytes.size(), PIPE_BUF));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return false;
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

struct StdioChardev::Core : std::enable_shared_from_this<Core> {
  Core(IoLoop& loop, int in_fd, int out_fd) : loop(loop), in_fd(in_fd), out_fd(out_fd) {}

  void on_input(short revents);
  void resume();
  void output(std::span<const uint8_t> bytes);

  IoLoop& loop;
  const int in_fd;
  const int out_fd;
  std::optional<termios> saved_termios;
  std::optional<termios> raw_termios;

  // Loop thread.
  FrontendLink link;
  std::optional<MuxEscape> mux;
  bool input_open = true;

  std::mutex output_mutex;  // hart threads and the mux's help output
  bool output_stalled = false;
};

void StdioChardev::Core::on_input(short revents) {
  if (!(revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))) return;
  FrontendLink::Filter filter;
  if (mux) filter = [this](std::span<const uint8_t> in) { return mux->filter(in); };
  switch (link.pump(in_fd, filter)) {
    case FrontendLink::ReadOutcome::kDelivered: break;
    case FrontendLink::ReadOutcome::kBlocked:
      loop.modify_fd(in_fd, 0);  // resume() re-arms it
      break;
    case FrontendLink::ReadOutcome::kClosed:
      // stdin reached its end (a pipe or file): the guest gets no more input.
      input_open = false;
      loop.remove_fd(in_fd);
      break;
  }
}

void StdioChardev::Core::resume() {
  if (input_open) loop.modify_fd(in_fd, POLLIN);
}

void StdioChardev::Core::output(std::span<const uint8_t> bytes) {
  std::lock_guard lock(output_mutex);
  output_stalled = !write_all(out_fd, bytes, output_stalled ? 0 : kStallTimeoutMs);
}

Result<std::unique_ptr<StdioChardev>> StdioChardev::create(const ChardevConfig& config,
                                                           IoLoop& loop,
                                                           std::function<void()> request_quit,
                                                           int in_fd, int out_fd) {
  auto core = std::make_shared<Core>(loop, in_fd, out_fd);
  if (isatty(in_fd)) {
    termios original{};
    if (tcgetattr(in_fd, &original) != 0) {
      return fail("chardev '" + config.id + "': stdio: tcgetattr: " + errno_text(errno));
    }
    // Raw input, as QEMU's stdio backend: every key reaches the guest as
    // typed, without echo or line editing. Output processing stays on.
    termios raw = original;
    raw.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    raw.c_oflag |= OPOST;
    raw.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN);
    if (!config.signal) raw.c_lflag &= ~ISIG;  // Ctrl-C, Ctrl-Z go to the guest
    raw.c_cflag &= ~(CSIZE | PARENB);
    raw.c_cflag |= CS8;
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (tcsetattr(in_fd, TCSANOW, &raw) != 0) {
      return fail("chardev '" + config.id + "': stdio: tcsetattr: " + errno_text(errno));
    }
    core->saved_termios = original;
    core->raw_termios = raw;
  }
  if (config.mux) {
    std::weak_ptr<Core> weak = core;
    core->mux.emplace(MuxEscape::Actions{
        .quit =
            [weak, request_quit = std::move(request_quit)] {
              if (auto c = weak.lock()) {
                constexpr std::string_view kMessage = "godwit: Terminated\r\n";
                c->output({reinterpret_cast<const uint8_t*>(kMessage.data()), kMessage.size()});
              }
              if (request_quit) request_quit();
            },
        .print_help =
            [weak](const std::string& text) {
              if (auto c = weak.lock()) {
                c->output({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
              }
            },
    });
  }
  // Paused until a front end is attached: input typed early waits in the
  // terminal rather than being lost.
  std::weak_ptr<Core> weak = core;
  loop.add_fd(in_fd, 0, [weak](short revents) {
    if (auto c = weak.lock()) c->on_input(revents);
  });
  return std::unique_ptr<StdioChardev>(new StdioChardev(config.id, std::move(core)));
}

StdioChardev::StdioChardev(std::string id, std::shared_ptr<Core> core)
    : id_(std::move(id)), core_(std::move(core)) {}

StdioChardev::~StdioChardev() {
  core_->loop.remove_fd(core_->in_fd);
  if (core_->saved_termios) tcsetattr(core_->in_fd, TCSANOW, &*core_->saved_termios);
}

void StdioChardev::write(std::span<const uint8_t> bytes) { core_->output(bytes); }

void StdioChardev::hand_terminal_back() {
  if (core_->saved_termios) tcsetattr(core_->in_fd, TCSANOW, &*core_->saved_termios);
}

void StdioChardev::take_terminal_again() {
  if (core_->raw_termios) tcsetattr(core_->in_fd, TCSANOW, &*core_->raw_termios);
}

void StdioChardev::attach(CharFrontend* frontend) {
  std::weak_ptr<Core> weak = core_;
  core_->loop.post([weak, frontend] {
    if (auto c = weak.lock()) {
      c->link.set_frontend(frontend);
      if (frontend != nullptr) {
        frontend->opened();  // a terminal is always open
        c->resume();
      }
    }
  });
}

void StdioChardev::frontend_ready() {
  std::weak_ptr<Core> weak = core_;
  core_->loop.post([weak] {
    if (auto c = weak.lock()) c->resume();
  });
}

}  // namespace godwit
