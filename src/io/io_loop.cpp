#include "io/io_loop.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <condition_variable>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "base/errno_text.hpp"

namespace godwit {

namespace {

int make_wake_fd() {
  const int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) {
    std::fprintf(stderr, "godwit: I/O loop: eventfd: %s\n", errno_text(errno).c_str());
    std::abort();
  }
  return fd;
}

}  // namespace

IoLoop::IoLoop() : wake_fd_(make_wake_fd()) {}

IoLoop::~IoLoop() {
  stop();
  close(wake_fd_);
}

void IoLoop::add_fd(int fd, short events, FdCallback callback) {
  {
    std::lock_guard lock(mutex_);
    Watch& watch = watches_[fd];
    watch.events = events;
    watch.callback = std::make_shared<FdCallback>(std::move(callback));
    watch.generation = next_generation_++;
  }
  wake();
}

void IoLoop::modify_fd(int fd, short events) {
  {
    std::lock_guard lock(mutex_);
    auto it = watches_.find(fd);
    if (it == watches_.end() || it->second.events == events) return;
    it->second.events = events;
  }
  wake();
}

void IoLoop::remove_fd(int fd) {
  {
    std::lock_guard lock(mutex_);
    if (watches_.erase(fd) == 0) return;
  }
  wake();
}

void IoLoop::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    tasks_.push_back(std::move(task));
  }
  wake();
}

void IoLoop::run_and_wait(std::function<void()> task) {
  if (on_loop_thread()) {
    task();
    return;
  }
  std::mutex done_mutex;
  std::condition_variable done_changed;
  bool done = false;
  {
    std::lock_guard lock(mutex_);
    if (started_ && !stopping_) {
      tasks_.push_back([&] {
        task();
        std::lock_guard done_lock(done_mutex);
        done = true;
        done_changed.notify_all();
      });
    } else {
      done = true;
    }
  }
  if (done) {
    task();
    return;
  }
  wake();
  std::unique_lock lock(done_mutex);
  done_changed.wait(lock, [&] { return done; });
}

void IoLoop::start() {
  std::lock_guard lock(mutex_);
  if (started_ || stopping_) return;
  started_ = true;
  thread_ = std::jthread([this] { run(); });
}

void IoLoop::stop() {
  assert(!on_loop_thread() && "IoLoop::stop() would join its own thread");
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake();
  if (thread_.joinable()) thread_.join();
}

void IoLoop::wake() {
  const uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: the loop wakes anyway.
  while (::write(wake_fd_, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

void IoLoop::drain_wake() {
  uint64_t count;
  while (::read(wake_fd_, &count, sizeof count) < 0 && errno == EINTR) {
  }
}

void IoLoop::run() {
  std::vector<pollfd> fds;
  std::vector<uint64_t> generations;
  std::vector<PollSource*> sources;
  std::vector<std::pair<size_t, size_t>> source_slices;  // per source: first fd, count
  for (;;) {
    fds.clear();
    generations.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    generations.push_back(0);
    {
      std::lock_guard lock(mutex_);
      if (stopping_ && tasks_.empty()) return;
      for (const auto& [fd, watch] : watches_) {
        if (watch.events == 0) continue;
        fds.push_back({fd, watch.events, 0});
        generations.push_back(watch.generation);
      }
      sources = sources_;
    }
    // The sources' descriptors go last, each source's in one slice.
    int timeout_ms = -1;
    const size_t watched_end = fds.size();
    source_slices.clear();
    for (PollSource* source : sources) {
      const size_t begin = fds.size();
      source->prepare(fds, timeout_ms);
      source_slices.push_back({begin, fds.size() - begin});
    }

    const int ready = poll(fds.data(), fds.size(), timeout_ms);
    if (ready < 0) {
      // EINTR: a signal arrived; anything else (ENOMEM) is transient too.
      for (pollfd& fd : fds) fd.revents = 0;
    }
    if (fds[0].revents != 0) drain_wake();

    // Tasks first: one may remove an fd whose events are reported below.
    std::vector<std::function<void()>> tasks;
    {
      std::lock_guard lock(mutex_);
      tasks.swap(tasks_);
    }
    for (auto& task : tasks) task();

    for (size_t i = 1; i < watched_end; ++i) {
      if (fds[i].revents == 0) continue;
      std::shared_ptr<FdCallback> callback;
      {
        std::lock_guard lock(mutex_);
        auto it = watches_.find(fds[i].fd);
        // Removed, re-added or paused since poll() began: the event is stale.
        if (it == watches_.end() || it->second.generation != generations[i] ||
            it->second.events == 0) {
          continue;
        }
        callback = it->second.callback;
      }
      (*callback)(fds[i].revents);
      if (fds[i].revents & POLLNVAL) {
        // The fd was closed without being removed: poll() would report it
        // forever. Drop the registration unless the callback replaced it.
        std::lock_guard lock(mutex_);
        auto it = watches_.find(fds[i].fd);
        if (it != watches_.end() && it->second.generation == generations[i]) watches_.erase(it);
      }
    }
    for (size_t i = 0; i < sources.size(); ++i) {
      {
        // Removed since poll() began (by a task or a callback above).
        std::lock_guard lock(mutex_);
        if (std::find(sources_.begin(), sources_.end(), sources[i]) == sources_.end()) continue;
      }
      sources[i]->dispatch(std::span<const pollfd>(fds).subspan(source_slices[i].first, source_slices[i].second));
    }
  }
}

void IoLoop::add_source(PollSource* source) {
  {
    std::lock_guard lock(mutex_);
    if (std::find(sources_.begin(), sources_.end(), source) != sources_.end()) return;
    sources_.push_back(source);
  }
  wake();
}

void IoLoop::remove_source(PollSource* source) {
  {
    std::lock_guard lock(mutex_);
    std::erase(sources_, source);
  }
  wake();
}

}  // namespace godwit
