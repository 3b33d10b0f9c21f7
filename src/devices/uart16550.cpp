#include "devices/uart16550.hpp"

namespace godwit {

Uart16550::Uart16550(CharBackend* backend, IrqLine irq) : backend_(backend), irq_(irq) {
  reset();
  if (backend_ != nullptr) backend_->attach(this);
}

Uart16550::~Uart16550() {
  if (backend_ != nullptr) backend_->attach(nullptr);
}

void Uart16550::reset() {
  bool ready;
  {
    std::lock_guard lock(mutex_);
    // QEMU's serial_reset; FCR is cleared too (QEMU leaves it, so its IIR FIFO
    // bits and FCR disagree after a reset until the guest writes FCR).
    state_ = State{};
    update_irq_locked();
    ready = take_ready_locked();
  }
  if (ready) notify_ready();
}

Uart16550::State Uart16550::snapshot() const {
  std::lock_guard lock(mutex_);
  return state_;
}

Status Uart16550::restore(const State& loaded) {
  bool ready;
  {
    std::lock_guard lock(mutex_);
    state_ = loaded;
    // Post-load: IIR and the PLIC line follow from the registers and FIFO.
    update_irq_locked();
    ready = take_ready_locked();
  }
  if (ready) notify_ready();
  return {};
}

unsigned Uart16550::trigger_level_locked() const {
  static constexpr unsigned kLevels[4] = {1, 4, 8, 14};
  return kLevels[(state_.fcr & kFcrTriggerMask) >> 6];
}

size_t Uart16550::room_locked() const {
  // In loopback the receiver is disconnected from the line.
  if ((state_.mcr & kMcrLoop) != 0) return 0;
  if ((state_.fcr & kFcrEnable) != 0) return kFifoBytes - state_.rx_count;
  return (state_.lsr & kLsrDr) != 0 ? 0 : 1;
}

void Uart16550::push_rx_locked(uint8_t byte) {
  if ((state_.fcr & kFcrEnable) != 0) {
    if (state_.rx_count == kFifoBytes) {
      state_.lsr |= kLsrOe;  // QEMU drops the new byte and flags overrun
    } else {
      state_.rx_fifo[(state_.rx_head + state_.rx_count) % kFifoBytes] = byte;
      ++state_.rx_count;
    }
  } else {
    if ((state_.lsr & kLsrDr) != 0) state_.lsr |= kLsrOe;
    state_.rbr = byte;
  }
  state_.lsr |= kLsrDr;
}

uint8_t Uart16550::pop_rx_locked() {
  if (state_.rx_count == 0) return 0;
  const uint8_t byte = state_.rx_fifo[state_.rx_head];
  state_.rx_head = static_cast<uint8_t>((state_.rx_head + 1) % kFifoBytes);
  --state_.rx_count;
  return byte;
}

void Uart16550::update_irq_locked() {
  // Priorities as QEMU's serial_update_irq: line status, timeout, data,
  // THR empty, modem status.
  const bool fifo = (state_.fcr & kFcrEnable) != 0;
  const bool rx_timeout = fifo && state_.rx_count > 0 && state_.rx_count < trigger_level_locked();
  uint8_t id = kIirNoInt;
  if ((state_.ier & kIerRlsi) != 0 && (state_.lsr & kLsrErrors) != 0) {
    id = kIirRlsi;
  } else if ((state_.ier & kIerRdi) != 0 && rx_timeout) {
    id = kIirCti;
  } else if ((state_.ier & kIerRdi) != 0 && (state_.lsr & kLsrDr) != 0 &&
             (!fifo || state_.rx_count >= trigger_level_locked())) {
    id = kIirRdi;
  } else if ((state_.ier & kIerThri) != 0 && state_.thr_ipending) {
    id = kIirThri;
  } else if ((state_.ier & kIerMsi) != 0 && (state_.msr & kMsrDeltas) != 0) {
    id = kIirMsi;
  }
  state_.iir = static_cast<uint8_t>(id | (fifo ? kIirFifoEnabled : 0));
  irq_.set(id != kIirNoInt);
}

bool Uart16550::take_ready_locked() {
  if (!backend_starved_ || room_locked() == 0) return false;
  backend_starved_ = false;
  return true;
}

void Uart16550::notify_ready() {
  if (backend_ != nullptr) backend_->frontend_ready();
}

size_t Uart16550::can_receive() {
  std::lock_guard lock(mutex_);
  const size_t room = room_locked();
  if (room == 0) backend_starved_ = true;
  return room;
}

void Uart16550::receive(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return;
  std::lock_guard lock(mutex_);
  for (uint8_t byte : bytes) push_rx_locked(byte);
  update_irq_locked();
}

uint64_t Uart16550::read(uint64_t offset, unsigned) {
  if (offset > kScr) return 0;
  bool ready = false;
  uint8_t value = 0;
  {
    std::lock_guard lock(mutex_);
    const bool dlab = (state_.lcr & kLcrDlab) != 0;
    switch (offset) {
      case kRbrThr:
        if (dlab) {
          value = state_.divider & 0xff;
          break;
        }
        if ((state_.fcr & kFcrEnable) != 0) {
          value = pop_rx_locked();
          if (state_.rx_count == 0) state_.lsr &= static_cast<uint8_t>(~(kLsrDr | kLsrBi));
        } else {
          value = state_.rbr;
          state_.lsr &= static_cast<uint8_t>(~(kLsrDr | kLsrBi));
        }
        update_irq_locked();
        ready = take_ready_locked();
        break;
      case kIer:
        value = dlab ? static_cast<uint8_t>(state_.divider >> 8) : state_.ier;
        break;
      case kIirFcr:
        value = state_.iir;
        // Reading IIR while it reports THR empty acknowledges that interrupt.
        if ((value & 0x0f) == kIirThri) {
          state_.thr_ipending = false;
          update_irq_locked();
        }
        break;
      case kLcr:
        value = state_.lcr;
        break;
      case kMcr:
        value = state_.mcr;
        break;
      case kLsr:
        value = state_.lsr;
        // Reading LSR clears the break and overrun indications.
        if ((state_.lsr & (kLsrBi | kLsrOe)) != 0) {
          state_.lsr &= static_cast<uint8_t>(~(kLsrBi | kLsrOe));
          update_irq_locked();
        }
        break;
      case kMsr:
        if ((state_.mcr & kMcrLoop) != 0) {
          // Loopback wires DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD.
          value = static_cast<uint8_t>(((state_.mcr & 0x0c) << 4) | ((state_.mcr & kMcrRts) << 3) |
                                       ((state_.mcr & kMcrDtr) << 5));
        } else {
          value = state_.msr;
          if ((state_.msr & kMsrDeltas) != 0) {
            state_.msr &= 0xf0;
            update_irq_locked();
          }
        }
        break;
      case kScr:
        value = state_.scr;
        break;
    }
  }
  if (ready) notify_ready();
  return value;
}

void Uart16550::write(uint64_t offset, unsigned, uint64_t value) {
  if (offset > kScr) return;
  const uint8_t byte = static_cast<uint8_t>(value);
  bool ready = false;
  {
    std::lock_guard lock(mutex_);
    const bool dlab = (state_.lcr & kLcrDlab) != 0;
    switch (offset) {
      case kRbrThr:
        if (dlab) {
          state_.divider = static_cast<uint16_t>((state_.divider & 0xff00) | byte);
          break;
        }
        if ((state_.mcr & kMcrLoop) != 0) {
          push_rx_locked(byte);
        } else if (backend_ != nullptr) {
          backend_->write(std::span<const uint8_t>(&byte, 1));
        }
        // The byte left at once: THR and the shift register are empty again.
        state_.lsr |= kLsrThre | kLsrTemt;
        state_.thr_ipending = true;
        update_irq_locked();
        break;
      case kIer: {
        if (dlab) {
          state_.divider = static_cast<uint16_t>((state_.divider & 0x00ff) | (byte << 8));
          break;
        }
        const uint8_t changed = (state_.ier ^ byte) & 0x0f;
        state_.ier = byte & 0x0f;
        // As QEMU (and Windows expects): enabling ETBEI while THR is empty
        // raises the THR-empty interrupt even if IIR had acknowledged it.
        if ((changed & kIerThri) != 0) {
          state_.thr_ipending = (state_.ier & kIerThri) != 0 && (state_.lsr & kLsrThre) != 0;
        }
        if (changed != 0) update_irq_locked();
        break;
      }
      case kIirFcr: {
        uint8_t fcr = byte;
        // Toggling the enable flushes both FIFOs.
        if (((fcr ^ state_.fcr) & kFcrEnable) != 0) fcr |= kFcrClearRx | kFcrClearTx;
        if ((fcr & kFcrClearRx) != 0) {
          state_.lsr &= static_cast<uint8_t>(~(kLsrDr | kLsrBi));
          state_.rx_head = 0;
          state_.rx_count = 0;
        }
        if ((fcr & kFcrClearTx) != 0) {
          state_.lsr |= kLsrThre;
          state_.thr_ipending = true;
        }
        state_.fcr = fcr & 0xc9;  // the clear bits are self-clearing
        update_irq_locked();
        ready = take_ready_locked();
        break;
      }
      case kLcr:
        state_.lcr = byte;
        break;
      case kMcr:
        state_.mcr = byte & 0x1f;
        ready = take_ready_locked();  // leaving loopback reconnects the receiver
        break;
      case kLsr:
      case kMsr:
        break;  // read-only
      case kScr:
        state_.scr = byte;
        break;
    }
  }
  if (ready) notify_ready();
}

}  // namespace godwit
