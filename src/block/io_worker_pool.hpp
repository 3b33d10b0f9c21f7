// The threads that run image I/O, off the harts and the main loop: a small
// pool taking jobs from one queue, as QEMU's thread pool does for its
// aio=threads (the default).
//
// Why a pool of blocking preadv/pwritev rather than io_uring: it needs no
// new package, it is the mode QEMU itself runs by default, and io_uring is
// often refused inside containers (the default seccomp profiles of Docker
// and podman block its system calls), where a fallback would be needed
// anyway. fdatasync and fallocate block in the kernel either way. Nothing
// here has been measured; a ring can replace the pool behind RawImage later.
//
// Threads: submit() from any thread; jobs run on the pool's threads. The
// destructor runs the jobs already queued, then joins.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace godwit {

class IoWorkerPool {
 public:
  using Job = std::move_only_function<void()>;

  explicit IoWorkerPool(unsigned threads = 4);
  ~IoWorkerPool();
  IoWorkerPool(const IoWorkerPool&) = delete;
  IoWorkerPool& operator=(const IoWorkerPool&) = delete;

  void submit(Job job);

 private:
  void run(std::stop_token stop);

  std::mutex mutex_;
  std::condition_variable_any ready_;
  std::deque<Job> jobs_;
  std::vector<std::jthread> threads_;  // last: they start once the rest exists
};

}  // namespace godwit
