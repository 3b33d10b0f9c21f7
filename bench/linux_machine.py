"""The Linux guest (scripts/guest-images.sh) on a machine taking
qemu-system-riscv64's options, godwit or QEMU, with a QMP socket: what
bench/linux_bench.py and scripts/linux_demo.py share.

The command line is tests/linux_guest.py's command() (kept in step with it by
hand: that module needs pytest, these scripts only the standard library): -M
virt, kernel, initrd, the disk as virtio-blk, virtio-rng and a virtio console
writing to a file, the serial console to a file.
"""
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from qmp_client import QMPClient, QMPError  # noqa: E402

DEFAULT_IMAGES = pathlib.Path(os.environ.get("GODWIT_LINUX_IMAGES", ROOT / "build/guest-images"))
CHECK_DISK = ROOT / "scripts/check-disk.py"
RECORD_LINE = re.compile(r"^workload: record (\d+)", re.MULTILINE)
# Console lines that mean the guest is in trouble (reported, the run goes on
# until its own timeout says whether the guest recovered).
TROUBLE = ("Kernel panic", "Oops", "LOCKUP", "rcu_sched detected stalls", "rcu: INFO",
           "workload: error", "BUG:")


class GuestError(Exception):
    pass


def images_in(directory):
    """(kernel, initrd, disk) in `directory`, or raises GuestError naming what is missing."""
    directory = pathlib.Path(directory)
    files = (directory / "Image", directory / "initramfs.cpio.gz", directory / "disk.img")
    missing = [p.name for p in files if not p.is_file()]
    if missing:
        raise GuestError(f"Linux guest images missing in {directory} ({', '.join(missing)}): "
                         f"build them with scripts/guest-images.sh")
    return files


def fresh_disk(pristine, path):
    """A private copy of the pristine disk (which nobody may write)."""
    shutil.copyfile(pristine, path)
    return pathlib.Path(path)


def kernel_args(records=0, dirty_mib=4, print_every=100, sync_every=1):
    """The words guests/linux/init reads; records=0 runs until stopped."""
    return (f"console=ttyS0 godwit.run=workload godwit.records={records} godwit.dirty_mib={dirty_mib} "
            f"godwit.print_every={print_every} godwit.sync_every={sync_every}")


def linux_command(binary, kernel, initrd, disk, serial_path, hvc_path, append, memory="512M", smp=2):
    """tests/linux_guest.py's command() with a file serial and a file virtio console."""
    return [str(binary), "-M", "virt", "-m", memory, "-smp", str(smp), "-display", "none",
            "-kernel", str(kernel), "-initrd", str(initrd), "-append", append,
            "-serial", f"file:{serial_path}",
            "-drive", f"file={disk},format=raw,if=none,id=disk0",
            "-device", "virtio-blk-device,drive=disk0",
            "-device", "virtio-rng-device",
            "-device", "virtio-serial-device", "-chardev", f"file,id=hvc0,path={hvc_path}",
            "-device", "virtconsole,chardev=hvc0"]


def check_disk(image, killed=False):
    """scripts/check-disk.py on `image`: (ok, verdict line)."""
    cmd = [sys.executable, str(CHECK_DISK)] + (["--killed"] if killed else []) + [str(image)]
    done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    lines = (done.stdout + done.stderr).strip().splitlines()
    return done.returncode == 0, (lines[-1] if lines else f"check-disk exited {done.returncode}")


class LinuxVm:
    """One machine running the Linux guest. Its serial console goes to
    workdir/NAME.serial, its virtio console to NAME.hvc, stderr to NAME.stderr;
    QMP on a unix socket in a short private directory. `started` is the
    monotonic time just before the process was created."""

    def __init__(self, kind, binary, images, disk, workdir, name, *, append, memory="512M", smp=2,
                 extra=()):
        kernel, initrd, _ = images
        self.kind, self.name = kind, name
        self.workdir = pathlib.Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.sockdir = pathlib.Path(tempfile.mkdtemp(prefix="gwlx", dir="/tmp"))
        self.qmp_path = self.sockdir / "qmp.sock"
        self.serial_path = self.workdir / f"{name}.serial"
        self.hvc_path = self.workdir / f"{name}.hvc"
        self.stderr_path = self.workdir / f"{name}.stderr"
        self.serial_path.write_bytes(b"")
        self.cmd = linux_command(binary, kernel, initrd, disk, self.serial_path, self.hvc_path, append,
                                 memory=memory, smp=smp)
        self.cmd += ["-qmp", f"unix:{self.qmp_path},server=on,wait=off"] + [str(a) for a in extra]
        self._client = None
        self._stderr = open(self.stderr_path, "wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self._stderr, start_new_session=True)

    def sock(self, name):
        return self.sockdir / name

    def alive(self):
        return self.proc.poll() is None

    def text(self):
        try:
            return self.serial_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def serial_size(self):
        try:
            return self.serial_path.stat().st_size
        except FileNotFoundError:
            return 0

    def stderr_text(self, limit=2000):
        self._stderr.flush()
        try:
            return self.stderr_path.read_text(errors="replace")[-limit:]
        except FileNotFoundError:
            return ""

    def trouble(self):
        """Console lines that say the guest is in trouble."""
        return [line for line in self.text().splitlines() if any(t in line for t in TROUBLE)]

    def describe(self, tail=1500):
        state = "running" if self.alive() else f"exited with status {self.proc.returncode}"
        return (f"{self.kind} {self.name} ({state}): {' '.join(self.cmd)}\n"
                f"stderr: {self.stderr_text()}\nconsole (last {tail} chars):\n{self.text()[-tail:]}")

    def records(self):
        """The highest `workload: record N` on the console, or -1."""
        return max((int(n) for n in RECORD_LINE.findall(self.text())), default=-1)

    def qmp(self, timeout=30):
        if self._client is None:
            if not self.alive():
                raise GuestError(f"the machine exited before QMP connected\n{self.describe()}")
            try:
                self._client = QMPClient(self.qmp_path, timeout=timeout, alive=self.alive)
            except QMPError as error:
                raise GuestError(f"{error}\n{self.describe()}") from None
        return self._client

    def wait_line(self, pattern, timeout, poll=0.02):
        """Waits for a console line matching `pattern`; returns (match,
        seconds since the process started). Raises GuestError on timeout, on
        the process exiting first, or on a `workload: error` line."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            alive = self.alive()
            for line in self.text().splitlines():
                found = regex.search(line)
                if found:
                    return found, time.monotonic() - self.started
                if line.startswith("workload: error"):
                    raise GuestError(f"{self.kind} {self.name}: {line}\n{self.describe()}")
            if not alive:
                raise GuestError(f"{self.kind} {self.name} exited with status {self.proc.returncode} "
                                 f"before /{pattern}/\n{self.describe()}")
            if time.monotonic() > deadline:
                raise GuestError(f"{self.kind} {self.name}: /{pattern}/ did not appear within {timeout} s\n"
                                 f"{self.describe()}")
            time.sleep(poll)

    def wait_records(self, count, timeout):
        """Waits until the console shows record `count` or later."""
        deadline = time.monotonic() + timeout
        while self.records() < count:
            if not self.alive():
                raise GuestError(f"{self.kind} {self.name} exited before record {count}\n{self.describe()}")
            if time.monotonic() > deadline:
                raise GuestError(f"{self.kind} {self.name}: record {count} not reached within {timeout} s "
                                 f"(last {self.records()})\n{self.describe()}")
            time.sleep(0.05)
        return self.records()

    def wait_exit(self, timeout):
        """The exit status, or None if still running after `timeout` s."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        if self._client is not None:
            try:
                self._client.close()
            except OSError:
                pass
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()
        shutil.rmtree(self.sockdir, ignore_errors=True)


def finish(vm, records, timeout):
    """Waits for the workload to end on `vm` (`workload: done RECORDS`) and the
    guest to power off. Returns (powered_off, note): note says what went wrong."""
    vm.wait_line(rf"^workload: done {records} records", timeout)
    status = vm.wait_exit(timeout)
    if status is None:
        tail = " | ".join(vm.text().strip().splitlines()[-3:])
        return False, f"did not power off within {timeout} s after `workload: done` (console ends: {tail})"
    if status != 0:
        return False, f"exited with status {status} (stderr: {vm.stderr_text(300).strip()})"
    return True, ""
