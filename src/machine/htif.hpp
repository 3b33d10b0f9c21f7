// Spike's host-target interface (HTIF) on the `tohost`/`fromhost` words of an
// ELF that defines them, so the standard RISC-V ISA tests (riscv-tests) run
// and report pass/fail through godwit's exit status.
//
// Protocol (riscv-isa-sim fesvr): tohost = device<<56 | command<<48 | payload.
//   device 0, payload odd:  exit with status payload>>1 (1 means pass)
//   device 0, payload even: address of a syscall block; only write(64) is served
//   device 1, command 1:    print the byte in the payload (console)
// The host clears tohost after each request and acknowledges in fromhost.
//
// Threads: poll() runs on the main thread; the guest spins on tohost, so
// polling every millisecond is enough and costs the harts nothing.
#pragma once

#include <cstdint>
#include <optional>

#include "chardev/char_backend.hpp"
#include "memory/guest_memory.hpp"

namespace godwit {

class Htif {
 public:
  Htif(GuestMemory memory, uint64_t tohost, std::optional<uint64_t> fromhost, CharBackend* console)
      : memory_(memory), tohost_(tohost), fromhost_(fromhost), console_(console) {}

  // Serves one pending request, if any. Returns the exit status when the
  // guest asked to exit.
  std::optional<int> poll();

 private:
  void acknowledge(uint64_t value);
  void serve_syscall(uint64_t block_address);

  GuestMemory memory_;
  uint64_t tohost_;
  std::optional<uint64_t> fromhost_;
  CharBackend* console_;
};

}  // namespace godwit
