// CSR names for the disassembler and diagnostics.
#pragma once

#include <cstdint>
#include <string>

namespace godwit {

// The spec name of CSR `number` ("mstatus"), or "0x###" when it has none here.
std::string csr_name(uint16_t number);

}  // namespace godwit
