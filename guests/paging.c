/* Privilege modes and Sv39 paging, end to end. M-mode opens PMP entry 0 over
 * all memory (QEMU denies S and U everything until some entry matches),
 * delegates page faults, illegal instructions, ecall from U and the supervisor
 * software interrupt, builds Sv39 tables at fixed physical addresses and enters
 * S-mode with mret. S-mode turns paging on and probes one behaviour per line:
 * permissions, faults with their scause/stval/sepc, SUM, MXR, A/D updates,
 * sfence.vma, a trip to U-mode and back, the counter-enable CSRs and SSIP.
 * Back in M-mode (an ecall from S), one load goes through mstatus.MPRV.
 * Each line ends in "ok" or "FAIL"; the last is "paging: all N checks passed"
 * (power off) or a FAIL summary (exit code 1). Other harts park.
 *
 * Every address printed is a constant or the address of hand-written code, so
 * the output does not depend on the RAM size. Section numbers below are from
 * the RISC-V privileged specification, version 20211203. */
#include "runtime.h"

/* mstatus / sstatus bits (3.1.6, 4.1.1). */
#define SSTATUS_SIE (1UL << 1)
#define SSTATUS_SPP (1UL << 8)
#define SSTATUS_SUM (1UL << 18)
#define SSTATUS_MXR (1UL << 19)
#define MSTATUS_MPP_MASK (3UL << 11)
#define MSTATUS_MPP_S (1UL << 11)
#define MSTATUS_MPP_M (3UL << 11)
#define MSTATUS_MPRV (1UL << 17)

#define IRQ_S_SOFTWARE 1
#define SIP_SSIP (1UL << IRQ_S_SOFTWARE)
#define SIE_SSIE (1UL << IRQ_S_SOFTWARE)

/* Exception codes (3.1.15). */
#define CAUSE_ILLEGAL_INSTRUCTION 2
#define CAUSE_ECALL_FROM_U 8
#define CAUSE_ECALL_FROM_S 9
#define CAUSE_FETCH_PAGE_FAULT 12
#define CAUSE_LOAD_PAGE_FAULT 13
#define CAUSE_STORE_PAGE_FAULT 15

#define DELEGATED_EXCEPTIONS                                                                       \
  ((1UL << CAUSE_ILLEGAL_INSTRUCTION) | (1UL << CAUSE_ECALL_FROM_U) |                              \
   (1UL << CAUSE_FETCH_PAGE_FAULT) | (1UL << CAUSE_LOAD_PAGE_FAULT) |                              \
   (1UL << CAUSE_STORE_PAGE_FAULT))

/* pmpcfg fields (3.7.1): A = NAPOT, and pmpaddr all ones is the whole space. */
#define PMP_R 0x01UL
#define PMP_W 0x02UL
#define PMP_X 0x04UL
#define PMP_A_NAPOT 0x18UL
#define PMP_ADDR_ALL (~0UL >> 10) /* pmpaddr holds address bits 55:2 */

/* counteren bits (3.1.11, 4.1.5). */
#define COUNTEREN_CY (1UL << 0)
#define COUNTEREN_TM (1UL << 1)
#define COUNTEREN_IR (1UL << 2)

/* Sv39 (4.4): satp mode 8, three levels of 512 eight-byte entries. */
#define SATP_MODE_SV39 (8UL << 60)
#define PTE_V (1UL << 0)
#define PTE_R (1UL << 1)
#define PTE_W (1UL << 2)
#define PTE_X (1UL << 3)
#define PTE_U (1UL << 4)
#define PTE_G (1UL << 5)
#define PTE_A (1UL << 6)
#define PTE_D (1UL << 7)
#define PAGE_SIZE 4096UL
#define MEGAPAGE_SIZE (2UL << 20)
#define GIGAPAGE_SIZE (1UL << 30)

/* Physical pages at RAM start + 1 MiB, above the image and the stacks. */
#define POOL_PA 0x80100000UL
#define ROOT_PA (POOL_PA + 0x0000)    /* level 2 */
#define L1_PA (POOL_PA + 0x1000)      /* level 1 for VA 0x40000000 */
#define L0_PA (POOL_PA + 0x2000)      /* level 0 for the window */
#define DATA_PA (POOL_PA + 0x3000)    /* seen through two virtual pages */
#define RO_PA (POOL_PA + 0x4000)      /* read-only */
#define NOEXEC_PA (POOL_PA + 0x5000)  /* read-write, not executable */
#define XONLY_PA (POOL_PA + 0x6000)   /* execute-only */
#define UDATA_PA (POOL_PA + 0x7000)   /* user read-write */
#define SDATA_PA (POOL_PA + 0x8000)   /* supervisor read-write */
#define REMAP_A_PA (POOL_PA + 0x9000) /* the remapped page, before */
#define REMAP_B_PA (POOL_PA + 0xa000) /* and after */
#define AD_PA (POOL_PA + 0xb000)      /* A and D left for the hardware */
#define MEGA_PA 0x80200000UL          /* 2 MiB aligned */
#define MISALIGNED_MEGA_PA 0x80300000UL

/* The 4 KiB window: one level-0 table under root entry 1. */
#define WINDOW_VA 0x40000000UL
#define DATA_VA (WINDOW_VA + 0x0000)
#define ALIAS_VA (WINDOW_VA + 0x1000)
#define RO_VA (WINDOW_VA + 0x2000)
#define UNMAPPED_VA (WINDOW_VA + 0x3000)
#define NOEXEC_VA (WINDOW_VA + 0x4000)
#define XONLY_VA (WINDOW_VA + 0x5000)
#define UCODE_VA (WINDOW_VA + 0x6000)
#define UDATA_VA (WINDOW_VA + 0x7000)
#define SDATA_VA (WINDOW_VA + 0x8000)
#define REMAP_VA (WINDOW_VA + 0x9000)
#define AD_VA (WINDOW_VA + 0xa000)
#define WONLY_VA (WINDOW_VA + 0xb000)
#define MEGA_VA 0x40200000UL            /* level-1 entry 1 */
#define MISALIGNED_MEGA_VA 0x40400000UL /* level-1 entry 2 */
/* Bit 39 set, bit 38 clear: not sign-extended from bit 38. */
#define NONCANONICAL_VA 0x8000000000UL

#define SENTINEL 0xdeadbeefdeadbeefUL
#define RET_INSTRUCTION 0x00008067U /* jalr x0, 0(ra) */
#define SUPERVISOR_RESULT 0x5a      /* what the S-mode phases hand back in a0 */

/* Hand-written code (the asm block below); each instruction is 4 bytes. */
struct trap_frame {
  unsigned long ra, t[7], a[8];
};
unsigned long enter_supervisor(unsigned long (*function)(void));
unsigned long enter_user(uintptr_t entry, unsigned long a0, unsigned long a1);
__attribute__((noreturn)) void leave_user(unsigned long a0);
unsigned long supervisor_trap(struct trap_frame *frame);
extern char supervisor_trap_entry[], supervisor_ecall[], supervisor_landing[];
extern char user_page[], user_ecall[], user_ecall_insn[], user_load[], user_load_insn[],
    user_store[], user_rdtime[], user_rdtime_insn[], user_rdcycle[], user_rdcycle_insn[];

__asm__(".pushsection .text.paging_modes, \"ax\"\n"
        ".option push\n"
        ".option norvc\n"
        /* M-mode: runs function(a0) in S-mode; returns what it returns once
         * it ecalls back (on_exception sends the ecall to the landing). */
        ".globl enter_supervisor\n"
        "enter_supervisor:\n"
        "  lla t0, machine_context\n"
        "  sd ra, 0(t0)\n  sd sp, 8(t0)\n  sd s0, 16(t0)\n  sd s1, 24(t0)\n"
        "  sd s2, 32(t0)\n  sd s3, 40(t0)\n  sd s4, 48(t0)\n  sd s5, 56(t0)\n"
        "  sd s6, 64(t0)\n  sd s7, 72(t0)\n  sd s8, 80(t0)\n  sd s9, 88(t0)\n"
        "  sd s10, 96(t0)\n  sd s11, 104(t0)\n"
        "  lla t1, supervisor_trampoline\n"
        "  csrw mepc, t1\n"
        "  li t1, 0x1800\n" /* mstatus.MPP = S */
        "  csrc mstatus, t1\n"
        "  li t1, 0x800\n"
        "  csrs mstatus, t1\n"
        "  mret\n"
        "supervisor_trampoline:\n"
        "  jalr a0\n"
        ".globl supervisor_ecall\n"
        "supervisor_ecall:\n"
        "  ecall\n"
        ".globl supervisor_landing\n"
        "supervisor_landing:\n"
        "  lla t0, machine_context\n"
        "  ld ra, 0(t0)\n  ld sp, 8(t0)\n  ld s0, 16(t0)\n  ld s1, 24(t0)\n"
        "  ld s2, 32(t0)\n  ld s3, 40(t0)\n  ld s4, 48(t0)\n  ld s5, 56(t0)\n"
        "  ld s6, 64(t0)\n  ld s7, 72(t0)\n  ld s8, 80(t0)\n  ld s9, 88(t0)\n"
        "  ld s10, 96(t0)\n  ld s11, 104(t0)\n"
        "  ret\n"
        /* S-mode: runs U-mode code at entry with a0, a1 until it ecalls;
         * returns its a0. U code leaves sp alone, so S traps from U land on
         * this stack below the caller's frame. */
        ".globl enter_user\n"
        "enter_user:\n"
        "  lla t0, supervisor_context\n"
        "  sd ra, 0(t0)\n  sd sp, 8(t0)\n  sd s0, 16(t0)\n  sd s1, 24(t0)\n"
        "  sd s2, 32(t0)\n  sd s3, 40(t0)\n  sd s4, 48(t0)\n  sd s5, 56(t0)\n"
        "  sd s6, 64(t0)\n  sd s7, 72(t0)\n  sd s8, 80(t0)\n  sd s9, 88(t0)\n"
        "  sd s10, 96(t0)\n  sd s11, 104(t0)\n"
        "  csrw sepc, a0\n"
        "  li t1, 0x100\n" /* sstatus.SPP = U */
        "  csrc sstatus, t1\n"
        "  mv a0, a1\n"
        "  mv a1, a2\n"
        "  sret\n"
        ".globl leave_user\n"
        "leave_user:\n"
        "  lla t0, supervisor_context\n"
        "  ld ra, 0(t0)\n  ld sp, 8(t0)\n  ld s0, 16(t0)\n  ld s1, 24(t0)\n"
        "  ld s2, 32(t0)\n  ld s3, 40(t0)\n  ld s4, 48(t0)\n  ld s5, 56(t0)\n"
        "  ld s6, 64(t0)\n  ld s7, 72(t0)\n  ld s8, 80(t0)\n  ld s9, 88(t0)\n"
        "  ld s10, 96(t0)\n  ld s11, 104(t0)\n"
        "  ret\n"
        /* S-mode trap vector: saves what C may clobber, calls
         * supervisor_trap(frame), resumes at the address it returns. */
        "  .balign 4\n"
        ".globl supervisor_trap_entry\n"
        "supervisor_trap_entry:\n"
        "  addi sp, sp, -128\n"
        "  sd ra, 0(sp)\n  sd t0, 8(sp)\n  sd t1, 16(sp)\n  sd t2, 24(sp)\n"
        "  sd t3, 32(sp)\n  sd t4, 40(sp)\n  sd t5, 48(sp)\n  sd t6, 56(sp)\n"
        "  sd a0, 64(sp)\n  sd a1, 72(sp)\n  sd a2, 80(sp)\n  sd a3, 88(sp)\n"
        "  sd a4, 96(sp)\n  sd a5, 104(sp)\n  sd a6, 112(sp)\n  sd a7, 120(sp)\n"
        "  mv a0, sp\n"
        "  call supervisor_trap\n"
        "  csrw sepc, a0\n"
        "  ld ra, 0(sp)\n  ld t0, 8(sp)\n  ld t1, 16(sp)\n  ld t2, 24(sp)\n"
        "  ld t3, 32(sp)\n  ld t4, 40(sp)\n  ld t5, 48(sp)\n  ld t6, 56(sp)\n"
        "  ld a0, 64(sp)\n  ld a1, 72(sp)\n  ld a2, 80(sp)\n  ld a3, 88(sp)\n"
        "  ld a4, 96(sp)\n  ld a5, 104(sp)\n  ld a6, 112(sp)\n  ld a7, 120(sp)\n"
        "  addi sp, sp, 128\n"
        "  sret\n"
        ".option pop\n"
        ".popsection\n"

        /* The U-mode page, mapped at UCODE_VA. Position independent, and the
         * page holds nothing else. */
        ".pushsection .text.paging_user, \"ax\"\n"
        ".option push\n"
        ".option norvc\n"
        "  .balign 4096\n"
        ".globl user_page\n"
        "user_page:\n"
        ".globl user_ecall\n"
        "user_ecall:\n" /* a0 + 1 */
        "  addi a0, a0, 1\n"
        ".globl user_ecall_insn\n"
        "user_ecall_insn:\n"
        "  ecall\n"
        ".globl user_load\n"
        "user_load:\n" /* the doubleword at a0, or SENTINEL if the load traps */
        "  mv a1, a0\n"
        "  mv a0, a2\n"
        ".globl user_load_insn\n"
        "user_load_insn:\n"
        "  ld a0, 0(a1)\n"
        "  ecall\n"
        ".globl user_store\n"
        "user_store:\n" /* stores a1 at a0 */
        "  sd a1, 0(a0)\n"
        "  ecall\n"
        ".globl user_rdtime\n"
        "user_rdtime:\n" /* time, or a1 if rdtime traps */
        "  mv a0, a1\n"
        ".globl user_rdtime_insn\n"
        "user_rdtime_insn:\n"
        "  rdtime a0\n"
        "  ecall\n"
        ".globl user_rdcycle\n"
        "user_rdcycle:\n" /* cycle, or a1 if rdcycle traps */
        "  mv a0, a1\n"
        ".globl user_rdcycle_insn\n"
        "user_rdcycle_insn:\n"
        "  rdcycle a0\n"
        "  ecall\n"
        "  .balign 4096\n"
        ".option pop\n"
        ".popsection\n");

/* Callee-saved registers, ra and sp of enter_supervisor's and enter_user's
 * callers (the asm above). */
unsigned long machine_context[14];
unsigned long supervisor_context[14];

static inline uintptr_t user_va(const char *symbol) {
  return UCODE_VA + (uintptr_t)(symbol - user_page);
}

/* ---- checks and reporting ---- */

static unsigned checks_run, checks_failed;

__attribute__((format(printf, 2, 3))) static void report(bool ok, const char *format, ...) {
  va_list args;
  va_start(args, format);
  printf("paging: ");
  vprintf(format, args);
  va_end(args);
  printf(" %s\n", ok ? "ok" : "FAIL");
  checks_run++;
  if (!ok)
    checks_failed++;
}

/* ---- S-mode traps ---- */

/* What the last S-mode trap saw; written by supervisor_trap only. */
static volatile unsigned long trap_count, last_scause, last_stval, last_sepc;
/* The first trap other than ecall taken from U-mode since run_user reset the count. */
static volatile unsigned long user_fault_count, user_fault_scause, user_fault_stval,
    user_fault_sepc;

unsigned long supervisor_trap(struct trap_frame *frame) {
  unsigned long scause = csr_read(scause), sepc = csr_read(sepc);
  last_scause = scause;
  last_stval = csr_read(stval);
  last_sepc = sepc;
  trap_count = trap_count + 1;
  if (!(csr_read(sstatus) & SSTATUS_SPP) && scause != CAUSE_ECALL_FROM_U) {
    if (user_fault_count == 0) {
      user_fault_scause = scause;
      user_fault_stval = last_stval;
      user_fault_sepc = sepc;
    }
    user_fault_count = user_fault_count + 1;
  }
  if (scause & MCAUSE_INTERRUPT) {
    if ((scause & ~MCAUSE_INTERRUPT) == IRQ_S_SOFTWARE)
      csr_clear(sip, SIP_SSIP);
    return sepc;
  }
  switch (scause) {
  case CAUSE_ECALL_FROM_U:
    leave_user(frame->a[0]);
  case CAUSE_FETCH_PAGE_FAULT:
    /* Every fetch probe is a jalr to the page: resume after it. */
    return frame->ra;
  default:
    /* Every probed instruction is 4 bytes (norvc): skip it. */
    return sepc + 4;
  }
}

/* One instruction that may trap, the address it sits at, and what it read. */
struct probe {
  bool trapped;
  uint64_t value;
  uintptr_t pc;
};

static struct probe probe_load(uintptr_t address) {
  unsigned long before = trap_count;
  uint64_t value = SENTINEL;
  uintptr_t pc;
  __asm__ volatile(".option push\n.option norvc\n"
                   "lla %[pc], 1f\n"
                   "1: ld %[value], 0(%[address])\n"
                   ".option pop"
                   : [value] "+r"(value), [pc] "=&r"(pc)
                   : [address] "r"(address)
                   : "memory");
  return (struct probe){trap_count != before, value, pc};
}

static struct probe probe_store(uintptr_t address, uint64_t value) {
  unsigned long before = trap_count;
  uintptr_t pc;
  __asm__ volatile(".option push\n.option norvc\n"
                   "lla %[pc], 1f\n"
                   "1: sd %[value], 0(%[address])\n"
                   ".option pop"
                   : [pc] "=&r"(pc)
                   : [address] "r"(address), [value] "r"(value)
                   : "memory");
  return (struct probe){trap_count != before, value, pc};
}

/* Calls address; the page there holds `ret`. A fault reports sepc = address. */
static struct probe probe_fetch(uintptr_t address) {
  unsigned long before = trap_count;
  __asm__ volatile(".option push\n.option norvc\n"
                   "jalr ra, 0(%[address])\n"
                   ".option pop"
                   :
                   : [address] "r"(address)
                   : "ra", "memory");
  return (struct probe){trap_count != before, 0, address};
}

#define DEFINE_CSR_PROBE(name, csr)                                                                \
  static struct probe name(void) {                                                                 \
    unsigned long before = trap_count;                                                             \
    uint64_t value = SENTINEL;                                                                     \
    uintptr_t pc;                                                                                  \
    __asm__ volatile(".option push\n.option norvc\n"                                               \
                     "lla %[pc], 1f\n"                                                             \
                     "1: csrr %[value], " #csr "\n"                                                \
                     ".option pop"                                                                 \
                     : [value] "+r"(value), [pc] "=&r"(pc)                                         \
                     :                                                                             \
                     : "memory");                                                                  \
    return (struct probe){trap_count != before, value, pc};                                        \
  }
DEFINE_CSR_PROBE(probe_time, time)
DEFINE_CSR_PROBE(probe_cycle, cycle)
DEFINE_CSR_PROBE(probe_mstatus, mstatus)

/* A probe that must trap with cause at pc; stval must be expected_stval
 * unless that is ~0 (illegal instructions may report 0 or the bits). */
#define ANY_STVAL (~0UL)
static void expect_trap(struct probe probe, unsigned long cause, unsigned long expected_stval,
                        const char *what) {
  if (!probe.trapped) {
    report(false, "%s -> no trap", what);
    return;
  }
  bool ok = last_scause == cause && last_sepc == probe.pc &&
            (expected_stval == ANY_STVAL || last_stval == expected_stval);
  if (expected_stval == ANY_STVAL)
    report(ok, "%s -> scause %lu", what, last_scause);
  else
    report(ok, "%s -> scause %lu stval 0x%lx", what, last_scause, last_stval);
  if (last_sepc != probe.pc)
    printf("paging:   sepc 0x%lx, expected 0x%lx\n", last_sepc, (unsigned long)probe.pc);
}

/* A probe that must not trap and must read expected. */
static void expect_value(struct probe probe, uint64_t expected, const char *what) {
  if (probe.trapped)
    report(false, "%s -> scause %lu stval 0x%lx", what, last_scause, last_stval);
  else
    report(probe.value == expected, "%s -> 0x%lx", what, (unsigned long)probe.value);
}

/* ---- page tables ---- */

static inline volatile uint64_t *table(uintptr_t pa) { return (volatile uint64_t *)pa; }
static inline uint64_t pte(uintptr_t pa, unsigned long flags) { return (pa >> 12) << 10 | flags; }
static inline unsigned vpn(uintptr_t va, unsigned level) { return (va >> (12 + 9 * level)) & 511; }

#define KERNEL_FLAGS (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
#define DATA_FLAGS (PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)

static void fill_words(uintptr_t pa, uint64_t value) {
  for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
    table(pa)[i] = value;
}

static void fill_instructions(uintptr_t pa, uint32_t instruction) {
  for (unsigned i = 0; i < PAGE_SIZE / 4; i++)
    ((volatile uint32_t *)pa)[i] = instruction;
}

/* Built in M-mode, where addresses are physical. */
static void build_page_tables(void) {
  for (uintptr_t pa = POOL_PA; pa <= AD_PA; pa += PAGE_SIZE)
    fill_words(pa, 0);
  volatile uint64_t *root = table(ROOT_PA), *l1 = table(L1_PA), *l0 = table(L0_PA);

  /* Identity gigapages: devices (UART, CLINT, sifive_test) and RAM with the kernel. */
  root[vpn(0, 2)] = pte(0, DATA_FLAGS);
  root[vpn(0x80000000UL, 2)] = pte(0x80000000UL, KERNEL_FLAGS);
  /* Non-leaf entries carry V only (4.3.1: A, D and U are reserved there). */
  root[vpn(WINDOW_VA, 2)] = pte(L1_PA, PTE_V);
  l1[vpn(WINDOW_VA, 1)] = pte(L0_PA, PTE_V);
  l1[vpn(MEGA_VA, 1)] = pte(MEGA_PA, DATA_FLAGS);
  l1[vpn(MISALIGNED_MEGA_VA, 1)] = pte(MISALIGNED_MEGA_PA, DATA_FLAGS);

  l0[vpn(DATA_VA, 0)] = pte(DATA_PA, DATA_FLAGS);
  l0[vpn(ALIAS_VA, 0)] = pte(DATA_PA, DATA_FLAGS);
  l0[vpn(RO_VA, 0)] = pte(RO_PA, PTE_V | PTE_R | PTE_A);
  /* UNMAPPED_VA stays 0. */
  l0[vpn(NOEXEC_VA, 0)] = pte(NOEXEC_PA, DATA_FLAGS);
  l0[vpn(XONLY_VA, 0)] = pte(XONLY_PA, PTE_V | PTE_X | PTE_A);
  l0[vpn(UCODE_VA, 0)] = pte((uintptr_t)user_page, PTE_V | PTE_R | PTE_X | PTE_U | PTE_A);
  l0[vpn(UDATA_VA, 0)] = pte(UDATA_PA, DATA_FLAGS | PTE_U);
  l0[vpn(SDATA_VA, 0)] = pte(SDATA_PA, DATA_FLAGS);
  l0[vpn(REMAP_VA, 0)] = pte(REMAP_A_PA, DATA_FLAGS);
  l0[vpn(AD_VA, 0)] = pte(AD_PA, PTE_V | PTE_R | PTE_W);
  /* W without R is reserved (4.3.1). */
  l0[vpn(WONLY_VA, 0)] = pte(DATA_PA, PTE_V | PTE_W | PTE_A | PTE_D);

  fill_words(RO_PA, 0x1111111111111111UL);
  fill_instructions(NOEXEC_PA, RET_INSTRUCTION);
  fill_instructions(XONLY_PA, RET_INSTRUCTION);
  table(XONLY_PA)[0x100 / 8] = 0x0123456789abcdefUL;
  fill_words(UDATA_PA, 0x7777777777777777UL);
  fill_words(SDATA_PA, 0x5555555555555555UL);
  fill_words(REMAP_A_PA, 0xaaaaaaaaaaaaaaaaUL);
  fill_words(REMAP_B_PA, 0xbbbbbbbbbbbbbbbbUL);
  fill_words(AD_PA, 0xadadadadadadadadUL);
  table(MEGA_PA)[0] = 0x4d4d4d4d4d4d4d4dUL;
  table(MEGA_PA + MEGAPAGE_SIZE - 8)[0] = 0x6d6d6d6d6d6d6d6dUL;
  /* The ret instructions just stored are fetched later (Zifencei). */
  __asm__ volatile("fence.i" : : : "memory");
}

static inline void sfence_vma_all(void) { __asm__ volatile("sfence.vma" : : : "memory"); }
static inline void sfence_vma(uintptr_t va) {
  __asm__ volatile("sfence.vma %0, zero" : : "r"(va) : "memory");
}

/* ---- S-mode, first phase: paging off, mcounteren = 0 ---- */

static unsigned long supervisor_bare(void) {
  expect_trap(probe_mstatus(), CAUSE_ILLEGAL_INSTRUCTION, ANY_STVAL,
              "S-mode (mret, satp bare) reads mstatus");
  expect_trap(probe_time(), CAUSE_ILLEGAL_INSTRUCTION, ANY_STVAL, "S rdtime, mcounteren.TM=0");
  expect_trap(probe_cycle(), CAUSE_ILLEGAL_INSTRUCTION, ANY_STVAL, "S rdcycle, mcounteren.CY=0");
  return SUPERVISOR_RESULT;
}

/* ---- S-mode, second phase: Sv39, mcounteren = CY|TM|IR ---- */

static void check_counters_in_supervisor(void) {
  struct probe time = probe_time(), cycle = probe_cycle();
  report(!time.trapped && !cycle.trapped && time.value != SENTINEL && cycle.value != SENTINEL,
         "S rdtime and rdcycle, mcounteren.TM=CY=1 -> no trap");
}

static void check_translation_basics(void) {
  /* volatile: the compiler would otherwise reorder accesses it sees as distinct. */
  volatile uint64_t *data = (uint64_t *)DATA_VA, *alias = (uint64_t *)ALIAS_VA;
  data[0x10] = 0x1122334455667788UL;
  alias[0x11] = 0x99aabbccddeeff00UL;
  bool ok = alias[0x10] == 0x1122334455667788UL && data[0x11] == 0x99aabbccddeeff00UL &&
            table(DATA_PA)[0x10] == 0x1122334455667788UL;
  report(ok, "alias: store via 0x%lx, load via 0x%lx (both -> 0x%lx) -> 0x%lx",
         DATA_VA + 0x80, ALIAS_VA + 0x80, DATA_PA + 0x80, (unsigned long)alias[0x10]);

  uint64_t first = *(volatile uint64_t *)MEGA_VA;
  uint64_t last = *(volatile uint64_t *)(MEGA_VA + MEGAPAGE_SIZE - 8);
  report(first == 0x4d4d4d4d4d4d4d4dUL && last == 0x6d6d6d6d6d6d6d6dUL,
         "megapage 0x%lx -> 0x%lx: first 0x%lx last 0x%lx", MEGA_VA, MEGA_PA,
         (unsigned long)first, (unsigned long)last);

  expect_trap(probe_load(MISALIGNED_MEGA_VA + 0x40), CAUSE_LOAD_PAGE_FAULT,
              MISALIGNED_MEGA_VA + 0x40, "load via misaligned megapage (pa 0x80300000)");
  expect_value(probe_load(RO_VA + 8), 0x1111111111111111UL, "load from read-only page");
  expect_trap(probe_store(RO_VA + 8, 0x2222), CAUSE_STORE_PAGE_FAULT, RO_VA + 8,
              "store to read-only page");
  report(table(RO_PA)[1] == 0x1111111111111111UL, "read-only page unchanged");
  expect_trap(probe_load(UNMAPPED_VA + 0x10), CAUSE_LOAD_PAGE_FAULT, UNMAPPED_VA + 0x10,
              "load from unmapped page");
  expect_trap(probe_store(UNMAPPED_VA + 0x18, 1), CAUSE_STORE_PAGE_FAULT, UNMAPPED_VA + 0x18,
              "store to unmapped page");
  expect_trap(probe_load(NONCANONICAL_VA), CAUSE_LOAD_PAGE_FAULT, NONCANONICAL_VA,
              "load from non-canonical address");
  expect_trap(probe_load(WONLY_VA), CAUSE_LOAD_PAGE_FAULT, WONLY_VA,
              "load via reserved W-without-R PTE");
}

static void check_execute_permissions(void) {
  expect_trap(probe_fetch(NOEXEC_VA), CAUSE_FETCH_PAGE_FAULT, NOEXEC_VA,
              "fetch from non-executable page");
  struct probe run = probe_fetch(XONLY_VA);
  report(!run.trapped, "fetch from execute-only page -> runs");

  expect_trap(probe_load(XONLY_VA + 0x100), CAUSE_LOAD_PAGE_FAULT, XONLY_VA + 0x100,
              "load from execute-only page, MXR=0");
  csr_set(sstatus, SSTATUS_MXR);
  expect_value(probe_load(XONLY_VA + 0x100), 0x0123456789abcdefUL,
               "load from execute-only page, MXR=1");
  csr_clear(sstatus, SSTATUS_MXR);
}

static void check_user_page_from_supervisor(void) {
  expect_trap(probe_load(UDATA_VA), CAUSE_LOAD_PAGE_FAULT, UDATA_VA, "S load from U page, SUM=0");
  expect_trap(probe_store(UDATA_VA, 1), CAUSE_STORE_PAGE_FAULT, UDATA_VA,
              "S store to U page, SUM=0");
  csr_set(sstatus, SSTATUS_SUM);
  expect_value(probe_load(UDATA_VA), 0x7777777777777777UL, "S load from U page, SUM=1");
  expect_trap(probe_fetch(UCODE_VA), CAUSE_FETCH_PAGE_FAULT, UCODE_VA,
              "S fetch from U page, SUM=1");
  csr_clear(sstatus, SSTATUS_SUM);
}

static void check_accessed_dirty(void) {
  volatile uint64_t *entry = &table(L0_PA)[vpn(AD_VA, 0)];
  uint64_t before = *entry;
  struct probe read = probe_load(AD_VA);
  uint64_t after_read = *entry;
  struct probe write = probe_store(AD_VA + 8, 0x1234);
  uint64_t after_write = *entry;
  bool ok = !read.trapped && read.value == 0xadadadadadadadadUL && !write.trapped &&
            table(AD_PA)[1] == 0x1234 && (before & (PTE_A | PTE_D)) == 0 &&
            (after_read & (PTE_A | PTE_D)) == PTE_A &&
            (after_write & (PTE_A | PTE_D)) == (PTE_A | PTE_D);
  if (read.trapped || write.trapped)
    printf("paging:   the load or store trapped: scause %lu stval 0x%lx\n", last_scause,
           last_stval);
  report(ok, "A/D of 0x%lx: before a=%lu d=%lu, after load a=%lu d=%lu, after store a=%lu d=%lu",
         AD_VA, (unsigned long)(before >> 6) & 1, (unsigned long)(before >> 7) & 1,
         (unsigned long)(after_read >> 6) & 1, (unsigned long)(after_read >> 7) & 1,
         (unsigned long)(after_write >> 6) & 1, (unsigned long)(after_write >> 7) & 1);
}

static void check_remap(void) {
  uint64_t old_value = *(volatile uint64_t *)REMAP_VA;
  table(L0_PA)[vpn(REMAP_VA, 0)] = pte(REMAP_B_PA, DATA_FLAGS);
  sfence_vma(REMAP_VA);
  uint64_t new_value = *(volatile uint64_t *)REMAP_VA;
  report(old_value == 0xaaaaaaaaaaaaaaaaUL && new_value == 0xbbbbbbbbbbbbbbbbUL,
         "remap 0x%lx from 0x%lx to 0x%lx, sfence.vma: 0x%lx then 0x%lx", REMAP_VA, REMAP_A_PA,
         REMAP_B_PA, (unsigned long)old_value, (unsigned long)new_value);
}

/* Runs U-mode code; records the first non-ecall trap it took on the way. */
static struct probe run_user(const char *routine, const char *faulting_insn, unsigned long a0,
                             unsigned long a1) {
  user_fault_count = 0;
  unsigned long before = trap_count;
  unsigned long result = enter_user(user_va(routine), a0, a1);
  bool clean_exit = trap_count == before + 1 + user_fault_count &&
                    last_scause == CAUSE_ECALL_FROM_U;
  if (!clean_exit)
    report(false, "U routine at 0x%lx did not end in one ecall", user_va(routine));
  return (struct probe){user_fault_count != 0, result,
                        faulting_insn ? user_va(faulting_insn) : 0};
}

static void expect_user_trap(struct probe probe, unsigned long cause, unsigned long expected_stval,
                             const char *what) {
  if (!probe.trapped) {
    report(false, "%s -> no trap", what);
    return;
  }
  bool ok = user_fault_count == 1 && user_fault_scause == cause && user_fault_sepc == probe.pc &&
            (expected_stval == ANY_STVAL || user_fault_stval == expected_stval);
  if (expected_stval == ANY_STVAL)
    report(ok, "%s -> scause %lu sepc 0x%lx", what, user_fault_scause, user_fault_sepc);
  else
    report(ok, "%s -> scause %lu stval 0x%lx sepc 0x%lx", what, user_fault_scause,
           user_fault_stval, user_fault_sepc);
}

static void check_user_mode(void) {
  unsigned long before = trap_count;
  unsigned long result = enter_user(user_va(user_ecall), 41, 0);
  report(result == 42 && trap_count == before + 1 && last_scause == CAUSE_ECALL_FROM_U &&
             last_sepc == user_va(user_ecall_insn),
         "sret to U at 0x%lx, ecall -> scause %lu sepc 0x%lx, a0 %lu", user_va(user_ecall),
         last_scause, last_sepc, result);

  struct probe load = run_user(user_load, user_load_insn, UDATA_VA + 8, SENTINEL);
  report(!load.trapped && load.value == 0x7777777777777777UL, "U load from U page 0x%lx -> 0x%lx",
         UDATA_VA + 8, (unsigned long)load.value);

  struct probe store = run_user(user_store, NULL, UDATA_VA + 16, 0x0badc0de);
  report(!store.trapped && table(UDATA_PA)[2] == 0x0badc0de, "U store to U page 0x%lx -> 0x%lx",
         UDATA_VA + 16, (unsigned long)table(UDATA_PA)[2]);

  expect_user_trap(run_user(user_load, user_load_insn, SDATA_VA + 8, SENTINEL),
                   CAUSE_LOAD_PAGE_FAULT, SDATA_VA + 8, "U load from S page");
  expect_user_trap(run_user(user_store, user_store, RO_VA, 1), CAUSE_STORE_PAGE_FAULT, RO_VA,
                   "U store to S read-only page");
}

static void check_user_counters(void) {
  csr_write(scounteren, 0);
  expect_user_trap(run_user(user_rdtime, user_rdtime_insn, 0, SENTINEL),
                   CAUSE_ILLEGAL_INSTRUCTION, ANY_STVAL, "U rdtime, scounteren.TM=0");
  expect_user_trap(run_user(user_rdcycle, user_rdcycle_insn, 0, SENTINEL),
                   CAUSE_ILLEGAL_INSTRUCTION, ANY_STVAL, "U rdcycle, scounteren.CY=0");
  csr_write(scounteren, COUNTEREN_CY | COUNTEREN_TM | COUNTEREN_IR);
  struct probe time = run_user(user_rdtime, user_rdtime_insn, 0, SENTINEL);
  struct probe cycle = run_user(user_rdcycle, user_rdcycle_insn, 0, SENTINEL);
  report(!time.trapped && !cycle.trapped && time.value != SENTINEL && cycle.value != SENTINEL,
         "U rdtime and rdcycle, scounteren.TM=CY=1 -> no trap");
}

/* 4.1.3: SSIP set by software is taken in S-mode once sstatus.SIE allows it. */
static void check_software_interrupt(void) {
  csr_set(sie, SIE_SSIE);
  unsigned long before = trap_count;
  csr_set(sip, SIP_SSIP);
  bool pending = csr_read(sip) & SIP_SSIP;
  bool held = trap_count == before;
  /* Taken right after the write that enables it, so sepc is the next instruction. */
  uintptr_t next;
  __asm__ volatile(".option push\n.option norvc\n"
                   "lla %[next], 1f\n"
                   "csrs sstatus, %[sie]\n"
                   "1: nop\n"
                   ".option pop"
                   : [next] "=&r"(next)
                   : [sie] "r"(SSTATUS_SIE)
                   : "memory");
  csr_clear(sstatus, SSTATUS_SIE);
  bool taken = trap_count == before + 1 && last_sepc == next;
  csr_clear(sie, SIE_SSIE);
  if (last_sepc != next)
    printf("paging:   sepc 0x%lx, expected 0x%lx\n", last_sepc, (unsigned long)next);
  report(pending && held && taken && last_scause == (MCAUSE_INTERRUPT | IRQ_S_SOFTWARE) &&
             !(csr_read(sip) & SIP_SSIP),
         "sip.SSIP pending with SIE=0, taken with SIE=1 -> scause 0x%lx", last_scause);
}

static unsigned long supervisor_paging(void) {
  check_counters_in_supervisor();
  csr_clear(sstatus, SSTATUS_SUM | SSTATUS_MXR);

  unsigned long satp = SATP_MODE_SV39 | (ROOT_PA >> 12);
  csr_write(satp, satp);
  sfence_vma_all();
  report(csr_read(satp) == satp, "satp 0x%lx (Sv39), S-mode runs via identity gigapage 0x80000000",
         csr_read(satp));

  check_translation_basics();
  check_execute_permissions();
  check_user_page_from_supervisor();
  check_accessed_dirty();
  check_remap();
  check_user_mode();
  check_user_counters();
  check_software_interrupt();
  return SUPERVISOR_RESULT;
}

/* ---- M-mode ---- */

static volatile unsigned long machine_ecall_cause, machine_ecall_epc;

unsigned long on_exception(unsigned long mcause, unsigned long mepc, unsigned long mtval) {
  if (mcause == CAUSE_ECALL_FROM_S) {
    machine_ecall_cause = mcause;
    machine_ecall_epc = mepc;
    /* mret to the landing in M-mode, which returns from enter_supervisor. */
    csr_clear(mstatus, MSTATUS_MPP_MASK);
    csr_set(mstatus, MSTATUS_MPP_M);
    return (unsigned long)supervisor_landing;
  }
  printf("paging: unexpected M-mode trap mcause %lu mepc 0x%lx mtval 0x%lx FAIL\n", mcause, mepc,
         mtval);
  exit_with_code(1);
}

/* 3.1.6.3: with mstatus.MPRV, M-mode loads translate as if in mode MPP. */
static void check_modify_privilege(void) {
  csr_clear(mstatus, MSTATUS_MPP_MASK);
  csr_set(mstatus, MSTATUS_MPP_S);
  uint64_t value;
  __asm__ volatile("csrs mstatus, %[mprv]\n"
                   "ld %[value], 0(%[address])\n"
                   "csrc mstatus, %[mprv]"
                   : [value] "=&r"(value)
                   : [mprv] "r"(MSTATUS_MPRV), [address] "r"(ALIAS_VA + 0x80)
                   : "memory");
  csr_set(mstatus, MSTATUS_MPP_M);
  report(value == 0x1122334455667788UL, "M load with MPRV=1 MPP=S via 0x%lx -> 0x%lx",
         ALIAS_VA + 0x80, (unsigned long)value);
}

static void expect_machine_ecall(unsigned long result, const char *phase) {
  report(result == SUPERVISOR_RESULT && machine_ecall_cause == CAUSE_ECALL_FROM_S &&
             machine_ecall_epc == (unsigned long)supervisor_ecall,
         "%s: ecall from S -> mcause %lu", phase, machine_ecall_cause);
}

int main(void) {
  csr_write(pmpaddr0, PMP_ADDR_ALL);
  csr_write(pmpcfg0, PMP_R | PMP_W | PMP_X | PMP_A_NAPOT);
  unsigned long pmpcfg0 = csr_read(pmpcfg0), pmpaddr0 = csr_read(pmpaddr0);
  report(pmpcfg0 == 0x1f && pmpaddr0 == PMP_ADDR_ALL,
         "pmpcfg0 0x%lx pmpaddr0 0x%lx (NAPOT, all memory, RWX)", pmpcfg0, pmpaddr0);

  csr_write(medeleg, DELEGATED_EXCEPTIONS);
  csr_write(mideleg, SIP_SSIP);
  unsigned long medeleg = csr_read(medeleg), mideleg = csr_read(mideleg);
  report(medeleg == DELEGATED_EXCEPTIONS && (mideleg & SIP_SSIP),
         "medeleg 0x%lx, mideleg.SSIP %lu", medeleg, (mideleg >> IRQ_S_SOFTWARE) & 1);

  build_page_tables();
  printf("paging: page tables at 0x%lx, window 0x%lx, megapage 0x%lx -> 0x%lx\n", ROOT_PA,
         WINDOW_VA, MEGA_VA, MEGA_PA);

  csr_write(stvec, supervisor_trap_entry);
  csr_write(satp, 0);
  csr_write(mcounteren, 0);
  csr_write(scounteren, 0);
  expect_machine_ecall(enter_supervisor(supervisor_bare), "phase 1");

  csr_write(mcounteren, COUNTEREN_CY | COUNTEREN_TM | COUNTEREN_IR);
  expect_machine_ecall(enter_supervisor(supervisor_paging), "phase 2");
  check_modify_privilege();

  if (checks_failed) {
    printf("paging: FAIL, %u of %u checks failed\n", checks_failed, checks_run);
    return 1;
  }
  printf("paging: all %u checks passed\n", checks_run);
  return 0;
}
