// The I/O event loop: one thread waiting in poll() on registered file
// descriptors and running their callbacks. Character devices, and later the
// monitors and migration channels, live on it.
//
// Threads: the loop owns one thread (started by start()). Callbacks and
// posted tasks run on it, one at a time. add_fd, modify_fd, remove_fd and
// post may be called from any thread, including from inside a callback.
#pragma once

#include <poll.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <unordered_map>
#include <vector>

namespace godwit {

// Something that polls a changing set of descriptors with a timeout of its
// own, as libslirp does (slirp_pollfds_fill, then slirp_pollfds_poll): the
// loop asks it for its descriptors before every poll() and hands it what
// poll() reported after.
class PollSource {
 public:
  virtual ~PollSource() = default;
  // Appends descriptors to `fds` and may lower `timeout_ms` (-1: none).
  virtual void prepare(std::vector<pollfd>& fds, int& timeout_ms) = 0;
  // `fds`: what prepare() appended, with their revents (all 0 after a
  // timeout). Runs on every loop iteration, whatever woke it.
  virtual void dispatch(std::span<const pollfd> fds) = 0;
};

class IoLoop {
 public:
  // Receives the revents poll() reported (POLLIN, POLLOUT, POLLHUP, POLLERR,
  // POLLNVAL). A callback that sees POLLHUP/POLLERR/POLLNVAL should remove or
  // re-arm its fd: the loop keeps reporting the condition otherwise.
  using FdCallback = std::function<void(short revents)>;

  // Creates the wake-up eventfd. Failing that (no file descriptors left at
  // start-up) it aborts with a message: nothing can run without the loop.
  IoLoop();
  ~IoLoop();  // stop()s

  IoLoop(const IoLoop&) = delete;
  IoLoop& operator=(const IoLoop&) = delete;

  // Watches `fd` for `events` (POLLIN, POLLOUT). One registration per fd;
  // registering an fd again replaces its events and callback. The loop does
  // not own the fd: remove it before closing it.
  void add_fd(int fd, short events, FdCallback callback);
  // Changes the events watched on a registered fd; 0 pauses it. Ignored for
  // an fd that is not registered.
  void modify_fd(int fd, short events);
  // Stops watching `fd`. Once this returns on the loop thread, or once the
  // next loop iteration begins when called elsewhere, its callback is not run
  // again. Called from another thread while the callback runs, it does not
  // wait for it to finish.
  void remove_fd(int fd);
  // Runs `task` on the loop thread, in posting order. Tasks posted after
  // stop() are dropped.
  void post(std::function<void()> task);
  // Adds or removes a PollSource, which must outlive its registration.
  // From any thread; from then on (the next iteration when called off the
  // loop thread) its prepare() and dispatch() run on the loop thread.
  void add_source(PollSource* source);
  void remove_source(PollSource* source);
  // Runs `task` on the loop thread and waits for it: a barrier after which
  // every task posted before has run. Runs it on the calling thread when the
  // loop is not running (not started, stopped) or when called on it.
  void run_and_wait(std::function<void()> task);

  // Starts the loop thread. Calling it twice is a no-op.
  void start();
  // Stops the loop thread and joins it. Pending posted tasks are run first
  // when already queued. Safe to call twice and from the destructor; must not
  // be called from the loop thread itself.
  void stop();

  bool on_loop_thread() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  struct Watch {
    short events = 0;
    std::shared_ptr<FdCallback> callback;  // shared: survives removal while running
    uint64_t generation = 0;               // tells a re-added fd from the removed one
  };

  void run();
  void wake();
  void drain_wake();

  const int wake_fd_;  // eventfd: post() and registration changes interrupt poll()
  std::jthread thread_;

  std::mutex mutex_;  // guards everything below
  std::unordered_map<int, Watch> watches_;
  std::vector<std::function<void()>> tasks_;
  std::vector<PollSource*> sources_;
  uint64_t next_generation_ = 1;
  bool stopping_ = false;
  bool started_ = false;
};

}  // namespace godwit
