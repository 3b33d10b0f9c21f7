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

// The largest frame taken from the guest: 64 KiB and its Ethernet header
// (a TSO segment), as QEMU's NET_BUFSIZE bounds what it hands a backend.
constexpr uint64_t kMaxFrameBytes = 65536 + 14;

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

void VirtioNet::features_accepted(uint64_t features) {
  features_.store(features);
  if (backend_.has_vnet_header()) {
    backend_.set_offloads(NetOffloads{.csum = (features & kFeatureGuestCsum) != 0,
                                      .tso4 = (features & kFeatureGuestTso4) != 0,
                                      .tso6 = (features & kFeatureGuestTso6) != 0,
                                      .ecn = (features & kFeatureGuestEcn) != 0});
  }
  // After a migration's load the queues are set up: a frame that came with
  // the state, and the backend, may go on.
  post_resume_receive();
}

void VirtioNet::driver_ok() {
  // Buffers may have come while the driver was still setting up.
  queue_notify(kTxQueue);
}

void VirtioNet::queue_notify(unsigned index) {
  // New receive buffers: the waiting frame, then the backend's next ones.
  if (index == kRxQueue) post_resume_receive();
  if (index == kTxQueue) loop_.post([this] { drain_tx(); });
  if (index == kCtrlQueue) loop_.post([this] { drain_ctrl(); });
}

void VirtioNet::reset() {
  std::lock_guard work(work_mutex_);
  features_.store(0);
  pending_frame_.clear();
  if (backend_.has_vnet_header()) backend_.set_offloads(NetOffloads{});
  std::lock_guard lock(mutex_);
  const std::array<uint8_t, 6> mac = default_mac_;
  state_ = State{};
  state_.mac = mac;
}

void VirtioNet::quiesce() {
  // On the I/O thread: a backend asks can_receive() and then hands its
  // frame to receive() within one callback there, and must not find the
  // device quiesced in between, with the frame already read.
  loop_.run_and_wait([this] {
    std::lock_guard work(work_mutex_);
    quiesced_.store(true);
  });
}

void VirtioNet::unquiesce() {
  {
    std::lock_guard work(work_mutex_);
    quiesced_.store(false);
  }
  // Frames the guest queued while it stopped (a kick may have come then),
  // and the receive side the backend stopped feeding.
  tx_pending_.store(false);
  queue_notify(kTxQueue);
  post_resume_receive();
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

bool VirtioNet::can_receive() {
  std::lock_guard work(work_mutex_);
  if (quiesced_.load() || transport_ == nullptr || (transport_->status() & kVirtioStatusDriverOk) == 0) return false;
  return pending_frame_.empty() && transport_->queue(kRxQueue).has_available();
}

bool VirtioNet::receive(std::span<const uint8_t> frame, const VnetHeader& offered) {
  std::lock_guard work(work_mutex_);
  if (quiesced_.load() || transport_ == nullptr || (transport_->status() & kVirtioStatusDriverOk) == 0) return false;
  if (!pending_frame_.empty() || frame.size() > kMaxReceiveFrameBytes) return false;
  {
    std::lock_guard lock(mutex_);
    if (!accepts(frame)) return true;  // filtered out: taken, and gone
  }
  // What the guest did not agree to take: a partial checksum without
  // GUEST_CSUM, a segment larger than a frame without GUEST_TSO. The host
  // sends neither once the offloads are set; a frame already on its way
  // when they changed is dropped, as a wire would.
  const uint64_t features = features_.load();
  VnetHeader header = offered;
  if ((features & kFeatureGuestCsum) == 0) {
    if ((header.flags & VnetHeader::kNeedsCsum) != 0) {
      ++dropped_;
      return true;
    }
    header.flags = 0;
  }
  const uint8_t gso = header.gso_type & static_cast<uint8_t>(~VnetHeader::kGsoEcn);
  const bool gso_ok = gso == VnetHeader::kGsoNone ||
                      (gso == VnetHeader::kGsoTcpV4 && (features & kFeatureGuestTso4) != 0) ||
                      (gso == VnetHeader::kGsoTcpV6 && (features & kFeatureGuestTso6) != 0);
  if (!gso_ok || ((header.gso_type & VnetHeader::kGsoEcn) != 0 && (features & kFeatureGuestEcn) == 0)) {
    ++dropped_;
    return true;
  }
  if (deliver(frame, header) == Delivery::kNoRoom) {
    // Kept until the guest gives more buffers (its next rx kick).
    pending_frame_.assign(frame.begin(), frame.end());
    pending_header_ = header;
  }
  return true;
}

VirtioNet::Delivery VirtioNet::deliver(std::span<const uint8_t> frame, const VnetHeader& vnet) {
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
      return Delivery::kNoRoom;
    }
    room += chain->writable_bytes();
    chains.push_back(std::move(*chain));
    if (!mergeable && room < total) {
      // Section 5.1.6.3.1: without MRG_RXBUF each buffer holds a whole frame.
      rx.push(chains.back(), 0);
      rx.notify();
      transport_->mark_broken("virtio-net: a receive buffer without MRG_RXBUF is smaller than a frame");
      return Delivery::kBroken;
    }
  }
  std::vector<uint8_t> packet(total, 0);
  packet[0] = vnet.flags;
  packet[1] = vnet.gso_type;
  store_le<uint16_t>(packet.data() + 2, vnet.hdr_len);
  store_le<uint16_t>(packet.data() + 4, vnet.gso_size);
  store_le<uint16_t>(packet.data() + 6, vnet.csum_start);
  store_le<uint16_t>(packet.data() + 8, vnet.csum_offset);
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
  return Delivery::kDelivered;
}

void VirtioNet::resume_receive() {
  {
    std::lock_guard work(work_mutex_);
    if (quiesced_.load() || transport_ == nullptr || (transport_->status() & kVirtioStatusDriverOk) == 0) return;
    if (!pending_frame_.empty()) {
      if (deliver(pending_frame_, pending_header_) == Delivery::kNoRoom) return;
      pending_frame_.clear();
    }
  }
  // Outside the lock: the backend may deliver its next frame from here.
  backend_.receive_ready();
}

void VirtioNet::drain_tx() {
  // The frames are copied out under the lock and sent after it: a backend
  // may answer at once, from inside send() (libslirp replies to an ARP
  // request there), and that answer comes back through receive().
  std::vector<std::pair<std::vector<uint8_t>, VnetHeader>> frames;
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
        std::array<uint8_t, VnetHeader::kBytes> raw{};
        chain->read(0, raw);
        VnetHeader vnet;
        if (backend_.has_vnet_header()) {
          vnet = VnetHeader{raw[0], raw[1], load_le<uint16_t>(&raw[2]), load_le<uint16_t>(&raw[4]),
                            load_le<uint16_t>(&raw[6]), load_le<uint16_t>(&raw[8])};
        }
        frames.push_back({std::move(frame), vnet});
      }
      // A buffer too short for a header or too long for a frame is returned
      // unsent, as QEMU drops it.
      tx.push(*chain, 0);
      pushed = true;
    }
    if (pushed) tx.notify();
  }
  for (const auto& [frame, vnet] : frames) {
    backend_.send(frame, vnet);
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
  backend_.send(frame, VnetHeader{});
}

VirtioNet::State VirtioNet::snapshot() const {
  std::lock_guard work(work_mutex_);
  std::lock_guard lock(mutex_);
  State state = state_;
  state.pending_frame = pending_frame_;
  state.pending_header = {pending_header_.flags,    pending_header_.gso_type,   pending_header_.hdr_len,
                          pending_header_.gso_size, pending_header_.csum_start, pending_header_.csum_offset};
  return state;
}

Status VirtioNet::restore(const State& state) {
  if (state.pending_header[0] > 0xff || state.pending_header[1] > 0xff) {
    return fail("virtio-net: the waiting frame's header has flags or a GSO type wider than a byte");
  }
  std::lock_guard work(work_mutex_);
  std::lock_guard lock(mutex_);
  state_ = state;
  state_.pending_frame.clear();
  pending_frame_ = state.pending_frame;
  const auto& h = state.pending_header;
  pending_header_ = VnetHeader{static_cast<uint8_t>(h[0]), static_cast<uint8_t>(h[1]), h[2], h[3], h[4], h[5]};
  return {};
}

}  // namespace godwit
