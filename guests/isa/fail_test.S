/* Fails on purpose at check 3, so a harness can see that a failure is
 * reported: tohost receives (3 << 1) | 1 = 7. */
#include "test.h"

TEST_START
  TEST_RI(2, addi, 2, 1, 1)
  TEST_RI(3, addi, 3, 1, 1)   /* 1 + 1 is not 3 */
  j pass
TEST_END
