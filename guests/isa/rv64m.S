/* M extension: products and their high halves in all signednesses, and
 * division with the spec's fixed results for division by zero (quotient all
 * ones, remainder the dividend) and signed overflow (quotient the dividend,
 * remainder zero), in 64-bit and W forms. */
#include "test.h"

#define INT64_MIN 0x8000000000000000

TEST_START
  .option norvc

  /* Products. */
  TEST_RR(2, mul, 21, 3, 7)
  TEST_RR(3, mul, 1, -1, -1)
  TEST_RR(4, mul, 0xfffffffffffffffe, 0x7fffffffffffffff, 2)
  TEST_RR(5, mulh, 0x4000000000000000, INT64_MIN, INT64_MIN)
  TEST_RR(6, mulh, -1, -1, 1)
  TEST_RR(7, mulh, 0, -1, -1)
  TEST_RR(8, mulh, 0x3fffffffffffffff, 0x7fffffffffffffff, 0x7fffffffffffffff)
  TEST_RR(9, mulhu, 0xfffffffffffffffe, -1, -1)
  TEST_RR(10, mulhu, 0, 0x100000000, 0xffffffff)
  TEST_RR(11, mulhsu, -1, -1, -1)             /* -1 * (2^64 - 1) */
  TEST_RR(12, mulhsu, 1, 2, INT64_MIN)        /* 2 * 2^63 */
  TEST_RR(13, mulhsu, -1, -2, 3)
  TEST_RR(14, mulw, 0xfffffffffffffffe, 0x7fffffff, 2)
  TEST_RR(15, mulw, 15, 0x100000003, 0x100000005)

  /* Quotients round towards zero; remainders take the dividend's sign. */
  TEST_RR(16, div, 3, 20, 6)
  TEST_RR(17, div, -3, -20, 6)
  TEST_RR(18, div, -3, 20, -6)
  TEST_RR(19, rem, -2, -20, 6)
  TEST_RR(20, rem, 2, 20, -6)
  TEST_RR(21, divu, 0x2aaaaaaaaaaaaaa7, -20, 6)
  TEST_RR(22, remu, 2, -20, 6)

  /* Division by zero. */
  TEST_RR(23, div, -1, 42, 0)
  TEST_RR(24, divu, -1, 42, 0)
  TEST_RR(25, rem, 42, 42, 0)
  TEST_RR(26, remu, -42, -42, 0)
  TEST_RR(27, divw, -1, 42, 0)
  TEST_RR(28, divuw, -1, 42, 0)                /* 0xffffffff, sign-extended */
  TEST_RR(29, remw, -42, -42, 0)
  TEST_RR(30, remuw, 0xffffffff80000000, 0x80000000, 0)

  /* Signed overflow. */
  TEST_RR(31, div, INT64_MIN, INT64_MIN, -1)
  TEST_RR(32, rem, 0, INT64_MIN, -1)
  TEST_RR(33, divw, 0xffffffff80000000, 0x80000000, -1)
  TEST_RR(34, remw, 0, 0x80000000, -1)

  /* W forms read only the low 32 bits and sign-extend the result. */
  TEST_RR(35, divw, 3, 0x100000014, 0x100000006)
  TEST_RR(36, divuw, -1, 0xffffffff, 1)
  TEST_RR(37, divuw, 0x7fffffff, 0xfffffffe, 2)
  TEST_RR(38, remw, -2, 0xffffffffffffffec, 6)
  TEST_RR(39, remuw, 2, 0xffffffec, 6)

  j pass
TEST_END
