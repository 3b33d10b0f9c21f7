"""Debian's Linux on godwit, with the command line QEMU takes: it boots as on
QEMU 10 (the same kernel banner, device probes and workload output), and
moves while its workload writes to the virtio disk -- live migration over
unix and tcp, cpr-transfer, cpr-exec and cpr-reboot -- with every record on
the disk afterwards, none repeated or torn, and the workload's memory check
(4 MiB rewritten and verified continuously) clean on the far side.

Each case boots its own guest and runs the workload to a fixed record count:
the guest powers off by itself at the end, so the disk check is the strict
one (every record 0..N-1, a clean file system), not the one for a killed
machine.
"""
import hashlib
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from linux_guest import BOOT_TIMEOUT, check_disk, command, fresh_disk, kernel_args, linux_images  # noqa: F401
from qmp_client import QMPClient

MEMORY = "256M"
RECORDS = 1500        # long enough that every move happens mid-run
MOVE_AFTER = 200      # the record the source must have written before it moves
PRINT_EVERY = 20
MOVE_TIMEOUT = 120


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Linux:
    """One godwit process running the Linux guest, with a QMP socket; its
    serial console goes to `name`.log in the work directory."""

    def __init__(self, binary, images, disk, workdir, name, *, smp=2, extra=(), records=RECORDS,
                 backend=None, qmp=True):
        self.workdir = pathlib.Path(workdir)
        self.name = name
        self.serial_path = self.workdir / f"{name}.log"
        self.serial_path.write_bytes(b"")
        self.sockdir = pathlib.Path(tempfile.mkdtemp(prefix="gwlin", dir="/tmp"))
        self.qmp_path = self.sockdir / "qmp.sock"
        self.backend = list(backend or [])
        append = kernel_args(records=records, print_every=PRINT_EVERY)
        self.base = command(binary, images, disk, f"file:{self.serial_path}", append=append, smp=smp,
                            memory=MEMORY, console=self.workdir / f"{name}.hvc",
                            extra=self.backend + (["-qmp", f"unix:{self.qmp_path},server=on,wait=off"] if qmp else []))
        self.cmd = self.base + [str(arg) for arg in extra]
        self.stderr_path = self.workdir / f"{name}.stderr"
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self._stderr)
        self.qmp = None

    def connect(self, timeout=60):
        self.qmp = QMPClient(self.qmp_path, timeout=timeout, alive=lambda: self.proc.poll() is None)
        return self

    def describe(self):
        self._stderr.flush()
        return (f"--- {self.name}: {' '.join(self.cmd)}\nstderr: "
                f"{self.stderr_path.read_text(errors='replace')[-2000:]}\nconsole:\n{self.text()[-2500:]}")

    def text(self):
        return self.serial_path.read_text(errors="replace")

    def command(self, name, args=None):
        reply = self.qmp.execute(name, args)
        assert "return" in reply, f"{self.name}: {name} {args or ''}: {reply}\n{self.describe()}"
        return reply["return"]

    def status(self):
        return self.command("query-status")["status"]

    def wait_line(self, pattern, timeout=BOOT_TIMEOUT):
        regex = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            found = regex.search(text)
            if found:
                return found
            bad = re.search(r"^(workload: error.*|.*Kernel panic.*)$", text, re.MULTILINE)
            assert not bad, f"{self.name}: {bad.group(0)}\n{self.describe()}"
            assert self.proc.poll() is None or regex.search(self.text()), \
                f"{self.name} exited ({self.proc.returncode}) before /{pattern}/\n{self.describe()}"
            assert time.monotonic() < deadline, f"{self.name}: no /{pattern}/ in {timeout} s\n{self.describe()}"
            time.sleep(0.1)

    def wait_migration(self, timeout=MOVE_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            info = self.command("query-migrate")
            if info.get("status") == "completed":
                return info
            assert info.get("status") not in ("failed", "cancelled"), f"{info}\n{self.describe()}"
            assert time.monotonic() < deadline, f"migration still {info}\n{self.describe()}"
            time.sleep(0.05)

    def wait_exit(self, timeout=BOOT_TIMEOUT):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{self.name} did not power off within {timeout} s\n{self.describe()}")

    def stop(self):
        if self.qmp is not None:
            try:
                self.qmp.close()
            except OSError:
                pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()
        shutil.rmtree(self.sockdir, ignore_errors=True)


@pytest.fixture
def machines():
    started = []
    yield started
    for machine in started:
        machine.stop()


def finish(destination, disk, records=RECORDS):
    """The guest runs to its last record on `destination`, powers off, and
    the disk holds exactly records 0..records-1 with a clean file system."""
    destination.wait_line(rf"^workload: done {records} records$")
    assert destination.wait_exit() == 0, destination.describe()
    assert "workload: error" not in destination.text(), destination.describe()
    ok, verdict = check_disk(disk)
    assert ok and verdict == f"disk: OK {records} records", verdict


def records_on(machine):
    numbers = [int(n) for n in re.findall(r"^workload: record (\d+)$", machine.text(), re.MULTILINE)]
    return max(numbers, default=-1)


def same_lines(text, patterns):
    """The lines of `text` matching each pattern, in order (timestamps cut)."""
    found = []
    for line in text.splitlines():
        line = re.sub(r"^\[\s*\d+\.\d+\] ", "", line)
        if any(re.search(p, line) for p in patterns):
            found.append(line)
    return found


# What must agree between godwit and QEMU booting the same command line.
AGREE = [r"^Linux version ", r"^Machine model:", r"^Kernel command line:", r"^virtio_blk virtio\d+:",
         r"^Run /init", r"^init: devices:", r"^init: mounted", r"^workload: ", r"^init: (unmounted|power off)"]


def test_boots_as_on_qemu_and_runs_the_workload(godwit, qemu, linux_images, tmp_path, machines):
    outputs = {}
    for kind, binary in (("godwit", godwit), ("qemu", qemu)):
        workdir = tmp_path / kind
        workdir.mkdir()
        disk = fresh_disk(linux_images, workdir)
        guest = Linux(binary, linux_images, disk, workdir, kind, records=100, qmp=False)
        machines.append(guest)
        guest.wait_line(r"^workload: done 100 records$")
        assert guest.wait_exit() == 0, guest.describe()
        ok, verdict = check_disk(disk)
        assert ok and verdict == "disk: OK 100 records", f"{kind}: {verdict}"
        assert (workdir / f"{kind}.hvc").read_text() == "init: hello on hvc0\n"
        outputs[kind] = same_lines(guest.text(), AGREE)
    # Uptimes differ; the rest of each line must not.
    strip = [re.sub(r", uptime [\d.]+ s", "", line) for line in outputs["godwit"]]
    reference = [re.sub(r", uptime [\d.]+ s", "", line) for line in outputs["qemu"]]
    assert strip == reference
    assert any(line.startswith("init: devices: vda hvc0 hwrng") for line in strip), strip


@pytest.mark.parametrize("smp", [1, 4])
def test_one_or_four_harts_run_the_workload(godwit, linux_images, tmp_path, machines, smp):
    disk = fresh_disk(linux_images, tmp_path)
    guest = Linux(godwit, linux_images, disk, tmp_path, f"smp{smp}", smp=smp, records=300, qmp=False)
    machines.append(guest)
    guest.wait_line(rf"smp: Brought up 1 node, {smp} CPUs?$")
    finish(guest, disk, records=300)


def start_pair(godwit, linux_images, tmp_path, machines, backend=None):
    disk = fresh_disk(linux_images, tmp_path)
    source = Linux(godwit, linux_images, disk, tmp_path, "source", backend=backend).connect()
    machines.append(source)
    source.wait_line(rf"^workload: record {MOVE_AFTER}$")
    return disk, source


@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_live_migration_while_the_guest_writes(godwit, linux_images, tmp_path, machines, transport):
    disk, source = start_pair(godwit, linux_images, tmp_path, machines)
    destination = Linux(godwit, linux_images, disk, tmp_path, "destination",
                        extra=["-incoming", "defer"]).connect()
    machines.append(destination)
    uri = f"unix:{destination.sockdir / 'mig.sock'}" if transport == "unix" else f"tcp:127.0.0.1:{free_port()}"
    destination.command("migrate-incoming", {"uri": uri})
    source.command("migrate-set-parameters", {"max-bandwidth": 1 << 30, "downtime-limit": 300})
    source.command("migrate", {"uri": uri})
    info = source.wait_migration()
    assert source.status() == "postmigrate"
    moved_at = records_on(source)
    assert moved_at < RECORDS - PRINT_EVERY, f"the workload ended before the move ({moved_at})"
    print(f"\nlive migration over {transport}: total {info.get('total-time')} ms, "
          f"downtime {info.get('downtime')} ms, after record {moved_at}")
    finish(destination, disk)
    # The destination went on from where the source stopped: no record printed twice.
    first = min(int(n) for n in re.findall(r"^workload: record (\d+)$", destination.text(), re.MULTILINE))
    assert first > moved_at


def ram_digest(machine, path):
    """SHA-256 of the guest's whole RAM, dumped with pmemsave."""
    machine.command("pmemsave", {"val": 0x80000000, "size": parse_size(MEMORY), "filename": str(path)})
    digest = hashlib.sha256()
    with open(path, "rb") as dump:
        while chunk := dump.read(1 << 20):
            digest.update(chunk)
    size = path.stat().st_size
    path.unlink()
    assert size == parse_size(MEMORY), f"{machine.name}: pmemsave wrote {size} bytes"
    return digest.hexdigest()


def parse_size(text):
    return int(text[:-1]) << {"K": 10, "M": 20, "G": 30}[text[-1]]


def test_a_paused_guest_arrives_paused_with_identical_ram(godwit, linux_images, tmp_path, machines):
    disk, source = start_pair(godwit, linux_images, tmp_path, machines)
    source.command("stop")
    stopped_at = records_on(source)
    destination = Linux(godwit, linux_images, disk, tmp_path, "destination",
                        extra=["-incoming", "defer"]).connect()
    machines.append(destination)
    uri = f"unix:{destination.sockdir / 'mig.sock'}"
    destination.command("migrate-incoming", {"uri": uri})
    source.command("migrate", {"uri": uri})
    source.wait_migration()
    deadline = time.monotonic() + 30
    while destination.status() == "inmigrate":
        assert time.monotonic() < deadline, destination.describe()
        time.sleep(0.05)
    assert destination.status() == "paused"
    assert source.status() == "postmigrate"
    assert records_on(source) == stopped_at
    # Every byte of the 256 MiB: the page tables, the page cache, the
    # workload's buffer, the virtqueues.
    assert ram_digest(destination, tmp_path / "dst.ram") == ram_digest(source, tmp_path / "src.ram")
    destination.command("cont")
    finish(destination, disk)


def test_a_destination_without_the_disk_is_refused_and_the_source_runs_on(godwit, linux_images, tmp_path,
                                                                         machines):
    disk, source = start_pair(godwit, linux_images, tmp_path, machines)
    sockdir = pathlib.Path(tempfile.mkdtemp(prefix="gwlin", dir="/tmp"))
    uri = f"unix:{sockdir / 'mig.sock'}"
    # The same machine, less the disk and its device.
    cmd = list(source.base)
    at = cmd.index("-drive")
    del cmd[at:at + 4]
    cmd = [arg for arg in cmd if not str(arg).startswith("unix:") or "mig" in str(arg)]
    qmp_at = cmd.index("-qmp")
    del cmd[qmp_at:qmp_at + 2]
    stderr = open(tmp_path / "nodisk.stderr", "wb")
    destination = subprocess.Popen(cmd + ["-incoming", uri], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        deadline = time.monotonic() + 20
        while not (sockdir / "mig.sock").exists():
            assert destination.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        source.command("migrate", {"uri": uri})
        deadline = time.monotonic() + MOVE_TIMEOUT
        while True:
            info = source.command("query-migrate")
            if info.get("status") in ("failed", "completed"):
                break
            assert time.monotonic() < deadline, info
            time.sleep(0.05)
        destination.wait(timeout=30)
    finally:
        if destination.poll() is None:
            destination.kill()
            destination.wait()
        stderr.close()
        shutil.rmtree(sockdir, ignore_errors=True)
    error = (tmp_path / "nodisk.stderr").read_text()
    assert destination.returncode != 0
    assert "virtio" in error or "section" in error, error
    # Without a return path the source reports completed and waits in
    # postmigrate (as QEMU's); cont takes the guest back, with its disk.
    if info["status"] == "completed":
        assert source.status() == "postmigrate"
        source.command("cont")
    assert source.status() == "running"
    finish(source, disk)


def memfd(size=MEMORY):
    return ["-M", "virt,memory-backend=ram0",
            "-object", f"memory-backend-memfd,id=ram0,size={size},share=on"]


def hide(disk):
    """Moves the image away from the path on the command line: a program
    that opened it again instead of taking the descriptor handed over (and
    its lock) would fail to start."""
    moved = disk.with_name("moved-" + disk.name)
    disk.rename(moved)
    return moved


def test_cpr_transfer_while_the_guest_writes(godwit, linux_images, tmp_path, machines):
    disk, source = start_pair(godwit, linux_images, tmp_path, machines, backend=memfd())
    disk_now = hide(disk)
    sockdir = pathlib.Path(tempfile.mkdtemp(prefix="gwcpr", dir="/tmp"))
    main = {"channel-type": "main", "addr": {"transport": "socket", "type": "unix", "path": str(sockdir / "m.sock")}}
    cpr = {"channel-type": "cpr", "addr": {"transport": "socket", "type": "unix", "path": str(sockdir / "c.sock")}}
    new = Linux(godwit, linux_images, disk, tmp_path, "new", backend=memfd(),
                extra=["-incoming", f"unix:{sockdir / 'm.sock'}", "-incoming", json.dumps(cpr)])
    machines.append(new)
    deadline = time.monotonic() + 20
    while not (sockdir / "c.sock").exists():
        assert new.proc.poll() is None and time.monotonic() < deadline, new.describe()
        time.sleep(0.02)
    source.command("migrate-set-parameters", {"mode": "cpr-transfer"})
    source.command("migrate", {"channels": [main, cpr]})
    info = source.wait_migration()
    moved_at = records_on(source)
    print(f"\ncpr-transfer: downtime {info.get('downtime')} ms after record {moved_at}")
    # The old process cannot run the guest again on an image it handed over.
    assert source.status() == "postmigrate"
    reply = source.qmp.execute("cont")
    assert "handed over to the new process" in reply.get("error", {}).get("desc", ""), reply
    new.connect()
    finish(new, disk_now)
    shutil.rmtree(sockdir, ignore_errors=True)


def test_cpr_exec_while_the_guest_writes(godwit, linux_images, tmp_path, machines):
    disk, source = start_pair(godwit, linux_images, tmp_path, machines, backend=memfd())
    pid = source.proc.pid
    state = tmp_path / "vm.state"
    after = [arg if arg != f"file:{source.serial_path}" else f"file:{tmp_path / 'after.log'}" for arg in source.cmd]
    (tmp_path / "after.log").write_bytes(b"")
    source.command("migrate-set-parameters", {"mode": "cpr-exec", "cpr-exec-command": after + ["-incoming", f"file:{state}"]})
    disk_now = hide(disk)
    source.command("migrate", {"uri": f"file:{state}"})
    moved_at = records_on(source)
    # The same process (and QMP connection) now runs the new program.
    source.serial_path = tmp_path / "after.log"
    source.wait_line(r"^workload: record \d+$")
    assert source.proc.pid == pid
    first = min(int(n) for n in re.findall(r"^workload: record (\d+)$", source.text(), re.MULTILINE))
    assert first >= moved_at
    finish(source, disk_now)


def test_cpr_reboot_while_the_guest_writes(godwit, linux_images, tmp_path, machines):
    shm = pathlib.Path(tempfile.mkdtemp(prefix="godwit-linux-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    ram = ["-M", "virt,memory-backend=ram0",
           "-object", f"memory-backend-file,id=ram0,size={MEMORY},mem-path={shm / 'ram'},share=on"]
    try:
        disk, source = start_pair(godwit, linux_images, tmp_path, machines, backend=ram)
        state = tmp_path / "vm.state"
        source.command("migrate-set-parameters", {"mode": "cpr-reboot"})
        source.command("migrate-set-capabilities", {"capabilities": [{"capability": "x-ignore-shared", "state": True}]})
        source.command("migrate", {"uri": f"file:{state}"})
        info = source.wait_migration()
        moved_at = records_on(source)
        source.command("quit")
        assert source.wait_exit(timeout=20) == 0
        print(f"\ncpr-reboot: downtime {info.get('downtime')} ms after record {moved_at}")
        restarted = Linux(godwit, linux_images, disk, tmp_path, "restarted", backend=ram,
                          extra=["-incoming", "defer"]).connect()
        machines.append(restarted)
        restarted.command("migrate-set-parameters", {"mode": "cpr-reboot"})
        restarted.command("migrate-set-capabilities",
                          {"capabilities": [{"capability": "x-ignore-shared", "state": True}]})
        restarted.command("migrate-incoming", {"uri": f"file:{state}"})
        finish(restarted, disk)
    finally:
        shutil.rmtree(shm, ignore_errors=True)


def test_a_read_only_disk_fails_the_guests_writes_not_godwit(godwit, linux_images, tmp_path):
    disk = fresh_disk(linux_images, tmp_path)
    before = disk.read_bytes()
    serial = tmp_path / "ro.log"
    serial.write_bytes(b"")
    cmd = command(godwit, linux_images, disk, f"file:{serial}", append=kernel_args(records=10), memory=MEMORY,
                  console=False, rng=False)
    cmd = [arg.replace("id=disk0", "id=disk0,readonly=on") for arg in cmd]
    stderr = open(tmp_path / "ro.stderr", "wb")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        deadline = time.monotonic() + BOOT_TIMEOUT
        failed = re.compile(r"^(workload: error.*|init: (cannot mount|no workload).*)$", re.MULTILINE)
        while not failed.search(serial.read_text(errors="replace")):
            assert proc.poll() is None, serial.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, serial.read_text(errors="replace")[-3000:]
            time.sleep(0.2)
        print("\nthe guest saw: " + failed.search(serial.read_text(errors="replace")).group(0))
        time.sleep(1)
        assert proc.poll() in (None, 0), f"godwit ended with {proc.returncode} when the guest wrote a read-only disk"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        stderr.close()
    assert disk.read_bytes() == before, "a read-only disk changed"
