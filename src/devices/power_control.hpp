// What the board offers devices that can stop or restart the machine (the
// sifive_test finisher). The machine implements it; the requests are
// asynchronous: the caller returns and the main thread acts on them.
//
// Threads: called on hart threads.
#pragma once

namespace godwit {

class PowerControl {
 public:
  virtual ~PowerControl() = default;
  // Stop the machine; the VMM exits with `exit_code`.
  virtual void request_poweroff(int exit_code) = 0;
  // Reset the machine (every device's reset(), harts back to the boot state).
  virtual void request_reset() = 0;
};

}  // namespace godwit
