#include "block/io_worker_pool.hpp"

namespace godwit {

IoWorkerPool::IoWorkerPool(unsigned threads) {
  if (threads == 0) threads = 1;
  threads_.reserve(threads);
  for (unsigned i = 0; i < threads; ++i) {
    threads_.emplace_back([this](std::stop_token stop) { run(stop); });
  }
}

IoWorkerPool::~IoWorkerPool() {
  for (auto& thread : threads_) thread.request_stop();
  threads_.clear();  // joins
}

void IoWorkerPool::submit(Job job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  ready_.notify_one();
}

void IoWorkerPool::run(std::stop_token stop) {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      // Wakes on a job or a stop request; queued jobs still run after a
      // stop, so nothing submitted is dropped.
      ready_.wait(lock, stop, [this] { return !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace godwit
