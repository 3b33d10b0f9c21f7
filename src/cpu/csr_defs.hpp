// CSR numbers, mstatus fields and trap causes, with the spec's names
// (privileged spec chapters 2, 3 and 10).
#pragma once

#include <cstdint>

namespace godwit::csr {

// Floating-point (F and D; unprivileged spec 20.2).
inline constexpr uint16_t kFflags = 0x001;
inline constexpr uint16_t kFrm = 0x002;
inline constexpr uint16_t kFcsr = 0x003;

// Unprivileged counters (Zicntr).
inline constexpr uint16_t kCycle = 0xc00;
inline constexpr uint16_t kTime = 0xc01;
inline constexpr uint16_t kInstret = 0xc02;
inline constexpr uint16_t kHpmcounter3 = 0xc03;
inline constexpr uint16_t kHpmcounter31 = 0xc1f;

// Supervisor.
inline constexpr uint16_t kSstatus = 0x100;
inline constexpr uint16_t kSie = 0x104;
inline constexpr uint16_t kStvec = 0x105;
inline constexpr uint16_t kScounteren = 0x106;
inline constexpr uint16_t kSenvcfg = 0x10a;
inline constexpr uint16_t kSscratch = 0x140;
inline constexpr uint16_t kSepc = 0x141;
inline constexpr uint16_t kScause = 0x142;
inline constexpr uint16_t kStval = 0x143;
inline constexpr uint16_t kSip = 0x144;
inline constexpr uint16_t kStimecmp = 0x14d;  // Sstc
inline constexpr uint16_t kSatp = 0x180;

// Machine.
inline constexpr uint16_t kMvendorid = 0xf11;
inline constexpr uint16_t kMarchid = 0xf12;
inline constexpr uint16_t kMimpid = 0xf13;
inline constexpr uint16_t kMhartid = 0xf14;
inline constexpr uint16_t kMconfigptr = 0xf15;
inline constexpr uint16_t kMstatus = 0x300;
inline constexpr uint16_t kMisa = 0x301;
inline constexpr uint16_t kMedeleg = 0x302;
inline constexpr uint16_t kMideleg = 0x303;
inline constexpr uint16_t kMie = 0x304;
inline constexpr uint16_t kMtvec = 0x305;
inline constexpr uint16_t kMcounteren = 0x306;
inline constexpr uint16_t kMenvcfg = 0x30a;
inline constexpr uint16_t kMcountinhibit = 0x320;
inline constexpr uint16_t kMhpmevent3 = 0x323;
inline constexpr uint16_t kMhpmevent31 = 0x33f;
inline constexpr uint16_t kMscratch = 0x340;
inline constexpr uint16_t kMepc = 0x341;
inline constexpr uint16_t kMcause = 0x342;
inline constexpr uint16_t kMtval = 0x343;
inline constexpr uint16_t kMip = 0x344;
inline constexpr uint16_t kPmpcfg0 = 0x3a0;
inline constexpr uint16_t kPmpcfg15 = 0x3af;
inline constexpr uint16_t kPmpaddr0 = 0x3b0;
inline constexpr uint16_t kPmpaddr63 = 0x3ef;
// Sdtrig trigger module (debug spec, chapter 5); tinfo is read-only.
inline constexpr uint16_t kTselect = 0x7a0;
inline constexpr uint16_t kTdata1 = 0x7a1;
inline constexpr uint16_t kTdata2 = 0x7a2;
inline constexpr uint16_t kTdata3 = 0x7a3;
inline constexpr uint16_t kTinfo = 0x7a4;
inline constexpr uint16_t kMcycle = 0xb00;
inline constexpr uint16_t kMinstret = 0xb02;
inline constexpr uint16_t kMhpmcounter3 = 0xb03;
inline constexpr uint16_t kMhpmcounter31 = 0xb1f;

}  // namespace godwit::csr

namespace godwit::envcfg {

// menvcfg/senvcfg fields this hart has (privileged spec 3.1.18, 10.1.10).
// FIOM only asks fences to order I/O too, which every fence here does.
inline constexpr uint64_t kFIOM = 1ull << 0;
inline constexpr uint64_t kSTCE = 1ull << 63;  // Sstc: stimecmp on, STIP driven by it
inline constexpr uint64_t kMenvcfgWritable = kFIOM | kSTCE;
inline constexpr uint64_t kSenvcfgWritable = kFIOM;

}  // namespace godwit::envcfg

namespace godwit::counteren {

// mcounteren/scounteren bits, by counter (Zicntr).
inline constexpr uint64_t kCY = 1ull << 0;
inline constexpr uint64_t kTM = 1ull << 1;
inline constexpr uint64_t kIR = 1ull << 2;

}  // namespace godwit::counteren

namespace godwit::mstatus {

inline constexpr uint64_t kSIE = 1ull << 1;
inline constexpr uint64_t kMIE = 1ull << 3;
inline constexpr uint64_t kSPIE = 1ull << 5;
inline constexpr uint64_t kMPIE = 1ull << 7;
inline constexpr uint64_t kSPP = 1ull << 8;
inline constexpr unsigned kMPPShift = 11;
inline constexpr uint64_t kMPP = 3ull << kMPPShift;
inline constexpr uint64_t kFS = 3ull << 13;
inline constexpr uint64_t kMPRV = 1ull << 17;
inline constexpr uint64_t kSUM = 1ull << 18;
inline constexpr uint64_t kMXR = 1ull << 19;
inline constexpr uint64_t kTVM = 1ull << 20;
inline constexpr uint64_t kTW = 1ull << 21;
inline constexpr uint64_t kTSR = 1ull << 22;
inline constexpr uint64_t kUXL = 3ull << 32;
inline constexpr uint64_t kSXL = 3ull << 34;
// XLEN=64 for U and S, read-only (QEMU does not support changing XLEN here).
inline constexpr uint64_t kXlen64 = (2ull << 32) | (2ull << 34);

// SD: read-only, set when FS is Dirty (3.1.6.6); computed on read.
inline constexpr uint64_t kSD = 1ull << 63;
inline constexpr uint64_t kFSDirty = kFS;

inline constexpr uint64_t kWritable =
    kSIE | kMIE | kSPIE | kMPIE | kSPP | kMPP | kFS | kMPRV | kSUM | kMXR | kTVM | kTW | kTSR;
// The sstatus view (privileged spec 10.1.1).
inline constexpr uint64_t kSstatusWritable = kSIE | kSPIE | kSPP | kFS | kSUM | kMXR;
inline constexpr uint64_t kSstatusReadable = kSstatusWritable | kUXL | kSD;

inline constexpr uint64_t sd_bit(uint64_t mstatus) { return (mstatus & kFS) == kFSDirty ? kSD : 0; }

}  // namespace godwit::mstatus

namespace godwit::cause {

// Exception codes (privileged spec table 3.6).
inline constexpr uint64_t kInstructionMisaligned = 0;
inline constexpr uint64_t kInstructionAccessFault = 1;
inline constexpr uint64_t kIllegalInstruction = 2;
inline constexpr uint64_t kBreakpoint = 3;
inline constexpr uint64_t kLoadMisaligned = 4;
inline constexpr uint64_t kLoadAccessFault = 5;
inline constexpr uint64_t kStoreMisaligned = 6;
inline constexpr uint64_t kStoreAccessFault = 7;
inline constexpr uint64_t kEcallFromU = 8;
inline constexpr uint64_t kEcallFromS = 9;
inline constexpr uint64_t kEcallFromM = 11;
inline constexpr uint64_t kInstructionPageFault = 12;
inline constexpr uint64_t kLoadPageFault = 13;
inline constexpr uint64_t kStorePageFault = 15;

inline constexpr uint64_t kInterruptBit = 1ull << 63;

// The exceptions medeleg can delegate, as QEMU's delegable_excps: everything
// but ecall from M-mode (and the reserved codes 10 and 14).
inline constexpr uint64_t kDelegableExceptions = 0xb3ff;

}  // namespace godwit::cause
