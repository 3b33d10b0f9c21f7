/* The Linux guest workload: a small program whose effects a host can verify
 * after the guest has been migrated or checkpointed while it ran.
 *
 *   workload DIR [RECORDS [DIRTY_MIB [PRINT_EVERY [SYNC_EVERY]]]]
 *
 * It appends fixed-size records to DIR/records.bin, numbered 0, 1, 2, ...,
 * each with a payload derived from its number and a checksum, and fsyncs every
 * SYNC_EVERY records, so scripts/check-disk.py can later prove from the disk
 * image alone that no record was lost, repeated, torn or corrupted. Between
 * records it rewrites a DIRTY_MIB MiB buffer, touching every 4 KiB page, so
 * migration always has dirty pages to send; before each rewrite it checks the
 * values the previous pass left, so a page lost or corrupted in transit is
 * caught in the guest too. RECORDS 0 means run until killed; otherwise it
 * stops after RECORDS records and exits 0 (1 on any error).
 *
 * Console lines (each starts with "workload: "): "started ...", "record N"
 * every PRINT_EVERY records, "done N records", or "error: ..." on failure.
 *
 * Record layout (128 bytes, little-endian, matches scripts/check-disk.py):
 *   0   u32 magic 0x31525747 ("GWR1")
 *   4   u32 record size (128)
 *   8   u64 sequence number
 *   16  104 bytes of payload: 13 u64 words, word i = mix64(seq * 16 + i)
 *   120 u64 FNV-1a 64 of bytes 0..119
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
  RECORD_SIZE = 128,
  PAYLOAD_WORDS = 13,
  PAGE_SIZE = 4096,
  WORDS_CHECKED_PER_PAGE = 8,
};

static const uint32_t RECORD_MAGIC = 0x31525747u;

struct record {
  uint32_t magic;
  uint32_t size;
  uint64_t seq;
  uint64_t payload[PAYLOAD_WORDS];
  uint64_t checksum;
};
_Static_assert(sizeof(struct record) == RECORD_SIZE, "record layout");

/* splitmix64's finaliser: a cheap bijective mixer, easy to repeat on the host. */
static uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static uint64_t fnv1a64(const void *data, size_t size) {
  const unsigned char *bytes = data;
  uint64_t hash = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size; i++) {
    hash ^= bytes[i];
    hash *= 0x100000001b3ull;
  }
  return hash;
}

static void make_record(struct record *r, uint64_t seq) {
  r->magic = RECORD_MAGIC;
  r->size = RECORD_SIZE;
  r->seq = seq;
  for (uint64_t i = 0; i < PAYLOAD_WORDS; i++)
    r->payload[i] = mix64(seq * 16 + i);
  r->checksum = fnv1a64(r, offsetof(struct record, checksum));
}

/* The value a pass writes to a word of the buffer: differs per pass, page and word. */
static uint64_t dirty_value(uint64_t pass, uint64_t page, uint64_t word) {
  return mix64((pass << 40) ^ (page << 8) ^ word);
}

/* Checks what the previous pass wrote, then writes this pass's values. Returns
 * the index of the first page whose words were wrong, or -1. */
static long dirty_pass(uint64_t *buffer, size_t pages, uint64_t pass) {
  const size_t words_per_page = PAGE_SIZE / sizeof(uint64_t);
  long bad_page = -1;
  for (size_t page = 0; page < pages; page++) {
    uint64_t *words = buffer + page * words_per_page;
    for (size_t w = 0; w < WORDS_CHECKED_PER_PAGE; w++) {
      if (pass > 0 && bad_page < 0 && words[w] != dirty_value(pass - 1, page, w))
        bad_page = (long)page;
      words[w] = dirty_value(pass, page, w);
    }
  }
  return bad_page;
}

static int write_all(int fd, const void *data, size_t size) {
  const char *bytes = data;
  while (size > 0) {
    ssize_t n = write(fd, bytes, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    bytes += n;
    size -= (size_t)n;
  }
  return 0;
}

static unsigned long parse_count(const char *text, const char *what) {
  char *end = NULL;
  errno = 0;
  unsigned long value = strtoul(text, &end, 0);
  if (errno != 0 || end == text || *end != '\0') {
    printf("workload: error: %s must be a number, got '%s'\n", what, text);
    exit(1);
  }
  return value;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 6) {
    printf("workload: usage: workload DIR [RECORDS [DIRTY_MIB [PRINT_EVERY [SYNC_EVERY]]]]\n");
    return 1;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *dir = argv[1];
  unsigned long records = argc > 2 ? parse_count(argv[2], "RECORDS") : 0;
  unsigned long dirty_mib = argc > 3 ? parse_count(argv[3], "DIRTY_MIB") : 4;
  unsigned long print_every = argc > 4 ? parse_count(argv[4], "PRINT_EVERY") : 100;
  unsigned long sync_every = argc > 5 ? parse_count(argv[5], "SYNC_EVERY") : 1;
  if (print_every == 0)
    print_every = 1;
  if (sync_every == 0)
    sync_every = 1;

  size_t pages = dirty_mib * (1024 * 1024 / PAGE_SIZE);
  uint64_t *buffer = NULL;
  if (pages > 0 && posix_memalign((void **)&buffer, PAGE_SIZE, pages * PAGE_SIZE) != 0) {
    printf("workload: error: cannot allocate %lu MiB\n", dirty_mib);
    return 1;
  }

  char path[4096];
  snprintf(path, sizeof path, "%s/records.bin", dir);
  /* O_EXCL: a second start on the same disk would restart numbering at 0. */
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0644);
  if (fd < 0) {
    printf("workload: error: cannot create %s: %s\n", path, strerror(errno));
    return 1;
  }
  printf("workload: started records=%lu dirty_mib=%lu print_every=%lu sync_every=%lu file=%s\n",
         records, dirty_mib, print_every, sync_every, path);

  for (uint64_t seq = 0; records == 0 || seq < records; seq++) {
    struct record r;
    make_record(&r, seq);
    if (write_all(fd, &r, sizeof r) != 0) {
      printf("workload: error: write of record %llu: %s\n", (unsigned long long)seq,
             strerror(errno));
      return 1;
    }
    if ((seq + 1) % sync_every == 0 && fsync(fd) != 0) {
      printf("workload: error: fsync after record %llu: %s\n", (unsigned long long)seq,
             strerror(errno));
      return 1;
    }
    if (pages > 0) {
      long bad = dirty_pass(buffer, pages, seq);
      if (bad >= 0) {
        printf("workload: error: memory page %ld of the dirty buffer changed behind our back "
               "before record %llu\n", bad, (unsigned long long)seq);
        return 1;
      }
    }
    if (seq % print_every == 0)
      printf("workload: record %llu\n", (unsigned long long)seq);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    printf("workload: error: final fsync/close: %s\n", strerror(errno));
    return 1;
  }
  printf("workload: done %lu records\n", records);
  return 0;
}
