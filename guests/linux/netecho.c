/* netecho PORT: the Linux guest's TCP echo server. Every byte a client
 * sends comes back unchanged, on as many connections as clients open (one
 * process each), so a host-side client can stream checksummed data through
 * the guest's network while the guest is moved, and prove that nothing was
 * lost, repeated or reordered.
 *
 * Console lines start with "netecho: ": "listening on PORT", and per
 * connection "closed after N bytes" (or the error that ended it).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int write_all(int fd, const char *data, size_t length) {
  while (length > 0) {
    const ssize_t n = write(fd, data, length);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    data += n;
    length -= (size_t)n;
  }
  return 0;
}

static void serve(int fd) {
  static char buffer[65536];
  unsigned long long total = 0;
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      printf("netecho: read failed after %llu bytes: %s\n", total, strerror(errno));
      break;
    }
    if (n == 0) {
      printf("netecho: closed after %llu bytes\n", total);
      break;
    }
    if (write_all(fd, buffer, (size_t)n) != 0) {
      printf("netecho: write failed after %llu bytes: %s\n", total, strerror(errno));
      break;
    }
    total += (unsigned long long)n;
  }
  fflush(stdout);
  close(fd);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: netecho PORT\n");
    return 2;
  }
  signal(SIGCHLD, SIG_IGN); /* no zombies */
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in address;
  memset(&address, 0, sizeof address);
  address.sin_family = AF_INET;
  address.sin_port = htons((unsigned short)atoi(argv[1]));
  if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 16) != 0) {
    printf("netecho: cannot listen on %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  printf("netecho: listening on %s\n", argv[1]);
  fflush(stdout);
  for (;;) {
    const int fd = accept(listener, NULL, NULL);
    if (fd < 0) continue;
    if (fork() == 0) {
      close(listener);
      serve(fd);
      _exit(0);
    }
    close(fd);
  }
}
