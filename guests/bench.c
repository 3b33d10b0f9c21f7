/* A fixed compute workload with an exact instruction count, for measuring
 * interpreter speed. Bootargs: work=alu|mem|mix (default alu) and iters=N
 * (default: about 100 million instructions). Prints
 *   bench: work=W iters=N instructions=M result=0x...
 * and powers off. M counts the instructions the kernel executes, from its
 * first instruction through its ret; it is a*N + b with a and b fixed by the
 * assembly below. Timing two runs with different N and dividing the difference
 * in M by the difference in time gives MIPS free of boot and exit costs.
 * result is a checksum of the kernel's output, the same on every correct
 * machine. */
#include "runtime.h"

/* Kernels in assembly, so the instruction counts are exact. They use only
 * caller-saved registers. Each count below is what the code executes for
 * iters = N, for any N including 0. */

/* alu: xorshift64 on a1, summed into a2; register-only.
 * 2 before the loop, 9 per iteration, 2 after: 9N + 4. */
uint64_t bench_alu(uint64_t iters, uint64_t seed);
#define ALU_PER_ITERATION 9
#define ALU_FIXED 4

/* mem: walks an array of 2^k bytes (a3 = 2^k - 1) with a stride of a2 bytes,
 * loading two words 64 bytes apart and storing one; needs 64 bytes past the
 * end. 3 before the loop, 11 per iteration, 2 after: 11N + 5. */
uint64_t bench_mem(uint64_t iters, uint64_t *array, uint64_t stride_bytes, uint64_t mask);
#define MEM_PER_ITERATION 11
#define MEM_FIXED 5

/* mix: per iteration one multiply-xorshift hash step, two bitwise CRC-64 steps
 * fed by the hash, and a branch-free compare-and-exchange of neighbours in a
 * 257-word array (one step of a bubble sort, after mixing the CRC into the
 * first word). 5 before the loop, 30 per iteration, 2 after: 30N + 7. */
uint64_t bench_mix(uint64_t iters, uint64_t *array, uint64_t polynomial, uint64_t multiplier);
#define MIX_PER_ITERATION 30
#define MIX_FIXED 7

__asm__(".pushsection .text.bench_kernels, \"ax\", @progbits\n"
        ".balign 4\n"
        ".globl bench_alu\n"
        "bench_alu:\n"
        "  li a2, 0\n"
        "  beqz a0, 2f\n"
        "1:\n"
        "  slli t1, a1, 13\n"
        "  xor a1, a1, t1\n"
        "  srli t1, a1, 7\n"
        "  xor a1, a1, t1\n"
        "  slli t1, a1, 17\n"
        "  xor a1, a1, t1\n"
        "  add a2, a2, a1\n"
        "  addi a0, a0, -1\n"
        "  bnez a0, 1b\n"
        "2:\n"
        "  mv a0, a2\n"
        "  ret\n"

        ".balign 4\n"
        ".globl bench_mem\n"
        "bench_mem:\n"
        "  li t0, 0\n" /* offset into the array */
        "  li a5, 0\n" /* checksum */
        "  beqz a0, 2f\n"
        "1:\n"
        "  add t2, a1, t0\n"
        "  ld t3, 0(t2)\n"
        "  ld t4, 64(t2)\n"
        "  add t3, t3, t4\n"
        "  xor t3, t3, t0\n"
        "  sd t3, 0(t2)\n"
        "  add a5, a5, t3\n"
        "  add t0, t0, a2\n"
        "  and t0, t0, a3\n"
        "  addi a0, a0, -1\n"
        "  bnez a0, 1b\n"
        "2:\n"
        "  mv a0, a5\n"
        "  ret\n"

        ".balign 4\n"
        ".globl bench_mix\n"
        "bench_mix:\n"
        "  li t0, 0\n"    /* offset of the pair to compare */
        "  li a4, -1\n"   /* CRC */
        "  li a5, 1\n"    /* hash state */
        "  li a6, 2040\n" /* offsets 0, 8, ..., 2040: pairs in 257 words */
        "  beqz a0, 2f\n"
        "1:\n"
        "  srli t1, a5, 29\n"
        "  xor a5, a5, t1\n"
        "  mul a5, a5, a3\n"
        "  xor a4, a4, a5\n"
        "  andi t1, a4, 1\n"
        "  neg t1, t1\n"
        "  and t1, t1, a2\n"
        "  srli a4, a4, 1\n"
        "  xor a4, a4, t1\n"
        "  andi t1, a4, 1\n"
        "  neg t1, t1\n"
        "  and t1, t1, a2\n"
        "  srli a4, a4, 1\n"
        "  xor a4, a4, t1\n"
        "  add t2, a1, t0\n"
        "  ld t3, 0(t2)\n"
        "  ld t4, 8(t2)\n"
        "  xor t3, t3, a4\n"
        "  sltu t5, t4, t3\n"
        "  neg t5, t5\n"
        "  xor t6, t3, t4\n"
        "  and t6, t6, t5\n"
        "  xor t3, t3, t6\n"
        "  xor t4, t4, t6\n"
        "  sd t3, 0(t2)\n"
        "  sd t4, 8(t2)\n"
        "  addi t0, t0, 8\n"
        "  and t0, t0, a6\n"
        "  addi a0, a0, -1\n"
        "  bnez a0, 1b\n"
        "2:\n"
        "  xor a0, a4, a5\n"
        "  ret\n"
        ".popsection\n");

#define MEM_ARRAY_BYTES (4UL << 20)
#define MEM_STRIDE_BYTES 72 /* nine words: odd, so every word is visited */
#define MIX_ARRAY_WORDS 257

static uint64_t mem_array[(MEM_ARRAY_BYTES + 64) / 8] __attribute__((aligned(64)));
static uint64_t mix_array[MIX_ARRAY_WORDS];

static uint64_t checksum(const uint64_t *words, size_t count) {
  uint64_t sum = 0;
  for (size_t i = 0; i < count; i++)
    sum = (sum << 7 | sum >> 57) ^ words[i];
  return sum;
}

static uint64_t run_alu(uint64_t iters) { return bench_alu(iters, 0x9e3779b97f4a7c15UL); }

static uint64_t run_mem(uint64_t iters) {
  uint64_t result = bench_mem(iters, mem_array, MEM_STRIDE_BYTES, MEM_ARRAY_BYTES - 1);
  return result ^ checksum(mem_array, MEM_ARRAY_BYTES / 8);
}

static uint64_t run_mix(uint64_t iters) {
  /* The reflected CRC-64/ECMA-182 polynomial; splitmix64's multiplier. */
  uint64_t result = bench_mix(iters, mix_array, 0xc96c5795d7870f42UL, 0xbf58476d1ce4e5b9UL);
  return result ^ checksum(mix_array, MIX_ARRAY_WORDS);
}

struct kernel {
  const char *name;
  uint64_t (*run)(uint64_t iters);
  uint64_t per_iteration, fixed; /* instructions = per_iteration * N + fixed */
  uint64_t default_iters;
};

static const struct kernel kernels[] = {
    {"alu", run_alu, ALU_PER_ITERATION, ALU_FIXED, 10000000},
    {"mem", run_mem, MEM_PER_ITERATION, MEM_FIXED, 10000000},
    {"mix", run_mix, MIX_PER_ITERATION, MIX_FIXED, 4000000},
};

int main(void) {
  char work[8];
  arg_str("work", work, sizeof work, "alu");
  const struct kernel *kernel = 0;
  for (size_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++) {
    if (strcmp(work, kernels[i].name) == 0)
      kernel = &kernels[i];
  }
  if (!kernel) {
    printf("bench: unknown work=%s (alu, mem or mix)\n", work);
    return 1;
  }
  uint64_t iters = arg_uint("iters", kernel->default_iters);

  uint64_t result = kernel->run(iters);
  printf("bench: work=%s iters=%lu instructions=%lu result=0x%016lx\n", kernel->name,
         (unsigned long)iters, (unsigned long)(kernel->per_iteration * iters + kernel->fixed),
         (unsigned long)result);
  return 0;
}
