"""Booting the Linux guest (scripts/guest-images.sh builds it: Debian's riscv64
kernel, a busybox initramfs, an ext4 disk with the workload) on a machine that
takes qemu-system-riscv64's options, godwit or QEMU, and checking what it did.

    images = linux_images fixture (or find_images())
    disk = fresh_disk(images, tmp_path)
    guest = LinuxGuest(binary, images, disk, tmp_path, append=kernel_args(records=200))
    guest.wait_line(r"workload: started", timeout=300)
    guest.wait_exit(timeout=300)            # or guest.stop() while it runs
    ok, verdict = check_disk(disk)          # killed=True after stop()

The serial console goes to a file (guest.serial_path), so a test may also hand
the command line to its own launcher: see command().
"""
import importlib.util
import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
IMAGES = pathlib.Path(os.environ.get("GODWIT_LINUX_IMAGES", ROOT / "build/guest-images"))
CHECK_DISK = ROOT / "scripts/check-disk.py"

# How long an emulated boot may take, generously: QEMU reaches the workload in
# about 30 s on a loaded 2-core host; an interpreter is slower.
BOOT_TIMEOUT = float(os.environ.get("GODWIT_LINUX_BOOT_TIMEOUT", "600"))


@dataclass(frozen=True)
class Images:
    kernel: pathlib.Path   # a RISC-V Image
    initrd: pathlib.Path   # gzip'd cpio
    disk: pathlib.Path     # the pristine ext4 image: copy it before use (fresh_disk)


def find_images(directory=IMAGES):
    """The images in `directory`, or a string saying what is missing."""
    directory = pathlib.Path(directory)
    images = Images(directory / "Image", directory / "initramfs.cpio.gz", directory / "disk.img")
    missing = [p.name for p in (images.kernel, images.initrd, images.disk) if not p.is_file()]
    if missing:
        return (f"Linux guest images missing in {directory} ({', '.join(missing)}): "
                f"build them with scripts/guest-images.sh")
    return images


@pytest.fixture(scope="session")
def linux_images():
    found = find_images()
    if isinstance(found, str):
        pytest.skip(found)
    return found


def fresh_disk(images, directory, name="disk.img"):
    """A private copy of the pristine disk, which no test may write."""
    path = pathlib.Path(directory) / name
    path.write_bytes(images.disk.read_bytes())
    return path


def kernel_args(run="workload", records=0, dirty_mib=4, print_every=100, sync_every=1, extra=""):
    """The kernel command line guests/linux/init understands. records=0 runs
    until the machine is stopped."""
    words = ["console=ttyS0", f"godwit.run={run}", f"godwit.records={records}",
             f"godwit.dirty_mib={dirty_mib}", f"godwit.print_every={print_every}",
             f"godwit.sync_every={sync_every}"]
    return " ".join(words + ([extra] if extra else []))


def command(binary, images, disk, serial, *, append, smp=2, memory="512M", bios=None,
            rng=True, console=True, net=False, modern=False, extra=()):
    """The command line booting Linux with the disk as virtio-blk; `serial` is a
    -serial argument (e.g. "file:PATH" or "stdio"). bios=None keeps the machine's
    default firmware (OpenSBI's fw_dynamic on QEMU). `console` adds a virtio
    console, writing to that file when it is a path. `modern` asks virtio-mmio for
    version 2 instead of QEMU 10's legacy default. Devices are given in a fixed
    order, so each lands on the same virtio-mmio slot every time."""
    cmd = [str(binary), "-M", "virt", "-m", memory, "-smp", str(smp), "-display", "none",
           "-kernel", str(images.kernel), "-initrd", str(images.initrd), "-append", append,
           "-serial", serial]
    if bios is not None:
        cmd += ["-bios", str(bios)]
    if modern:
        cmd += ["-global", "virtio-mmio.force-legacy=false"]
    cmd += ["-drive", f"file={disk},format=raw,if=none,id=disk0",
            "-device", "virtio-blk-device,drive=disk0"]
    if rng:
        cmd += ["-device", "virtio-rng-device"]
    if console:
        chardev = f"file,id=hvc0,path={console}" if isinstance(console, (str, os.PathLike)) \
            else "null,id=hvc0"
        cmd += ["-device", "virtio-serial-device", "-chardev", chardev,
                "-device", "virtconsole,chardev=hvc0"]
    if net:
        # net=True: user networking; a string adds -netdev user options
        # (hostfwd=...).
        netdev = "user,id=net0" + (f",{net}" if isinstance(net, str) else "")
        cmd += ["-netdev", netdev, "-device", "virtio-net-device,netdev=net0"]
    return cmd + [str(arg) for arg in extra]


class LinuxGuest:
    """One machine booting the Linux guest: its serial console in
    workdir/console.log, its virtio console (when on) in workdir/hvc0.log.
    `prefix` runs the command through another (`ip netns exec NS`); `cmd`
    stays the machine's own, as a cpr-exec would exec it. qmp=True adds a
    QMP socket in a short private folder (`sockdir`), for connect()."""

    def __init__(self, binary, images, disk, workdir, *, append, prefix=(), qmp=False, **options):
        self.workdir = pathlib.Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.serial_path = self.workdir / "console.log"
        self.stderr_path = self.workdir / "stderr.log"
        self.hvc_path = self.workdir / "hvc0.log"
        self.serial_path.write_bytes(b"")
        if options.get("console", True) is True:
            options["console"] = self.hvc_path
        self.sockdir = None
        self.qmp = None
        if qmp:
            self.sockdir = pathlib.Path(tempfile.mkdtemp(prefix="gwlg", dir="/tmp"))
            self.qmp_path = self.sockdir / "qmp.sock"
            options["extra"] = list(options.get("extra", ())) + ["-qmp", f"unix:{self.qmp_path},server=on,wait=off"]
        self.cmd = command(binary, images, disk, f"file:{self.serial_path}", append=append,
                           **options)
        self._stderr = open(self.stderr_path, "wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(list(prefix) + self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self._stderr)

    # -- QMP (qmp=True) --------------------------------------------------------

    def connect(self, timeout=60):
        from qmp_client import QMPClient
        self.qmp = QMPClient(self.qmp_path, timeout=timeout, alive=lambda: self.proc.poll() is None)
        return self

    def command(self, name, args=None):
        reply = self.qmp.execute(name, args)
        assert "return" in reply, f"{name} {args or ''}: {reply}\n{self.describe()}"
        return reply["return"]

    def wait_status(self, status, timeout=60):
        deadline = time.monotonic() + timeout
        while self.command("query-status")["status"] != status:
            assert time.monotonic() < deadline, f"not {status} after {timeout} s\n{self.describe()}"
            time.sleep(0.05)

    def wait_migration(self, timeout=120):
        deadline = time.monotonic() + timeout
        while True:
            info = self.command("query-migrate")
            if info.get("status") == "completed":
                return info
            assert info.get("status") not in ("failed", "cancelled"), f"{info}\n{self.describe()}"
            assert time.monotonic() < deadline, f"migration still {info}\n{self.describe()}"
            time.sleep(0.05)

    def elapsed(self):
        return time.monotonic() - self.started

    def text(self):
        return self.serial_path.read_text(errors="replace")

    def describe(self, tail=3000):
        self._stderr.flush()
        return (f"command: {' '.join(self.cmd)}\nstderr: "
                f"{self.stderr_path.read_text(errors='replace')[-tail:]}\n"
                f"console (last {tail} chars):\n{self.text()[-tail:]}")

    def wait_line(self, pattern, timeout=BOOT_TIMEOUT):
        """Waits for a console line matching `pattern` (a regex searched in each
        line); returns (match, seconds since start). Fails the test, with the
        console's tail, on timeout, exit, or a "workload: error" line."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            for line in text.splitlines():
                found = regex.search(line)
                if found:
                    return found, self.elapsed()
                if line.startswith("workload: error") or "Kernel panic" in line:
                    pytest.fail(f"guest failed while waiting for /{pattern}/: {line}\n"
                                f"{self.describe()}")
            if self.proc.poll() is not None:
                pytest.fail(f"the machine exited with status {self.proc.returncode} before "
                            f"/{pattern}/ appeared\n{self.describe()}")
            if time.monotonic() > deadline:
                pytest.fail(f"/{pattern}/ did not appear within {timeout} s\n{self.describe()}")
            time.sleep(0.1)

    def wait_exit(self, timeout=BOOT_TIMEOUT):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the machine did not exit within {timeout} s\n{self.describe()}")

    def stop(self):
        """Stops the machine as a crash would stop the guest (SIGTERM, then SIGKILL)."""
        if self.qmp is not None:
            try:
                self.qmp.close()
            except OSError:
                pass
            self.qmp = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()
        if self.sockdir is not None:
            shutil.rmtree(self.sockdir, ignore_errors=True)


def check_disk_module():
    """scripts/check-disk.py as a module (its name has a dash)."""
    spec = importlib.util.spec_from_file_location("check_disk", CHECK_DISK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_disk(image, killed=False, min_records=1, path="/records.bin"):
    """scripts/check-disk.py on `image`: returns (ok, verdict line)."""
    return check_disk_module().check(str(image), path, killed, min_records)


def records_printed(text):
    """The highest "workload: record N" the console shows, or -1."""
    numbers = [int(n) for n in re.findall(r"^workload: record (\d+)", text, re.MULTILINE)]
    return max(numbers, default=-1)
