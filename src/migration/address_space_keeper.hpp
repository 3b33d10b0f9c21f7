// cpr-exec: keeping the old address space's teardown out of the guest pause.
//
// execve() tears the old program's address space down before the new
// program runs, and that costs about 250 ns for every guest page the old
// program had mapped (measured here: 4 ms for 64 MiB of touched RAM, 32 ms
// for 1 GiB), all of it inside the guest's pause, growing with RAM. A
// keeper is a process that shares the address space (clone with CLONE_VM,
// outside the thread group) and so holds a reference to it across the exec:
// the exec only drops one reference, and the keeper, which exits as soon as
// the exec closes the pipe it waits on, does the teardown on its own time
// while the new program starts. The new program reaps it.
//
// Threads: start() and release() on the thread that execs; the new side's
// reap_address_space_keeper() early in main.
#pragma once

#include <sys/types.h>

namespace godwit {

// The keeper's pid, across the exec.
inline constexpr const char* kCprExecKeeperEnv = "GODWIT_CPR_EXEC_KEEPER";

class AddressSpaceKeeper {
 public:
  // Starts one and names it in kCprExecKeeperEnv. Without one (clone failed)
  // the exec works as well, only slower: this never fails.
  static AddressSpaceKeeper start();
  // The exec failed: the keeper goes (and is reaped), the variable too.
  void release();

 private:
  pid_t pid_ = -1;
  int wake_fd_ = -1;  // close-on-exec: the exec closing it tells the keeper to go
};

// The new program: reaps the old program's keeper, if any, on a thread of
// its own (it exits once the teardown is done). Clears the variable.
void reap_address_space_keeper();

}  // namespace godwit
