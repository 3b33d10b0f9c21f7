#include "devices/uart16550.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "devices/fakes_test_util.hpp"

namespace godwit {
namespace {

using testing::FakeCharBackend;
using testing::FakeInterruptController;

constexpr unsigned kSource = 10;
using U = Uart16550;

class UartTest : public ::testing::Test {
 protected:
  UartTest() : uart(&backend, IrqLine(&controller, kSource)) {}

  uint8_t reg(uint64_t offset) { return static_cast<uint8_t>(uart.read(offset, 1)); }
  void set(uint64_t offset, uint8_t value) { uart.write(offset, 1, value); }
  bool irq() const { return controller.level(kSource); }
  uint8_t iir_id() { return reg(U::kIirFcr) & 0x0f; }
  std::string drain() {
    std::string text;
    while ((reg(U::kLsr) & U::kLsrDr) != 0) text.push_back(static_cast<char>(reg(U::kRbrThr)));
    return text;
  }

  FakeInterruptController controller;
  FakeCharBackend backend;
  Uart16550 uart;
};

TEST_F(UartTest, AttachesToItsBackend) {
  EXPECT_EQ(backend.frontend, &uart);
  EXPECT_EQ(backend.attach_calls, 1);
}

TEST_F(UartTest, ResetValuesMatchQemu) {
  // As `xp /bx` on QEMU's virt serial right after start.
  EXPECT_EQ(reg(U::kRbrThr), 0x00);
  EXPECT_EQ(reg(U::kIer), 0x00);
  EXPECT_EQ(reg(U::kIirFcr), 0x01);
  EXPECT_EQ(reg(U::kLcr), 0x00);
  EXPECT_EQ(reg(U::kMcr), 0x08);
  EXPECT_EQ(reg(U::kLsr), 0x60);
  EXPECT_EQ(reg(U::kMsr), 0xb0);
  EXPECT_EQ(reg(U::kScr), 0x00);
  EXPECT_FALSE(irq());
}

TEST_F(UartTest, WideAccessReachesOneRegisterAndPastSevenReadsZero) {
  EXPECT_EQ(uart.read(U::kMcr, 4), 0x08u);  // not MCR|LSR<<8|...
  EXPECT_EQ(uart.read(U::kLsr, 8), 0x60u);
  uart.write(U::kScr, 4, 0x1234'56ab);
  EXPECT_EQ(reg(U::kScr), 0xab);
  EXPECT_EQ(uart.read(8, 1), 0u);
  EXPECT_EQ(uart.read(0xff, 1), 0u);
  uart.write(8, 1, 'x');
  EXPECT_TRUE(backend.output.empty());
}

TEST_F(UartTest, TransmitGoesToTheBackend) {
  for (char c : std::string("hi\n")) set(U::kRbrThr, static_cast<uint8_t>(c));
  EXPECT_EQ(backend.output, "hi\n");
  EXPECT_EQ(reg(U::kLsr) & (U::kLsrThre | U::kLsrTemt), U::kLsrThre | U::kLsrTemt);
}

TEST_F(UartTest, NullBackendDropsOutput) {
  FakeInterruptController controller2;
  Uart16550 lonely(nullptr, IrqLine(&controller2, 1));
  lonely.write(U::kIer, 1, U::kIerThri);
  lonely.write(U::kRbrThr, 1, 'x');
  EXPECT_EQ(lonely.read(U::kLsr, 1) & U::kLsrThre, U::kLsrThre);
  EXPECT_TRUE(controller2.level(1));
}

TEST_F(UartTest, DivisorLatchBehindDlab) {
  set(U::kLcr, U::kLcrDlab | 0x03);
  EXPECT_EQ(reg(U::kRbrThr), 0x0c);  // QEMU's reset divisor: 9600 baud
  EXPECT_EQ(reg(U::kIer), 0x00);
  set(U::kRbrThr, 0x01);
  set(U::kIer, 0x02);
  EXPECT_EQ(reg(U::kRbrThr), 0x01);
  EXPECT_EQ(reg(U::kIer), 0x02);
  EXPECT_TRUE(backend.output.empty());  // DLL writes are not data
  EXPECT_EQ(uart.snapshot().divider, 0x0201);
  set(U::kLcr, 0x03);
  EXPECT_EQ(reg(U::kLcr), 0x03);
  EXPECT_EQ(reg(U::kIer), 0x00);  // IER untouched by the DLM write
}

TEST_F(UartTest, ScratchRegisterHoldsAByte) {
  set(U::kScr, 0x5a);
  EXPECT_EQ(reg(U::kScr), 0x5a);
}

TEST_F(UartTest, IerKeepsLowFourBits) {
  set(U::kIer, 0xff);
  EXPECT_EQ(reg(U::kIer), 0x0f);
}

TEST_F(UartTest, EnablingThriWithEmptyThrRaisesTheInterrupt) {
  set(U::kIer, U::kIerThri);
  EXPECT_TRUE(irq());
  EXPECT_EQ(iir_id(), U::kIirThri);
}

TEST_F(UartTest, ReadingIirAcknowledgesThri) {
  set(U::kIer, U::kIerThri);
  EXPECT_EQ(reg(U::kIirFcr), U::kIirThri);  // this read acknowledges it
  EXPECT_FALSE(irq());
  EXPECT_EQ(reg(U::kIirFcr), U::kIirNoInt);
}

TEST_F(UartTest, WritingThrRaisesThriAgain) {
  set(U::kIer, U::kIerThri);
  reg(U::kIirFcr);
  ASSERT_FALSE(irq());
  set(U::kRbrThr, 'a');
  EXPECT_TRUE(irq());
  EXPECT_EQ(iir_id(), U::kIirThri);
}

TEST_F(UartTest, DisablingThriDropsTheLine) {
  set(U::kIer, U::kIerThri);
  ASSERT_TRUE(irq());
  set(U::kIer, 0);
  EXPECT_FALSE(irq());
  EXPECT_FALSE(uart.snapshot().thr_ipending);
}

TEST_F(UartTest, ThriIsNotSignalledWithoutIer) {
  set(U::kRbrThr, 'a');
  EXPECT_FALSE(irq());
  EXPECT_EQ(reg(U::kIirFcr), U::kIirNoInt);
}

TEST_F(UartTest, ReceiveWithoutFifoHoldsOneByte) {
  EXPECT_EQ(uart.can_receive(), 1u);
  EXPECT_EQ(backend.feed("ab"), 1u);
  EXPECT_EQ(uart.can_receive(), 0u);
  EXPECT_EQ(reg(U::kLsr) & U::kLsrDr, U::kLsrDr);
  EXPECT_FALSE(irq());  // IER.RDI off
  set(U::kIer, U::kIerRdi);
  EXPECT_TRUE(irq());
  EXPECT_EQ(iir_id(), U::kIirRdi);
  EXPECT_EQ(reg(U::kRbrThr), 'a');
  EXPECT_EQ(reg(U::kLsr) & U::kLsrDr, 0);
  EXPECT_FALSE(irq());
  EXPECT_EQ(uart.can_receive(), 1u);
}

TEST_F(UartTest, FrontendReadyAfterRoomFreesUp) {
  backend.feed("a");
  EXPECT_EQ(backend.feed("b"), 0u);  // full: backend told to wait
  EXPECT_EQ(backend.ready_calls, 0);
  reg(U::kRbrThr);
  EXPECT_EQ(backend.ready_calls, 1);
  reg(U::kRbrThr);  // no second notice without another refusal
  EXPECT_EQ(backend.ready_calls, 1);
}

TEST_F(UartTest, FifoEnableShowsInIir) {
  set(U::kIirFcr, U::kFcrEnable);
  EXPECT_EQ(reg(U::kIirFcr), U::kIirFifoEnabled | U::kIirNoInt);
  set(U::kIirFcr, 0);
  EXPECT_EQ(reg(U::kIirFcr), U::kIirNoInt);
}

TEST_F(UartTest, FifoTakesSixteenBytes) {
  set(U::kIirFcr, U::kFcrEnable);
  EXPECT_EQ(uart.can_receive(), 16u);
  EXPECT_EQ(backend.feed("0123456789abcdefXYZ"), 16u);
  EXPECT_EQ(uart.can_receive(), 0u);
  EXPECT_EQ(drain(), "0123456789abcdef");
  EXPECT_EQ(uart.can_receive(), 16u);
  EXPECT_GE(backend.ready_calls, 1);
}

TEST_F(UartTest, FifoOverrunDropsNewBytesAndFlagsOe) {
  set(U::kIirFcr, U::kFcrEnable);
  set(U::kIer, U::kIerRlsi);
  const std::string sixteen = "0123456789abcdef";
  uart.receive(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(sixteen.data()), 16));
  const uint8_t extra = 'Z';
  uart.receive(std::span<const uint8_t>(&extra, 1));
  EXPECT_TRUE(irq());
  EXPECT_EQ(iir_id(), U::kIirRlsi);
  EXPECT_EQ(reg(U::kLsr) & U::kLsrOe, U::kLsrOe);
  EXPECT_EQ(reg(U::kLsr) & U::kLsrOe, 0);  // cleared by the first read
  EXPECT_FALSE(irq());
  EXPECT_EQ(drain(), sixteen);
}

TEST_F(UartTest, OverrunWithoutFifoKeepsTheNewestByte) {
  const uint8_t a = 'a', b = 'b';
  uart.receive(std::span<const uint8_t>(&a, 1));
  uart.receive(std::span<const uint8_t>(&b, 1));
  EXPECT_EQ(reg(U::kLsr) & (U::kLsrOe | U::kLsrDr), U::kLsrOe | U::kLsrDr);
  EXPECT_EQ(reg(U::kRbrThr), 'b');
}

TEST_F(UartTest, TriggerLevelSelectsDataAvailableOverTimeout) {
  set(U::kIirFcr, U::kFcrEnable | 0x80);  // trigger at 8 bytes
  set(U::kIer, U::kIerRdi);
  backend.feed("1234567");
  // Fewer than the trigger level: the character timeout indication.
  EXPECT_TRUE(irq());
  EXPECT_EQ(iir_id(), U::kIirCti);
  backend.feed("8");
  EXPECT_EQ(iir_id(), U::kIirRdi);
  EXPECT_EQ(reg(U::kRbrThr), '1');
  EXPECT_EQ(iir_id(), U::kIirCti);  // back below the level
  EXPECT_EQ(drain(), "2345678");
  EXPECT_FALSE(irq());
  EXPECT_EQ(reg(U::kIirFcr), U::kIirFifoEnabled | U::kIirNoInt);
}

TEST_F(UartTest, EachTriggerLevel) {
  const struct {
    uint8_t bits;
    size_t level;
  } cases[] = {{0x00, 1}, {0x40, 4}, {0x80, 8}, {0xc0, 14}};
  for (const auto& c : cases) {
    set(U::kIirFcr, U::kFcrEnable | U::kFcrClearRx | c.bits);
    set(U::kIer, U::kIerRdi);
    for (size_t i = 0; i + 1 < c.level; ++i) backend.feed("x");
    if (c.level > 1) {
      EXPECT_EQ(iir_id(), U::kIirCti) << "level " << c.level;
    }
    backend.feed("x");
    EXPECT_EQ(iir_id(), U::kIirRdi) << "level " << c.level;
  }
}

TEST_F(UartTest, RxInterruptsOutrankThri) {
  set(U::kIirFcr, U::kFcrEnable);
  set(U::kIer, U::kIerRdi | U::kIerThri);
  backend.feed("a");
  EXPECT_EQ(iir_id(), U::kIirRdi);  // THRI waits, unacknowledged
  drain();
  EXPECT_EQ(iir_id(), U::kIirThri);  // and this read acknowledges it
  EXPECT_FALSE(irq());
}

TEST_F(UartTest, FcrClearRxEmptiesTheFifo) {
  set(U::kIirFcr, U::kFcrEnable);
  set(U::kIer, U::kIerRdi);
  backend.feed("abc");
  ASSERT_TRUE(irq());
  set(U::kIirFcr, U::kFcrEnable | U::kFcrClearRx);
  EXPECT_EQ(reg(U::kLsr) & U::kLsrDr, 0);
  EXPECT_FALSE(irq());
  EXPECT_EQ(uart.can_receive(), 16u);
  EXPECT_EQ(uart.snapshot().fcr, U::kFcrEnable);  // clear bits self-clear
}

TEST_F(UartTest, TogglingFifoEnableFlushes) {
  backend.feed("a");  // held in RBR without the FIFO
  set(U::kIirFcr, U::kFcrEnable);
  EXPECT_EQ(reg(U::kLsr) & U::kLsrDr, 0);
}

TEST_F(UartTest, FcrClearTxRaisesThri) {
  set(U::kIer, U::kIerThri);
  reg(U::kIirFcr);  // acknowledge
  ASSERT_FALSE(irq());
  set(U::kIirFcr, U::kFcrClearTx);
  EXPECT_TRUE(irq());
}

TEST_F(UartTest, LoopbackFeedsTransmitIntoReceive) {
  set(U::kMcr, U::kMcrLoop | U::kMcrOut2);
  EXPECT_EQ(uart.can_receive(), 0u);  // the line is disconnected
  set(U::kRbrThr, 'q');
  EXPECT_TRUE(backend.output.empty());
  EXPECT_EQ(reg(U::kLsr) & U::kLsrDr, U::kLsrDr);
  EXPECT_EQ(reg(U::kRbrThr), 'q');
  set(U::kMcr, U::kMcrOut2);
  EXPECT_EQ(backend.ready_calls, 1);  // input may resume
  set(U::kRbrThr, 'r');
  EXPECT_EQ(backend.output, "r");
}

TEST_F(UartTest, LoopbackMirrorsModemLinesInMsr) {
  set(U::kMcr, U::kMcrLoop);
  EXPECT_EQ(reg(U::kMsr), 0x00);
  set(U::kMcr, U::kMcrLoop | U::kMcrDtr);
  EXPECT_EQ(reg(U::kMsr), U::kMsrDsr);
  set(U::kMcr, U::kMcrLoop | U::kMcrRts);
  EXPECT_EQ(reg(U::kMsr), U::kMsrCts);
  set(U::kMcr, U::kMcrLoop | U::kMcrOut1);
  EXPECT_EQ(reg(U::kMsr), U::kMsrRi);
  set(U::kMcr, U::kMcrLoop | U::kMcrOut2);
  EXPECT_EQ(reg(U::kMsr), U::kMsrDcd);
  set(U::kMcr, 0xff);
  EXPECT_EQ(reg(U::kMcr), 0x1f);
}

TEST_F(UartTest, LsrAndMsrIgnoreWrites) {
  set(U::kLsr, 0xff);
  set(U::kMsr, 0x00);
  EXPECT_EQ(reg(U::kLsr), 0x60);
  EXPECT_EQ(reg(U::kMsr), 0xb0);
}

TEST_F(UartTest, ResetRestoresEverything) {
  set(U::kIirFcr, U::kFcrEnable);
  set(U::kIer, U::kIerRdi | U::kIerThri);
  set(U::kLcr, 0x83);
  set(U::kRbrThr, 0x01);  // divisor
  set(U::kScr, 0x77);
  backend.feed("zz");
  ASSERT_TRUE(irq());
  uart.reset();
  EXPECT_FALSE(irq());
  EXPECT_EQ(reg(U::kIer), 0x00);
  EXPECT_EQ(reg(U::kIirFcr), 0x01);
  EXPECT_EQ(reg(U::kLcr), 0x00);
  EXPECT_EQ(reg(U::kMcr), 0x08);
  EXPECT_EQ(reg(U::kLsr), 0x60);
  EXPECT_EQ(reg(U::kScr), 0x00);
  EXPECT_EQ(uart.snapshot().divider, 0x0c);
  EXPECT_EQ(uart.can_receive(), 1u);
}

}  // namespace
}  // namespace godwit

namespace godwit {
namespace {

// A backend that, like an eager I/O thread, pushes input the moment it hears
// the UART has room: frontend_ready() must come with the UART unlocked.
class EagerBackend : public testing::FakeCharBackend {
 public:
  void frontend_ready() override {
    ++ready_calls;
    feed(pending_input.substr(0, 1));
    if (!pending_input.empty()) pending_input.erase(0, 1);
  }
  std::string pending_input;
};

TEST(UartReentrancy, BackendMayDeliverFromFrontendReady) {
  EagerBackend backend;
  testing::FakeInterruptController controller;
  Uart16550 uart(&backend, IrqLine(&controller, kSource));
  backend.pending_input = "bc";
  backend.feed("a");
  EXPECT_EQ(backend.feed("x"), 0u);  // full
  std::string got;
  while ((uart.read(U::kLsr, 1) & U::kLsrDr) != 0) {
    got.push_back(static_cast<char>(uart.read(U::kRbrThr, 1)));
    uart.can_receive();  // the I/O thread polls again and is refused
  }
  EXPECT_EQ(got, "abc");
  EXPECT_GE(backend.ready_calls, 1);
}

TEST(UartThreads, ConcurrentReceiveAndReadLoseNothing) {
  testing::FakeCharBackend backend;
  testing::FakeInterruptController controller;
  Uart16550 uart(&backend, IrqLine(&controller, kSource));
  uart.write(U::kIirFcr, 1, U::kFcrEnable);
  constexpr int kBytes = 20000;
  std::jthread io([&] {
    int sent = 0;
    while (sent < kBytes) {
      if (uart.can_receive() > 0) {
        const uint8_t byte = static_cast<uint8_t>(sent);
        uart.receive(std::span<const uint8_t>(&byte, 1));
        ++sent;
      }
    }
  });
  int received = 0;
  bool in_order = true;
  while (received < kBytes) {
    if ((uart.read(U::kLsr, 1) & U::kLsrDr) != 0) {
      in_order &= uart.read(U::kRbrThr, 1) == static_cast<uint8_t>(received);
      ++received;
    }
  }
  EXPECT_TRUE(in_order);
  EXPECT_EQ(uart.read(U::kLsr, 1) & U::kLsrOe, 0u);
}

}  // namespace
}  // namespace godwit
