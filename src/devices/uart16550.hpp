// NS16550A UART as QEMU's virt machine maps it (serial-mm, regshift 0, one
// byte register per address, 0x10000000, PLIC source 10).
//
//   0 RBR (read) / THR (write), DLL when LCR.DLAB
//   1 IER, DLM when LCR.DLAB
//   2 IIR (read) / FCR (write)
//   3 LCR   4 MCR   5 LSR   6 MSR   7 SCR
//
// Like QEMU's serial-mm, an access of any width at offset N reaches register N
// alone (a 4-byte read of 4 returns MCR), and offsets past 7 read as zero.
//
// Transmission is instantaneous: a THR write goes straight to the backend
// (or, in loopback, to the receiver), after which THR is empty again and the
// THR-empty interrupt is pending, as in QEMU when the backend accepts the byte.
//
// Receive FIFO: 16 bytes with the FCR trigger level (1, 4, 8, 14). A level at
// or above the trigger raises "received data available". Below it, QEMU
// raises the "character timeout" indication four character times after the
// last byte; here the timeout is taken to have elapsed as soon as the input
// stops, i.e. whenever the FIFO holds fewer bytes than the trigger level. A
// driver that reads until LSR.DR clears sees the same sequence; it only gets
// its interrupt earlier.
//
// Migration: State is QEMU's "serial" description reduced to what this model
// keeps. There is no transmit FIFO, transmit shift register or character
// timeout timer (transmission is instantaneous and the timeout has always
// elapsed), so QEMU's serial/xmit_fifo, serial/tsr, serial/fifo_timeout_timer,
// serial/timeout_regs and serial/poll subsections have nothing to carry. The
// receive FIFO travels in the "serial/recv_fifo" subsection only while it
// holds bytes, and thr_ipending in "serial/thr_ipending" only when IIR does not
// already say it, as QEMU sends them.
//
// Threads: read()/write() on hart threads, can_receive()/receive() on the
// I/O thread, reset() on the main thread, save()/load()/describe() on the
// migration thread; one mutex guards the state.
// backend->write() runs under it, so bytes from several harts stay whole and
// ordered; the backend's frontend_ready() is called with the mutex released,
// so a backend may deliver input from inside it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "chardev/char_backend.hpp"
#include "devices/irq_line.hpp"
#include "memory/mmio_device.hpp"
#include "migration/stream_reader.hpp"
#include "migration/stream_writer.hpp"
#include "migration/vmstate.hpp"

namespace godwit {

class Uart16550 final : public MmioDevice, public CharFrontend {
 public:
  static constexpr uint64_t kWindowBytes = 0x100;
  static constexpr size_t kFifoBytes = 16;

  // Register offsets.
  static constexpr uint64_t kRbrThr = 0, kIer = 1, kIirFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6, kScr = 7;

  // Register bits, named as in Linux's serial_reg.h.
  static constexpr uint8_t kIerRdi = 0x01, kIerThri = 0x02, kIerRlsi = 0x04, kIerMsi = 0x08;
  static constexpr uint8_t kIirNoInt = 0x01, kIirMsi = 0x00, kIirThri = 0x02, kIirRdi = 0x04, kIirRlsi = 0x06,
                           kIirCti = 0x0c, kIirFifoEnabled = 0xc0;
  static constexpr uint8_t kFcrEnable = 0x01, kFcrClearRx = 0x02, kFcrClearTx = 0x04, kFcrTriggerMask = 0xc0;
  static constexpr uint8_t kLcrDlab = 0x80;
  static constexpr uint8_t kMcrDtr = 0x01, kMcrRts = 0x02, kMcrOut1 = 0x04, kMcrOut2 = 0x08, kMcrLoop = 0x10;
  static constexpr uint8_t kLsrDr = 0x01, kLsrOe = 0x02, kLsrPe = 0x04, kLsrFe = 0x08, kLsrBi = 0x10,
                           kLsrThre = 0x20, kLsrTemt = 0x40, kLsrErrors = 0x1e;
  static constexpr uint8_t kMsrDcts = 0x01, kMsrDeltas = 0x0f, kMsrCts = 0x10, kMsrDsr = 0x20, kMsrRi = 0x40,
                           kMsrDcd = 0x80;

  // Register file plus the receive FIFO, close to QEMU's "serial" vmstate.
  struct State {
    uint16_t divider = 0x0c;  // 9600 baud from QEMU's reset
    uint8_t rbr = 0;          // receive buffer when the FIFO is off
    uint8_t ier = 0;
    uint8_t iir = kIirNoInt;
    uint8_t lcr = 0;
    uint8_t mcr = kMcrOut2;
    uint8_t lsr = kLsrThre | kLsrTemt;
    uint8_t msr = kMsrDcd | kMsrDsr | kMsrCts;  // a backend without modem lines
    uint8_t scr = 0;
    uint8_t fcr = 0;
    bool thr_ipending = false;  // THR-empty interrupt not yet acknowledged
    std::array<uint8_t, kFifoBytes> rx_fifo{};
    uint8_t rx_head = 0;   // index of the oldest byte
    uint8_t rx_count = 0;  // bytes in rx_fifo

    static constexpr VMStateInfo kVMState{"serial", 1, 1};
    template <class V>
    void visit_state(V& v) {
      v.field("divider", divider);
      v.field("rbr", rbr);
      v.field("ier", ier);
      v.field("iir", iir);
      v.field("lcr", lcr);
      v.field("mcr", mcr);
      v.field("lsr", lsr);
      v.field("msr", msr);
      v.field("scr", scr);
      v.field("fcr", fcr);
      // QEMU's convention: without the subsection, thr_ipending is what IIR
      // reports, and the receive FIFO is empty.
      const bool iir_says_thri = (iir & 0x0f) == kIirThri;
      if constexpr (V::loading()) {
        thr_ipending = iir_says_thri;
        rx_fifo = {};
        rx_head = 0;
        rx_count = 0;
      }
      v.subsection("serial/thr_ipending", 1, thr_ipending != iir_says_thri,
                   [&](auto& sub) { sub.field("thr_ipending", thr_ipending); });
      v.subsection("serial/recv_fifo", 1, rx_count > 0, [&](auto& sub) {
        sub.field("rx_fifo", rx_fifo);
        sub.field("rx_head", rx_head);
        sub.field("rx_count", rx_count);
        // Indexes into rx_fifo are taken modulo its size from rx_head on.
        sub.validate(rx_count <= kFifoBytes, "rx_count is above the FIFO size of 16");
        sub.validate(rx_head < kFifoBytes, "rx_head is outside the 16-byte FIFO");
      });
    }
  };

  // `backend` may be null: output is dropped and nothing is received.
  Uart16550(CharBackend* backend, IrqLine irq);
  ~Uart16550() override;
  Uart16550(const Uart16550&) = delete;
  Uart16550& operator=(const Uart16550&) = delete;

  std::string_view name() const override { return "uart0"; }
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  void reset();

  size_t can_receive() override;
  void receive(std::span<const uint8_t> bytes) override;

  State state() const;

  // Migration: writes State; loads one (into a copy, so a bad stream leaves
  // the device as it was), then re-drives the interrupt line from it. The
  // backend is host-side and stays attached as it was.
  void save(StreamWriter& out) const;
  Status load(StreamReader& in, uint32_t version_id);
  nlohmann::json describe() const;

 private:
  unsigned trigger_level_locked() const;
  size_t room_locked() const;
  void push_rx_locked(uint8_t byte);
  uint8_t pop_rx_locked();
  void update_irq_locked();
  // True when the backend was told "no room" and room has appeared since.
  bool take_ready_locked();
  void notify_ready();

  CharBackend* backend_;
  IrqLine irq_;
  mutable std::mutex mutex_;
  State state_;
  bool backend_starved_ = false;  // host side, not device state
};

}  // namespace godwit
