#include "virtio/virtio_rng.hpp"

#include <algorithm>
#include <vector>

namespace godwit {

void VirtioRng::queue_notify(unsigned index) {
  if (index != 0) return;
  Virtqueue& queue = transport_->queue(0);
  bool pushed = false;
  std::vector<uint8_t> bytes;
  while (auto chain = queue.pop()) {
    // At most a page per request, as a bound on host work per kick.
    bytes.resize(std::min<uint64_t>(chain->writable_bytes(), 4096));
    const size_t got = source_->fill(bytes);
    const size_t written = chain->write(0, std::span<const uint8_t>(bytes).first(got));
    queue.push(*chain, static_cast<uint32_t>(written));
    pushed = true;
  }
  if (pushed) queue.notify();
}

}  // namespace godwit
