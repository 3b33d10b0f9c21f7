#include "virtio/virtio_net.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "base/byte_order.hpp"

namespace godwit {
namespace {

constexpr unsigned kRxQueue = 0;
constexpr unsigned kTxQueue = 1;
constexpr unsigned kCtrlQueue = 2;

// struct virtio_net_hdr: flags, gso_type, hdr_len, gso_size, csum_start,
// csum_offset (10 bytes), then num_buffers with MRG_RXBUF or VERSION_1.
constexpr size_t kHeaderBytes = 10;
constexpr size_t kHeaderWithBuffersBytes = 12;
constexpr size_t kNumBuffersOffset = 10;

// Control classes and commands (section 5.1.6.5).
constexpr uint8_t kCtrlRx = 0;
constexpr uint8_t kCtrlRxPromisc = 0;
constexpr uint8_t kCtrlRxAllmulti = 1;
constexpr uint8_t kCtrlRxAlluni = 2;
constexpr uint8_t kCtrlRxNomulti = 3;
constexpr uint8_t kCtrlRxNouni = 4;
constexpr uint8_t kCtrlRxNobcast = 5;
constexpr uint8_t kCtrlMac = 1;
constexpr uint8_t kCtrlMacTableSet = 0;
constexpr uint8_t kCtrlMacAddrSet = 1;
constexpr uint8_t kCtrlAnnounce = 3;
constexpr uint8_t kCtrlAnnounceAck = 0;
constexpr uint8_t kCtrlOk = 0;
constexpr uint8_t kCtrlErr = 1;

// The largest frame taken from the guest: 64 KiB, as QEMU's NET_BUFSIZE
// bounds what it hands a backend.
constexpr uint64_t kMaxFrameBytes = 65536;

void put_be16(uint8_t* p, uint16_t value) {
  p[0] = static_cast<uint8_t>(value >> 8);
  p[1] = static_cast<uint8_t>(value);
}

bool is_multicast(std::span<const uint8_t> frame) { return (frame[0] & 1) != 0; }
bool is_broadcast(std::span<const uint8_t> frame) {
  return std::all_of(frame.begin(), frame.begin() + 6, [](uint8_t b) { return b == 0xff; });
}

}  // namespace

VirtioNet::VirtioNet(NetBackend& backend, IoLoop& loop, std::array<uint8_t, 6> mac)
    : backend_(backend), loop_(loop), default_mac_(mac) {
  state_.mac = mac;
  backend_.attach(this);
}

VirtioNet::~VirtioNet() {
  // The backend delivers on the I/O thread: detach there, so no frame is
  // on its way to a device that is gone.
  loop_.run_and_wait([this] { backend_.attach(nullptr); });
}

size_t VirtioNet::header_bytes() const {
  const uint64_t features = features_.load();
  return (features & (kFeatureMrgRxbuf | kVirtioFeatureVersion1)) != 0 ? kHeaderWithBuffersBytes : kHeaderBytes;
}

void VirtioNet::read_config(uint32_t offset, std::span<uint8_t> out) const {
  std::array<uint8_t, 8> config{};
  {
    std::lock_guard lock(mutex_);
    std::copy(state_.mac.begin(), state_.mac.end(), config.begin());
    store_le<uint16_t>(config.data() + 6, state_.status);
  }
  for (size_t i = 0; i < out.size(); ++i) out[i] = offset + i < config.size() ? config[offset + i] : 0;
}

void VirtioNet::write_config(uint32_t offset, std::span<const uint8_t> in) {
  // A legacy driver without CTRL_MAC_ADDR sets the MAC through the config
  // space (QEMU allows it before VERSION_1); the rest is read-only.
  if ((features_.load() & kVirtioFeatureVersion1) != 0) return;
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < in.size(); ++i) {
    if (offset + i < 6) state_.mac[offset + i] = in[i];
  }
}

void VirtioNet::features_accepted(uint64_t features) { features_.store(features); }

void VirtioNet::driver_ok() {
  // Buffers may have come while the driver was still setting up.
  queue_notify(kTxQueue);
}

void VirtioNet::queue_notify(unsigned index) {
  // Receive buffers need no kick: the backend's next frame finds them.
  if (index == kTxQueue) loop_.post([this] { drain_tx(); });
  if (index == kCtrlQueue) loop_.post([this] { drain_ctrl(); });
}

void VirtioNet::reset() {
  std::lock_guard work(work_mutex_);
  features_.store(0);
  std::lock_guard lock(mutex_);
  const std::array<uint8_t, 6> mac = default_mac_;
  state_ = State{};
  state_.mac = mac;
}

void VirtioNet::quiesce() {
  std::lock_guard work(work_mutex_);
  quiesced_.store(true);
}

void VirtioNet::unquiesce() {
  {
    std::lock_guard work(work_mutex_);
    quiesced_.store(false);
  }
  // Frames the guest queued while it stopped, and any kick that came then.
  if (tx_pending_.exchange(false)) queue_notify(kTxQueue);
  queue_notify(kTxQueue);
}

bool VirtioNet::accepts(std::span<const uint8_t> frame) const {
  if (frame.size() < 14) return false;  // not even an Ethernet header
  if (state_.promisc) return true;
  if (is_broadcast(frame)) return !state_.nobcast;
  const auto in_table = [&](uint32_t first, uint32_t end) {
    for (uint32_t i = first; i < end; ++i) {
      if (std::equal(state_.mac_table[i].begin(), state_.mac_table[i].end(), frame.begin())) return true;
    }
    return false;
  };
  if (is_multicast(frame)) {
    if (state_.nomulti) return false;
    return state_.allmulti || in_table(state_.mac_table_first_multi, state_.mac_table_entries);
  }
  if (state_.nouni) return false;
  if (state_.alluni) return true;
  if (std::equal(state_.mac.begin(), state_.mac.end(), frame.begin())) return true;
  return in_table(0, state_.mac_table_first_multi);
}

bool VirtioNet::receive(std::span<const uint8_t> frame) {
  std::lock_guard work(work_mutex_);
  if (quiesced_.load() || transport_ == nullptr || (transport_->status() & kVirtioStatusDriverOk) == 0) return false;
  {
    std::lock_guard lock(mutex_);
    if (!accepts(frame)) return true;  // filtered out: taken, and gone
  }
  Virtqueue& rx = transport_->queue(kRxQueue);
  const bool mergeable = (features_.load() & kFeatureMrgRxbuf) != 0;
  const size_t header = header_bytes();
  const uint64_t total = header + frame.size();

  // Enough buffers for the whole frame first, so nothing is written to a
  // frame that cannot be delivered.
  std::vector<DescriptorChain> chains;
  uint64_t room = 0;
  while (room < total) {
    auto chain = rx.pop();
    if (!chain) {
      for (size_t i = 0; i < chains.size(); ++i) rx.unpop();
      return false;
    }
    room += chain->writable_bytes();
    chains.push_back(std::move(*chain));
    if (!mergeable && room < total) {
      // Section 5.1.6.3.1: without MRG_RXBUF each buffer holds a whole frame.
      rx.push(chains.back(), 0);
      rx.notify();
      transport_->mark_broken("virtio-net: a receive buffer without MRG_RXBUF is smaller than a frame");
      return true;
    }
  }
  std::vector<uint8_t> packet(total, 0);
  if (header == kHeaderWithBuffersBytes) {
    store_le<uint16_t>(packet.data() + kNumBuffersOffset, static_cast<uint16_t>(chains.size()));
  }
  std::copy(frame.begin(), frame.end(), packet.begin() + static_cast<std::ptrdiff_t>(header));
  uint64_t offset = 0;
  for (const DescriptorChain& chain : chains) {
    const size_t written = chain.write(0, std::span<const uint8_t>(packet).subspan(offset));
    offset += written;
    rx.push(chain, static_cast<uint32_t>(written));
  }
  rx.notify();
  ++received_;
  return true;
}

void VirtioNet::drain_tx() {
  // The frames are copied out under the lock and sent after it: a backend
  // may answer at once, from inside send() (libslirp replies to an ARP
  // request there), and that answer comes back through receive().
  std::vector<std::vector<uint8_t>> frames;
  {
    std::lock_guard work(work_mutex_);
    if (transport_ == nullptr) return;
    if (quiesced_.load()) {
      tx_pending_.store(true);
      return;
    }
    Virtqueue& tx = transport_->queue(kTxQueue);
    const size_t header = header_bytes();
    bool pushed = false;
    while (auto chain = tx.pop()) {
      const uint64_t bytes = chain->readable_bytes();
      if (bytes >= header + 14 && bytes - header <= kMaxFrameBytes) {
        std::vector<uint8_t> frame(bytes - header);
        chain->read(header, frame);
        frames.push_back(std::move(frame));
      }
      // A buffer too short for a header or too long for a frame is returned
      // unsent, as QEMU drops it.
      tx.push(*chain, 0);
      pushed = true;
    }
    if (pushed) tx.notify();
  }
  for (const auto& frame : frames) {
    backend_.send(frame);
    ++sent_;
  }
}

void VirtioNet::drain_ctrl() {
  std::lock_guard work(work_mutex_);
  if (transport_ == nullptr || quiesced_.load()) return;
  Virtqueue& ctrl = transport_->queue(kCtrlQueue);
  bool pushed = false;
  while (auto chain = ctrl.pop()) {
    // class, command, then the command's data; the device writes one ack byte.
    const uint64_t length = chain->readable_bytes();
    uint8_t ack = kCtrlErr;
    if (length >= 2 && length <= 2 + 4 + kMacTableEntries * 6 * 2 + 4 && chain->writable_bytes() >= 1) {
      std::vector<uint8_t> request(length);
      chain->read(0, request);
      ack = control(request[0], request[1], std::span<const uint8_t>(request).subspan(2));
    }
    const uint8_t reply[1] = {ack};
    const size_t written = chain->write(0, reply);
    ctrl.push(*chain, static_cast<uint32_t>(written));
    pushed = true;
  }
  if (pushed) ctrl.notify();
}

uint8_t VirtioNet::control(uint8_t cls, uint8_t command, std::span<const uint8_t> data) {
  std::lock_guard lock(mutex_);
  if (cls == kCtrlRx) {
    if (data.size() != 1) return kCtrlErr;
    const bool on = data[0] != 0;
    switch (command) {
      case kCtrlRxPromisc: state_.promisc = on; return kCtrlOk;
      case kCtrlRxAllmulti: state_.allmulti = on; return kCtrlOk;
      case kCtrlRxAlluni: state_.alluni = on; return kCtrlOk;
      case kCtrlRxNomulti: state_.nomulti = on; return kCtrlOk;
      case kCtrlRxNouni: state_.nouni = on; return kCtrlOk;
      case kCtrlRxNobcast: state_.nobcast = on; return kCtrlOk;
      default: return kCtrlErr;
    }
  }
  if (cls == kCtrlMac && command == kCtrlMacAddrSet) {
    if (data.size() != 6) return kCtrlErr;
    std::copy(data.begin(), data.end(), state_.mac.begin());
    return kCtrlOk;
  }
  if (cls == kCtrlMac && command == kCtrlMacTableSet) {
    // Two tables, unicast then multicast: le32 count, count MACs each.
    if (data.size() < 4) return kCtrlErr;
    const uint32_t unicast = load_le<uint32_t>(data.data());
    const uint64_t unicast_end = 4 + uint64_t{unicast} * 6;
    if (unicast_end + 4 > data.size()) return kCtrlErr;
    const uint32_t multicast = load_le<uint32_t>(data.data() + unicast_end);
    if (unicast_end + 4 + uint64_t{multicast} * 6 != data.size()) return kCtrlErr;
    // Too many for the table: QEMU falls back to taking them all.
    state_.mac_table_entries = 0;
    state_.mac_table_first_multi = 0;
    state_.alluni = unicast > kMacTableEntries ? true : state_.alluni;
    if (unicast <= kMacTableEntries) {
      for (uint32_t i = 0; i < unicast; ++i) {
        std::copy_n(data.begin() + 4 + i * 6, 6, state_.mac_table[state_.mac_table_entries++].begin());
      }
    }
    state_.mac_table_first_multi = state_.mac_table_entries;
    if (multicast > kMacTableEntries - state_.mac_table_entries) {
      state_.allmulti = true;
    } else {
      for (uint32_t i = 0; i < multicast; ++i) {
        std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(unicast_end + 4 + i * 6), 6,
                    state_.mac_table[state_.mac_table_entries++].begin());
      }
    }
    return kCtrlOk;
  }
  if (cls == kCtrlAnnounce && command == kCtrlAnnounceAck) {
    state_.status &= static_cast<uint16_t>(~kStatusAnnounce);
    return kCtrlOk;
  }
  return kCtrlErr;
}

void VirtioNet::request_guest_announce() {
  if ((features_.load() & kFeatureGuestAnnounce) == 0 || (features_.load() & kFeatureCtrlVq) == 0) return;
  {
    std::lock_guard lock(mutex_);
    state_.status |= kStatusAnnounce;
  }
  if (transport_ != nullptr) transport_->notify_config_change();
}

void VirtioNet::send_self_announce() {
  // QEMU's announce frame: a broadcast RARP "request reverse" naming the
  // NIC's MAC as sender and target, so switches learn where it now is.
  std::array<uint8_t, 6> mac;
  {
    std::lock_guard lock(mutex_);
    mac = state_.mac;
  }
  std::array<uint8_t, 60> frame{};
  std::fill_n(frame.begin(), 6, 0xff);
  std::copy(mac.begin(), mac.end(), frame.begin() + 6);
  put_be16(frame.data() + 12, 0x8035);  // RARP
  put_be16(frame.data() + 14, 1);       // Ethernet
  put_be16(frame.data() + 16, 0x0800);  // IPv4
  frame[18] = 6;
  frame[19] = 4;
  put_be16(frame.data() + 20, 3);  // request reverse
  std::copy(mac.begin(), mac.end(), frame.begin() + 22);
  std::copy(mac.begin(), mac.end(), frame.begin() + 32);
  backend_.send(frame);
}

VirtioNet::State VirtioNet::snapshot() const {
  std::lock_guard lock(mutex_);
  return state_;
}

Status VirtioNet::restore(const State& state) {
  std::lock_guard lock(mutex_);
  state_ = state;
  return {};
}

}  // namespace godwit
