"""Starting a machine (godwit or QEMU, same options) with monitors attached,
and what the monitor tests share: the `machine` fixture, guest memory and
serial helpers, and the one table of ways godwit may differ from QEMU."""
import os
import pathlib
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import time

import pytest

from qmp_client import HMPClient, QMPClient, QMPError

MACHINES = ["qemu", "godwit"]
RAM_BASE = 0x80000000

# Where godwit legitimately differs from QEMU, keyed by machine kind. Tests
# assert these shapes, never the values.
DIFFERENCES = {
    "qemu": {
        "hmp_banner": re.compile(r"QEMU \d+\.\d+\.\d+ monitor - type 'help' for more information"),
    },
    "godwit": {
        "hmp_banner": re.compile(r"godwit \S+ monitor - type 'help' for more information"),
    },
}

# Commands every machine must list in query-commands.
REQUIRED_COMMANDS = [
    "qmp_capabilities", "query-version", "query-commands", "query-status", "query-name",
    "query-cpus-fast", "query-memdev", "query-chardev", "stop", "cont", "system_reset", "quit",
    "pmemsave", "memsave", "human-monitor-command", "getfd", "closefd", "add-fd", "remove-fd",
    "query-fdsets",
]


class Machine:
    """One running machine. Sockets live in a short private directory because
    a unix socket path is limited to 108 bytes."""

    def __init__(self, kind, binary, kernel, workdir, *, qmp=True, hmp=False, serial="file",
                 smp=1, memory="128M", machine_opts="virt", extra=(), append=None):
        self.kind = kind
        self.workdir = pathlib.Path(workdir)
        self.sockdir = pathlib.Path(tempfile.mkdtemp(prefix="gwmon", dir="/tmp"))
        self.qmp_path = self.sockdir / "qmp.sock" if qmp else None
        self.hmp_path = self.sockdir / "hmp.sock" if hmp else None
        self.serial_path = self.workdir / "serial.out" if serial == "file" else None
        self.clients = []
        cmd = [str(binary), "-M", machine_opts, "-bios", "none", "-display", "none",
               "-m", memory, "-smp", str(smp), "-kernel", str(kernel)]
        if append:
            cmd += ["-append", append]
        cmd += ["-serial", f"file:{self.serial_path}" if self.serial_path else serial]
        if qmp:
            cmd += ["-qmp", f"unix:{self.qmp_path},server=on,wait=off"]
        if hmp:
            cmd += ["-monitor", f"unix:{self.hmp_path},server=on,wait=off"]
        cmd += [str(arg) for arg in extra]
        self.cmd = cmd
        self.stderr_path = self.workdir / f"{kind}.stderr"
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self._stderr)

    @property
    def pid(self):
        return self.proc.pid

    def stderr(self):
        self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def describe(self):
        return f"{self.kind}: {' '.join(self.cmd)}\nstderr: {self.stderr()[-2000:]}"

    def sock(self, name):
        return self.sockdir / name

    # -- monitors -------------------------------------------------------------

    def qmp(self, path=None, negotiate=True, timeout=10, strict_greeting=True):
        """A new QMP client on the -qmp socket (or `path`), closed at teardown."""
        self.check_alive()
        try:
            client = QMPClient(path or self.qmp_path, timeout=timeout, negotiate=negotiate,
                               strict_greeting=strict_greeting, alive=self.alive)
        except QMPError as error:
            pytest.fail(f"{error}\n{self.describe()}")
        self.clients.append(client)
        return client

    def hmp(self, path=None, timeout=10):
        self.check_alive()
        client = HMPClient(path or self.hmp_path, timeout=timeout, alive=self.alive)
        self.clients.append(client)
        return client

    def alive(self):
        return self.proc.poll() is None

    def check_alive(self):
        if self.proc.poll() is not None:
            pytest.fail(f"the machine exited with status {self.proc.returncode}\n{self.describe()}")

    def wait_exit(self, timeout=10):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the machine did not exit within {timeout} s\n{self.describe()}")

    def stop(self):
        for client in self.clients:
            try:
                client.close()
            except OSError:
                pass
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()
        shutil.rmtree(self.sockdir, ignore_errors=True)

    # -- serial ---------------------------------------------------------------

    def serial_size(self):
        try:
            return self.serial_path.stat().st_size
        except FileNotFoundError:
            return 0

    def serial_text(self):
        return self.serial_path.read_text(errors="replace") if self.serial_path.exists() else ""

    def wait_serial(self, min_bytes=1, timeout=10):
        """Waits until the serial file holds at least `min_bytes`."""
        deadline = time.monotonic() + timeout
        while self.serial_size() < min_bytes:
            if time.monotonic() > deadline:
                pytest.fail(f"serial output stayed at {self.serial_size()} bytes (wanted {min_bytes}) "
                            f"for {timeout} s\n{self.describe()}")
            time.sleep(0.02)

    def assert_serial_growing(self, timeout=5):
        """The guest is running: its serial output grows within `timeout` s."""
        before = self.serial_size()
        self.wait_serial(before + 1, timeout)

    # -- memory ---------------------------------------------------------------

    def dump(self, client, address, size, command="pmemsave"):
        """Guest memory through pmemsave/memsave into a file; returns the bytes."""
        path = self.workdir / f"dump-{time.monotonic_ns()}.bin"
        reply = client.execute(command, {"val": address, "size": size, "filename": str(path)})
        assert reply == {"return": {}}, f"{command} failed: {reply}"
        data = path.read_bytes()
        path.unlink()
        return data


class Launcher:
    """What the `machine` fixture hands a test: starts machines of one kind
    and stops them all at teardown."""

    def __init__(self, kind, binary, guest, workdir):
        self.kind = kind
        self.binary = binary
        self.guest = guest
        self.workdir = pathlib.Path(workdir)
        self.machines = []
        self.differences = DIFFERENCES[kind]

    def start(self, guest="ab", **options):
        workdir = self.workdir / f"m{len(self.machines)}"
        workdir.mkdir(parents=True, exist_ok=True)
        started = Machine(self.kind, self.binary, self.guest(guest), workdir, **options)
        self.machines.append(started)
        return started

    def stop_all(self):
        for started in self.machines:
            started.stop()


@pytest.fixture(params=MACHINES)
def machine(request, guest, tmp_path):
    launcher = Launcher(request.param, request.getfixturevalue(request.param), guest, tmp_path)
    request.addfinalizer(launcher.stop_all)
    return launcher


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def assert_qmp_error(reply, error_class, desc=None):
    assert "error" in reply, f"expected a {error_class} error, got {reply}"
    assert reply["error"]["class"] == error_class, reply
    assert isinstance(reply["error"]["desc"], str) and reply["error"]["desc"], reply
    if desc is not None:
        assert reply["error"]["desc"] == desc, reply


def assert_timestamp(event):
    stamp = event.get("timestamp")
    assert isinstance(stamp, dict), event
    assert isinstance(stamp["seconds"], int) and isinstance(stamp["microseconds"], int), event
    assert 0 <= stamp["microseconds"] < 1_000_000, event
    assert abs(stamp["seconds"] - time.time()) < 60, f"event time far from now: {event}"


def elf_load_segments(path):
    """(physical address, file bytes) of each PT_LOAD segment of a 64-bit
    little-endian ELF."""
    data = pathlib.Path(path).read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, "not an ELF64 LE file"
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    segments = []
    for index in range(phnum):
        p_type, _flags, offset, _vaddr, paddr, filesz, _memsz, _align = struct.unpack_from(
            "<IIQQQQQQ", data, phoff + index * phentsize)
        if p_type == 1:  # PT_LOAD
            segments.append((paddr, data[offset:offset + filesz]))
    return segments


def ab_machine(machine, **options):
    """The `ab` guest (prints A then B forever while dirtying RAM), running,
    with a negotiated QMP client."""
    started = machine.start("ab", **options)
    client = started.qmp()
    started.wait_serial(2)
    return started, client
