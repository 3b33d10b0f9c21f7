"""Runs a machine (godwit or QEMU) with the serial port on stdio and collects
what the guest printed. Both take the same qemu-system-riscv64 options."""
import subprocess
import time

COMMON = ["-M", "virt", "-nographic"]


def command(binary, kernel, smp=1, memory="128M", append=None, extra=(), bios="none"):
    """The bundled guests run without firmware (`bios="none"`, entered in
    M-mode at 0x80000000); bios="default" boots OpenSBI as QEMU does without
    -bios, with `kernel` as its S-mode payload."""
    cmd = [str(binary), *COMMON, "-bios", bios, "-smp", str(smp), "-m", memory, "-kernel", str(kernel)]
    if append:
        cmd += ["-append", append]
    return cmd + list(extra)


def run_to_exit(binary, kernel, timeout=60, stdin_data=None, **kwargs):
    """Runs until the guest powers off; returns (exit status, serial output)."""
    proc = subprocess.run(command(binary, kernel, **kwargs), input=stdin_data,
                          stdin=None if stdin_data is not None else subprocess.DEVNULL,
                          capture_output=True, timeout=timeout)
    return proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")


def run_for(binary, kernel, seconds, **kwargs):
    """Runs for `seconds` of wall time, then terminates; returns the output."""
    proc = subprocess.Popen(command(binary, kernel, **kwargs), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(seconds)
    proc.terminate()
    try:
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return out.decode(errors="replace"), err.decode(errors="replace")
