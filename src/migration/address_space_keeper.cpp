#include "migration/address_space_keeper.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <thread>

namespace godwit {
namespace {

// The keeper runs on this stack in the shared address space, one at a time
// (one migration runs at a time). It makes raw system calls only: it shares
// the memory of a process whose threads go on running until the exec.
alignas(64) char keeper_stack[16384];
int keeper_wait_fd = -1;
int keeper_wake_fd = -1;

__attribute__((no_sanitize("address", "undefined"))) int keeper_main(void*) {
  ::syscall(SYS_close, keeper_wake_fd);
  char byte;
  for (;;) {
    const long n = ::syscall(SYS_read, keeper_wait_fd, &byte, 1);
    if (n == 0 || (n < 0 && n != -EINTR)) break;
  }
  ::syscall(SYS_exit, 0);
  return 0;
}

}  // namespace

AddressSpaceKeeper AddressSpaceKeeper::start() {
  AddressSpaceKeeper keeper;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return keeper;
  keeper_wait_fd = fds[0];
  keeper_wake_fd = fds[1];
  // Exit signal 0: no SIGCHLD; waitpid() needs __WALL for it.
  const pid_t pid = ::clone(keeper_main, keeper_stack + sizeof keeper_stack, CLONE_VM | CLONE_UNTRACED, nullptr);
  ::close(fds[0]);
  if (pid < 0) {
    ::close(fds[1]);
    return keeper;
  }
  keeper.pid_ = pid;
  keeper.wake_fd_ = fds[1];
  ::setenv(kCprExecKeeperEnv, std::to_string(pid).c_str(), 1);
  return keeper;
}

void AddressSpaceKeeper::release() {
  if (pid_ < 0) return;
  ::unsetenv(kCprExecKeeperEnv);
  ::close(wake_fd_);
  while (::waitpid(pid_, nullptr, __WALL) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  wake_fd_ = -1;
}

void reap_address_space_keeper() {
  const char* value = std::getenv(kCprExecKeeperEnv);
  if (value == nullptr) return;
  char* end = nullptr;
  const long pid = std::strtol(value, &end, 10);
  ::unsetenv(kCprExecKeeperEnv);
  if (end == value || *end != '\0' || pid <= 0) return;
  // Signals stay with the threads that handle them: this one blocks all.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  std::thread([pid] {
    while (::waitpid(static_cast<pid_t>(pid), nullptr, __WALL) < 0 && errno == EINTR) {
    }
  }).detach();
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

}  // namespace godwit
