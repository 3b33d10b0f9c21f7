"""Connections that survive CPR (godwit only: QEMU 10.0 lists this as future
work). Across cpr-exec and cpr-transfer, a QMP client, a second QMP client
that has not negotiated yet, an HMP client with half a line typed and a
client of the serial socket all stay connected:

- the QMP client receives MIGRATION completed (and RESUME if the guest ran)
  and its next command is answered by the new program (its query-migrate is
  the incoming side's, with x-load-us; under cpr-transfer the old process
  has exited by then);
- the second QMP client negotiates after the handover, without a second
  greeting;
- the HMP line typed before the handover runs when finished after it;
- the serial client reads the `count` guest's numbers 1, 2, 3, ... with none
  missing and none repeated, and never sees its connection close.

A failed cpr-exec leaves every connection with the old program, which
serves them again, and a cpr-transfer to a process with other sockets
leaves the old process its monitors.
"""
import json
import signal
import socket
import subprocess
import threading
import time

import pytest

from migration_helpers import cpr_channel, godwit_launcher, main_channel, sockdir  # noqa: F401 (fixtures)
from qmp_client import QMPClient

MEMORY = "64M"


class SerialReader(threading.Thread):
    """Reads a serial socket until it closes, keeping every byte."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.sock.connect(str(path))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        self.data = bytearray()
        self.lock = threading.Lock()
        self.eof = False
        self.start()

    def run(self):
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                self.eof = True
                return
            with self.lock:
                self.data.extend(chunk)

    def numbers(self):
        """The complete lines' numbers (a line cut by connecting late is skipped)."""
        with self.lock:
            text = bytes(self.data).decode(errors="replace")
        if text.startswith("A\n"):
            text = text[2:]
        elif "\n" in text:
            text = text[text.index("\n") + 1:]
        lines = text.split("\n")[:-1]  # the last one may be unfinished
        return [int(line) for line in lines]

    def wait_past(self, count, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            numbers = self.numbers()
            if numbers and numbers[-1] >= count:
                return numbers
            assert not self.eof, "the serial connection closed"
            assert time.monotonic() < deadline, f"the serial output stopped at {numbers[-1:]}"
            time.sleep(0.02)

    def close(self):
        self.sock.close()


def assert_consecutive(numbers):
    assert numbers, "no serial output"
    for before, after in zip(numbers, numbers[1:]):
        assert after == before + 1, f"serial output jumps from {before} to {after}: a byte was lost or repeated"


class Setup:
    """The `count` guest with memfd RAM, a serial socket, a QMP monitor
    (events on), a second QMP monitor whose client has only read its
    greeting, and an HMP monitor with `info sta` typed."""

    def __init__(self, godwit_launcher, sockdir, smp):
        self.sockdir = sockdir
        self.serial_path = sockdir / "serial.sock"
        self.qmp2_path = sockdir / "qmp2.sock"
        self.machine = godwit_launcher.start(
            "count", memory=MEMORY, smp=smp, hmp=True, serial="chardev:ser0",
            machine_opts="virt,memory-backend=ram0", append="period=200",
            extra=["-object", f"memory-backend-memfd,id=ram0,size={MEMORY},share=on",
                   "-chardev", f"socket,id=ser0,path={self.serial_path},server=on,wait=off",
                   "-chardev", f"socket,id=qmp2,path={self.qmp2_path},server=on,wait=off",
                   "-mon", "chardev=qmp2,mode=control"])
        self.qmp = self.machine.qmp()
        self.qmp.command("migrate-set-capabilities", capabilities=[{"capability": "events", "state": True}])
        self.unnegotiated = QMPClient(self.qmp2_path, negotiate=False)
        self.machine.clients.append(self.unnegotiated)
        self.hmp = self.machine.hmp()
        self.hmp.sock.sendall(b"info sta")
        self.serial = SerialReader(self.serial_path)
        self.serial.wait_past(50)

    def check_after(self, running, new_pid=None):
        """Every connection is the new program's now."""
        info = self.qmp.command("query-migrate")
        assert info.get("status") == "completed" and "x-load-us" in info, info
        status = self.qmp.command("query-status")["status"]
        assert status == ("running" if running else "paused"), status
        events = [(e["event"], e.get("data", {}).get("status")) for e in self.qmp.events()]
        assert ("MIGRATION", "completed") in events, events
        tail = events[events.index(("MIGRATION", "completed")):]
        assert (("RESUME", None) in tail) == running, events
        assert self.unnegotiated.execute("qmp_capabilities") == {"return": {}}
        assert self.unnegotiated.command("query-status")["status"] == status
        out = self.hmp.command("tus")
        assert f"VM status: {status}" in out, out
        if not running:
            self.qmp.command("cont")
        mark = self.serial.numbers()[-1]
        numbers = self.serial.wait_past(mark + 200)
        assert_consecutive(numbers)
        assert not self.serial.eof


def wait_new_program(client, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        info = client.command("query-migrate")
        assert info.get("status") != "failed", info
        if info.get("status") == "completed" and "x-load-us" in info:
            return info
        assert time.monotonic() < deadline, info
        time.sleep(0.02)


@pytest.mark.parametrize("smp", [1, 4])
@pytest.mark.parametrize("pause_first", [False, True], ids=["running", "paused"])
def test_connections_survive_cpr_exec(godwit_launcher, sockdir, tmp_path, smp, pause_first):
    setup = Setup(godwit_launcher, sockdir, smp)
    pid = setup.machine.pid
    if pause_first:
        setup.qmp.command("stop")
    state = tmp_path / "vm.state"
    setup.qmp.command("migrate-set-parameters", **{
        "mode": "cpr-exec", "cpr-exec-command": setup.machine.cmd + ["-incoming", f"file:{state}"]})
    setup.qmp.command("migrate", uri=f"file:{state}")
    wait_new_program(setup.qmp)
    assert setup.machine.pid == pid and setup.machine.alive()
    setup.check_after(running=not pause_first)


@pytest.mark.parametrize("smp", [1, 4])
@pytest.mark.parametrize("pause_first", [False, True], ids=["running", "paused"])
def test_connections_survive_cpr_transfer(godwit_launcher, sockdir, tmp_path, smp, pause_first):
    setup = Setup(godwit_launcher, sockdir, smp)
    old = setup.machine
    if pause_first:
        setup.qmp.command("stop")
    main_sock, cpr_sock = sockdir / "main.sock", sockdir / "cpr.sock"

    # The new process has the same options, so the same chardevs: it adopts
    # their sockets, and the old process's clients become its clients.
    stderr = open(tmp_path / "new.stderr", "wb")
    new = subprocess.Popen(old.cmd + ["-incoming", f"unix:{main_sock}", "-incoming", json.dumps(cpr_channel(cpr_sock))],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        deadline = time.monotonic() + 10
        while not cpr_sock.exists():
            assert new.poll() is None, (tmp_path / "new.stderr").read_text()
            assert time.monotonic() < deadline, "the new process never listened on its cpr channel"
            time.sleep(0.01)
        setup.qmp.command("migrate-set-parameters", mode="cpr-transfer")
        setup.qmp.command("migrate", channels=[main_channel(main_sock), cpr_channel(cpr_sock)])
        wait_new_program(setup.qmp)
        # Left with no monitor, the old process leaves on its own.
        assert old.wait_exit(10) == 0, old.describe()
        assert "took over every monitor connection" in old.stderr()
        assert new.poll() is None
        setup.check_after(running=not pause_first)
    finally:
        new.send_signal(signal.SIGTERM)
        try:
            new.wait(timeout=10)
        except subprocess.TimeoutExpired:
            new.kill()
            new.wait()
        stderr.close()


def test_a_failed_exec_gives_the_connections_back(godwit_launcher, sockdir, tmp_path):
    setup = Setup(godwit_launcher, sockdir, 1)
    setup.qmp.command("migrate-set-parameters", **{
        "mode": "cpr-exec", "cpr-exec-command": ["/nonexistent/godwit", "-incoming", f"file:{tmp_path / 's'}"]})
    setup.qmp.command("migrate", uri=f"file:{tmp_path / 's'}")
    deadline = time.monotonic() + 20
    while (info := setup.qmp.command("query-migrate"))["status"] != "failed":
        assert time.monotonic() < deadline, info
        time.sleep(0.02)
    assert "/nonexistent/godwit" in info["error-desc"]
    assert setup.qmp.command("query-status")["status"] == "running"
    # The second monitor's client was never told anything: it negotiates now.
    assert setup.unnegotiated.execute("qmp_capabilities") == {"return": {}}
    out = setup.hmp.command("tus")
    assert "VM status: running" in out, out
    mark = setup.serial.numbers()[-1]
    assert_consecutive(setup.serial.wait_past(mark + 200))


def test_cpr_transfer_to_other_sockets_leaves_the_old_monitors(godwit_launcher, sockdir, tmp_path):
    """A new process with its own sockets adopts nothing: the old process
    keeps its monitor (in postmigrate) and its serial client, as with QEMU."""
    setup = Setup(godwit_launcher, sockdir, 1)
    main_sock, cpr_sock = sockdir / "main.sock", sockdir / "cpr.sock"

    other = sockdir / "other"
    other.mkdir()
    new = godwit_launcher.start(
        "count", memory=MEMORY, serial="chardev:ser0", machine_opts="virt,memory-backend=ram0", append="period=200",
        extra=["-object", f"memory-backend-memfd,id=ram0,size={MEMORY},share=on",
               "-chardev", f"socket,id=ser0,path={other / 'serial.sock'},server=on,wait=off",
               "-incoming", f"unix:{main_sock}", "-incoming", json.dumps(cpr_channel(cpr_sock))])
    deadline = time.monotonic() + 10
    while not cpr_sock.exists():
        new.check_alive()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    setup.qmp.command("migrate-set-parameters", mode="cpr-transfer")
    setup.qmp.command("migrate", channels=[main_channel(main_sock), cpr_channel(cpr_sock)])
    deadline = time.monotonic() + 20
    while (info := setup.qmp.command("query-migrate"))["status"] != "completed":
        assert info["status"] != "failed", info
        assert time.monotonic() < deadline, info
        time.sleep(0.02)
    assert "x-load-us" not in info  # the old process answered
    assert setup.qmp.command("query-status")["status"] == "postmigrate"
    assert setup.machine.alive()
    new_client = new.qmp()
    deadline = time.monotonic() + 10
    while new_client.command("query-status")["status"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert not setup.serial.eof, "the old process dropped its serial client"
