// The UART's "serial" description: round trip, the version-1 golden stream,
// bad streams, and the description itself.
#include <gtest/gtest.h>

#include <string>

#include "devices/fakes_test_util.hpp"
#include "devices/state_test_util.hpp"
#include "devices/uart16550.hpp"

namespace godwit {
namespace {

using testing::describe;
using testing::error_of;
using testing::FakeCharBackend;
using testing::FakeInterruptController;
using testing::from_hex;
using testing::load_bytes;
using testing::prefix;
using testing::save_bytes;
using testing::to_hex;

constexpr unsigned kSource = 10;
using U = Uart16550;

// One UART with its own fake PLIC and backend.
struct Bench {
  Bench() : uart(&backend, IrqLine(&controller, kSource)) {}
  uint8_t reg(uint64_t offset) { return static_cast<uint8_t>(uart.read(offset, 1)); }
  void set(uint64_t offset, uint8_t value) { uart.write(offset, 1, value); }
  bool irq() const { return controller.level(kSource); }

  FakeInterruptController controller;
  FakeCharBackend backend;
  Uart16550 uart;
};

// Divisor 0x1234, 8N1, DTR|RTS|OUT2, scratch 0x5a, FIFO on with trigger 14,
// every interrupt but modem status enabled, nine bytes received and one read
// (so the FIFO is half full and starts at index 1), one byte sent (THR-empty
// pending behind the character timeout).
void drive(Bench& b) {
  b.set(U::kLcr, U::kLcrDlab);
  b.set(U::kRbrThr, 0x34);
  b.set(U::kIer, 0x12);
  b.set(U::kLcr, 0x03);
  b.set(U::kMcr, U::kMcrDtr | U::kMcrRts | U::kMcrOut2);
  b.set(U::kScr, 0x5a);
  b.set(U::kIirFcr, 0xc1);
  b.set(U::kIer, U::kIerRdi | U::kIerThri | U::kIerRlsi);
  ASSERT_EQ(b.backend.feed("abcdefghi"), 9u);
  ASSERT_EQ(b.reg(U::kRbrThr), 'a');
  b.set(U::kRbrThr, 'x');
}

// Every register as a driver would read them, draining the FIFO.
std::string read_everything(Bench& b) {
  std::string out;
  for (uint64_t offset : {U::kIer, U::kIirFcr, U::kLcr, U::kMcr, U::kLsr, U::kMsr, U::kScr}) {
    out += std::to_string(b.reg(offset)) + ",";
  }
  while ((b.reg(U::kLsr) & U::kLsrDr) != 0) out.push_back(static_cast<char>(b.reg(U::kRbrThr)));
  out += "|" + std::to_string(b.reg(U::kIirFcr));  // THR empty shows once the FIFO is drained
  out += "|" + std::to_string(b.reg(U::kIirFcr));  // and reading it acknowledged it
  b.set(U::kLcr, U::kLcrDlab);
  out += "|" + std::to_string(b.reg(U::kRbrThr)) + "," + std::to_string(b.reg(U::kIer));
  return out;
}

// The stream of drive()'s state, written once by hand from the field list
// and checked against the saver. It must keep loading unchanged.
const char* const kGoldenV1 =
    "1234"  // divider
    "00"    // rbr (unused with the FIFO on)
    "07"    // ier: RDI | THRI | RLSI
    "cc"    // iir: character timeout, FIFOs enabled
    "03"    // lcr
    "0b"    // mcr: DTR | RTS | OUT2
    "61"    // lsr: DR | THRE | TEMT
    "b0"    // msr: DCD | DSR | CTS
    "5a"    // scr
    "c1"    // fcr: enable, trigger 14
    // subsection serial/thr_ipending, version 1: IIR does not show it
    "05 13 73657269616c2f7468725f6970656e64696e67 00000001"
    "01"  // thr_ipending
    // subsection serial/recv_fifo, version 1
    "05 10 73657269616c2f726563765f6669666f 00000001"
    "61626364656667686900000000000000"  // rx_fifo
    "01"                                // rx_head
    "08";                               // rx_count

TEST(UartState, GoldenStreamMatchesTheFieldList) {
  Bench source;
  drive(source);
  EXPECT_EQ(to_hex(save_bytes(source.uart)), to_hex(from_hex(kGoldenV1)));
}

TEST(UartState, RoundTripRestoresRegistersFifoAndInterrupt) {
  Bench source;
  drive(source);
  ASSERT_TRUE(source.irq());
  const auto bytes = save_bytes(source.uart);

  Bench destination;
  ASSERT_FALSE(destination.irq());
  ASSERT_TRUE(load_bytes(destination.uart, bytes)) << error_of(load_bytes(destination.uart, bytes));
  // The line is raised again on the destination's PLIC before any access.
  EXPECT_TRUE(destination.irq());
  EXPECT_EQ(save_bytes(destination.uart), bytes);
  EXPECT_EQ(read_everything(destination), read_everything(source));
  EXPECT_FALSE(destination.irq());
  // The destination's backend stays attached: output still flows.
  destination.set(U::kLcr, 0x03);
  destination.set(U::kRbrThr, '!');
  EXPECT_EQ(destination.backend.output, "!");
}

TEST(UartState, GoldenVersion1StreamStillLoads) {
  Bench destination;
  ASSERT_TRUE(load_bytes(destination.uart, from_hex(kGoldenV1)));
  const U::State s = destination.uart.snapshot();
  EXPECT_EQ(s.divider, 0x1234);
  EXPECT_EQ(s.ier, 0x07);
  EXPECT_EQ(s.lcr, 0x03);
  EXPECT_EQ(s.mcr, 0x0b);
  EXPECT_EQ(s.scr, 0x5a);
  EXPECT_EQ(s.fcr, 0xc1);
  EXPECT_TRUE(s.thr_ipending);
  EXPECT_EQ(s.rx_head, 1);
  EXPECT_EQ(s.rx_count, 8);
  EXPECT_TRUE(destination.irq());
  Bench reference;
  drive(reference);
  EXPECT_EQ(read_everything(destination), read_everything(reference));
}

TEST(UartState, QuietUartSendsNoSubsections) {
  Bench source;  // after reset: empty FIFO, THR-empty not pending
  const auto bytes = save_bytes(source.uart);
  EXPECT_EQ(to_hex(bytes), "000c" "00" "00" "01" "00" "08" "60" "b0" "00" "00");
}

TEST(UartState, AbsentSubsectionsMeanEmptyFifoAndThrFromIir) {
  // A destination holding input and a pending THR-empty loads a quiet
  // source's stream: both go, as the stream implies.
  Bench destination;
  destination.set(U::kIirFcr, 0x01);
  destination.backend.feed("zz");
  destination.set(U::kIer, U::kIerThri);
  ASSERT_TRUE(destination.uart.snapshot().thr_ipending);
  Bench quiet;
  ASSERT_TRUE(load_bytes(destination.uart, save_bytes(quiet.uart)));
  EXPECT_EQ(destination.uart.snapshot().rx_count, 0);
  EXPECT_FALSE(destination.uart.snapshot().thr_ipending);
  EXPECT_EQ(save_bytes(destination.uart), save_bytes(quiet.uart));
  EXPECT_FALSE(destination.irq());
}

TEST(UartState, ThrPendingShownByIirNeedsNoSubsection) {
  Bench source;
  source.set(U::kIer, U::kIerThri);  // THR empty: IIR reports it
  ASSERT_EQ(source.reg(U::kLsr) & U::kLsrThre, U::kLsrThre);
  const auto bytes = save_bytes(source.uart);
  EXPECT_EQ(bytes.size(), 11u);  // the ten registers, divider being two bytes
  Bench destination;
  ASSERT_TRUE(load_bytes(destination.uart, bytes));
  EXPECT_TRUE(destination.uart.snapshot().thr_ipending);
  EXPECT_TRUE(destination.irq());
}

TEST(UartState, TruncatedStreamNamesDeviceAndField) {
  auto bytes = from_hex(kGoldenV1);
  bytes = prefix(bytes, 7);  // divider .. mcr
  Bench destination;
  const std::string message = error_of(load_bytes(destination.uart, bytes));
  EXPECT_NE(message.find("serial: field lsr"), std::string::npos) << message;
  EXPECT_NE(message.find("stream ended early"), std::string::npos) << message;

  bytes = from_hex(kGoldenV1);
  bytes.pop_back();  // inside the receive FIFO subsection
  const std::string inner = error_of(load_bytes(destination.uart, bytes));
  EXPECT_NE(inner.find("serial/recv_fifo: field rx_count"), std::string::npos) << inner;
}

TEST(UartState, FifoCountOrHeadOutsideTheFifoIsRejected) {
  Bench destination;
  auto bytes = from_hex(kGoldenV1);
  bytes.back() = 17;  // rx_count
  std::string message = error_of(load_bytes(destination.uart, bytes));
  EXPECT_NE(message.find("rx_count is above the FIFO size of 16"), std::string::npos) << message;

  bytes = from_hex(kGoldenV1);
  bytes[bytes.size() - 2] = 16;  // rx_head
  message = error_of(load_bytes(destination.uart, bytes));
  EXPECT_NE(message.find("rx_head is outside the 16-byte FIFO"), std::string::npos) << message;
}

TEST(UartState, NewerVersionIsRefused) {
  Bench destination;
  const std::string message = error_of(load_bytes(destination.uart, from_hex(kGoldenV1), 2));
  EXPECT_EQ(message, "serial: stream version 2 is newer than this godwit's 1");
}

TEST(UartState, FailedLoadLeavesTheUartAsItWas) {
  Bench destination;
  destination.set(U::kScr, 0x77);
  destination.set(U::kIirFcr, 0x01);
  destination.backend.feed("q");
  destination.set(U::kIer, U::kIerRdi);
  const auto before = save_bytes(destination.uart);
  const int calls = destination.controller.calls();
  ASSERT_TRUE(destination.irq());

  auto bytes = from_hex(kGoldenV1);
  bytes.back() = 200;  // fails validation after every field was read
  ASSERT_FALSE(load_bytes(destination.uart, bytes));
  bytes = prefix(bytes, bytes.size() - 5);  // fails inside the FIFO
  ASSERT_FALSE(load_bytes(destination.uart, bytes));

  EXPECT_EQ(save_bytes(destination.uart), before);
  EXPECT_EQ(destination.controller.calls(), calls);  // the line was not touched
  EXPECT_TRUE(destination.irq());
  EXPECT_EQ(destination.reg(U::kRbrThr), 'q');
}

TEST(UartState, DescriptionListsEveryFieldWithTypeAndSize) {
  Bench source;
  drive(source);
  const nlohmann::json desc = describe(source.uart);
  EXPECT_EQ(desc["vmsd_name"], "serial");
  EXPECT_EQ(desc["version"], 1);
  const nlohmann::json expected_fields = nlohmann::json::parse(R"([
    {"name": "divider", "type": "uint16", "size": 2},
    {"name": "rbr", "type": "uint8", "size": 1},
    {"name": "ier", "type": "uint8", "size": 1},
    {"name": "iir", "type": "uint8", "size": 1},
    {"name": "lcr", "type": "uint8", "size": 1},
    {"name": "mcr", "type": "uint8", "size": 1},
    {"name": "lsr", "type": "uint8", "size": 1},
    {"name": "msr", "type": "uint8", "size": 1},
    {"name": "scr", "type": "uint8", "size": 1},
    {"name": "fcr", "type": "uint8", "size": 1}
  ])");
  EXPECT_EQ(desc["fields"], expected_fields);
  ASSERT_EQ(desc["subsections"].size(), 2u);
  EXPECT_EQ(desc["subsections"][0]["vmsd_name"], "serial/thr_ipending");
  EXPECT_EQ(desc["subsections"][0]["fields"],
            nlohmann::json::parse(R"([{"name": "thr_ipending", "type": "bool", "size": 1}])"));
  EXPECT_EQ(desc["subsections"][1]["vmsd_name"], "serial/recv_fifo");
  EXPECT_EQ(desc["subsections"][1]["fields"], nlohmann::json::parse(R"([
    {"name": "rx_fifo", "type": "buffer", "size": 16},
    {"name": "rx_head", "type": "uint8", "size": 1},
    {"name": "rx_count", "type": "uint8", "size": 1}
  ])"));
  // A quiet UART's stream holds no subsections, and its description says so.
  Bench quiet;
  EXPECT_FALSE(describe(quiet.uart).contains("subsections"));
}

}  // namespace
}  // namespace godwit
