"""The Linux guest on -netdev tap: a network namespace of its own with a
bridge (10.0.3.1/24) and tap ports, the guest at 10.0.3.15 serving TCP echo
on port 7 (guests/linux/netecho.c). A client in the namespace (scripts/net-stream.py)
keeps one connection streaming checksummed data through the guest, and pings
it, while the guest

  1. live-migrates from a godwit on tap gtA (opened and brought into the
     bridge by an up script) to a second godwit on tap gt1, on the same
     bridge: the destination's announcement moves the guest's MAC in the
     bridge's table;
  2. goes through cpr-transfer: a new process takes gt1's descriptor over;
  3. goes through cpr-exec: that process execs godwit again, keeping it.

The connection must survive all three with every byte exact; the stall of
the echo and the pings lost in each move are measured and printed. Skipped,
saying why, where the process cannot make namespaces and taps
(CAP_NET_ADMIN)."""
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from linux_guest import LinuxGuest, fresh_disk, kernel_args, linux_images  # noqa: F401
from qmp_client import QMPClient

MEMORY = "256M"
GUEST_MAC = "52:54:00:12:34:56"
STREAM = pathlib.Path(__file__).resolve().parent.parent / "scripts/net-stream.py"


def run(*args, check=True):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=check)


@pytest.fixture(scope="module")
def netns():
    """A namespace with bridge br0 (10.0.3.1/24) and a persistent tap gt1 in it."""
    name = f"gwtap{os.getpid()}"
    if not shutil.which("ip"):
        pytest.skip("tap tests need iproute2's ip")
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"tap tests need CAP_NET_ADMIN to make a network namespace: {made.stderr.strip()}")
    try:
        for cmd in (["link", "set", "lo", "up"],
                    ["link", "add", "br0", "type", "bridge"],
                    ["addr", "add", "10.0.3.1/24", "dev", "br0"],
                    ["link", "set", "br0", "up"],
                    ["tuntap", "add", "dev", "gt1", "mode", "tap"],
                    ["link", "set", "gt1", "master", "br0"],
                    ["link", "set", "gt1", "up"]):
            result = subprocess.run(["ip", "-n", name] + cmd, capture_output=True, text=True)
            if result.returncode != 0:
                pytest.skip(f"tap tests cannot set up their network (ip {' '.join(cmd)}): {result.stderr.strip()}")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def memfd():
    return ["-M", "virt,memory-backend=ram0", "-object", f"memory-backend-memfd,id=ram0,size={MEMORY},share=on"]


def tap_guest(godwit, images, disk, workdir, name, netns, netdev, extra=()):
    """A godwit process in the namespace, with QMP; its files in workdir/NAME."""
    append = kernel_args(run="net", extra="godwit.ip=10.0.3.15/24 godwit.gw=10.0.3.1")
    return LinuxGuest(godwit, images, disk, pathlib.Path(workdir) / name, append=append,
                      prefix=["ip", "netns", "exec", netns], qmp=True, memory=MEMORY, rng=False, console=False,
                      extra=memfd() + ["-netdev", netdev, "-device", "virtio-net-device,netdev=n0"] + list(extra))


class Stream:
    """net_stream.py in the namespace, and what it last reported."""

    def __init__(self, netns, workdir):
        self.status_path = pathlib.Path(workdir) / "stream.json"
        self.proc = subprocess.Popen(["ip", "netns", "exec", netns, sys.executable, str(STREAM), "10.0.3.15",
                                      str(self.status_path), "2000000"],
                                     stdout=subprocess.DEVNULL, stderr=open(pathlib.Path(workdir) / "stream.err", "wb"))

    def status(self):
        try:
            return json.loads(self.status_path.read_text())
        except (OSError, ValueError):
            return {"sent": 0, "verified": 0, "mismatch_at": None, "error": None, "gaps": [], "pings": []}

    def check(self):
        status = self.status()
        assert status["error"] is None and status["mismatch_at"] is None, status | {"pings": "..."}
        assert self.proc.poll() is None, (pathlib.Path(self.status_path).parent / "stream.err").read_text()
        return status

    def wait_flowing(self, more=256 * 1024, timeout=60):
        """Until `more` bytes beyond what is verified now have come back exact."""
        start = self.check()["verified"]
        deadline = time.monotonic() + timeout
        while self.check()["verified"] < start + more:
            assert time.monotonic() < deadline, f"the stream stalled at {self.status()['verified']} bytes"
            time.sleep(0.1)

    def finish(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)
        return self.status()


def moved(stream, started, ended):
    """The longest echo stall that overlaps [started, ended], and the pings
    sent then (and up to 1 s after) that went unanswered, out of how many."""
    status = stream.status()
    stall = max((length for at, length in status["gaps"] if at <= ended and at + length >= started), default=0.0)
    window = [p for p in status["pings"] if started <= p[1] <= ended + 1.0]
    return stall, sum(1 for p in window if not p[2]), len(window)


def bridge_port_of(netns, mac):
    out = run("bridge", "-n", netns, "fdb", "show", "br", "br0").stdout
    for line in out.splitlines():
        if line.startswith(mac + " dev "):
            return line.split()[2]
    return None


def test_a_connection_through_tap_survives_live_migration_cpr_transfer_and_cpr_exec(godwit, linux_images, tmp_path,
                                                                                   netns):
    up = tmp_path / "up.sh"
    up.write_text("#!/bin/sh\nip link set \"$1\" master br0 && ip link set \"$1\" up\n")
    down = tmp_path / "down.sh"
    down.write_text(f"#!/bin/sh\necho \"$1\" >>{tmp_path / 'down.txt'}\n")
    up.chmod(0o755)
    down.chmod(0o755)
    disk = fresh_disk(linux_images, tmp_path)
    machines = []
    stream = None
    try:
        source = tap_guest(godwit, linux_images, disk, tmp_path, "source", netns,
                          f"tap,id=n0,ifname=gtA,script={up},downscript={down}")
        machines.append(source)
        source.wait_line(r"^netecho: listening on 7")
        source.connect()
        stream = Stream(netns, tmp_path)
        stream.wait_flowing()
        assert bridge_port_of(netns, GUEST_MAC) == "gtA"
        figures = {}

        # 1. Live migration to a godwit on gt1, on the same bridge.
        destination = tap_guest(godwit, linux_images, disk, tmp_path, "destination", netns,
                               "tap,id=n0,ifname=gt1,script=no,downscript=no", extra=["-incoming", "defer"])
        machines.append(destination)
        destination.connect()
        # The destination announces with its own announce-* parameters.
        destination.command("migrate-set-parameters", {"announce-initial": 20, "announce-rounds": 3,
                                                       "announce-step": 30})
        uri = f"unix:{destination.sockdir / 'mig.sock'}"
        destination.command("migrate-incoming", {"uri": uri})
        started = time.monotonic()
        source.command("migrate", {"uri": uri})
        info = source.wait_migration()
        destination.wait_status("running")
        # The announcement (and the guest's own ARP) moved the MAC to gt1.
        deadline = time.monotonic() + 5
        while bridge_port_of(netns, GUEST_MAC) != "gt1":
            assert time.monotonic() < deadline, run("bridge", "-n", netns, "fdb", "show", "br", "br0").stdout
            time.sleep(0.05)
        stream.wait_flowing()
        figures["live migration"] = moved(stream, started, time.monotonic()) + (info.get("downtime"),)
        source.command("quit")
        source.proc.wait(timeout=30)
        # The source opened gtA by name: its downscript ran when it closed it.
        assert (tmp_path / "down.txt").read_text() == "gtA\n"

        # 2. cpr-transfer: a new process takes gt1's descriptor over.
        sockdir = destination.sockdir
        main = {"channel-type": "main", "addr": {"transport": "socket", "type": "unix",
                                                  "path": str(sockdir / "m.sock")}}
        cpr = {"channel-type": "cpr", "addr": {"transport": "socket", "type": "unix",
                                                "path": str(sockdir / "c.sock")}}
        new = tap_guest(godwit, linux_images, disk, tmp_path, "new", netns,
                       "tap,id=n0,ifname=gt1,script=no,downscript=no",
                       extra=["-incoming", f"unix:{sockdir / 'm.sock'}", "-incoming", json.dumps(cpr)])
        machines.append(new)
        deadline = time.monotonic() + 30
        while not (sockdir / "c.sock").exists():
            assert new.proc.poll() is None and time.monotonic() < deadline, new.describe()
            time.sleep(0.02)
        destination.command("migrate-set-parameters", {"mode": "cpr-transfer"})
        started = time.monotonic()
        destination.command("migrate", {"channels": [main, cpr]})
        info = destination.wait_migration()
        new.connect()
        new.wait_status("running")
        stream.wait_flowing()
        figures["cpr-transfer"] = moved(stream, started, time.monotonic()) + (info.get("downtime"),)
        # The old process gave the tap away: it cannot run the guest again.
        reply = destination.qmp.execute("cont")
        assert "handed over to the new process" in reply.get("error", {}).get("desc", ""), reply
        destination.command("quit")
        destination.proc.wait(timeout=30)

        # 3. cpr-exec: the new process execs godwit again, the tap kept open.
        state = tmp_path / "vm.state"
        after = new.cmd[:new.cmd.index("-incoming")]
        new.command("migrate-set-parameters", {"mode": "cpr-exec",
                                               "cpr-exec-command": after + ["-incoming", f"file:{state}"]})
        started = time.monotonic()
        new.command("migrate", {"uri": f"file:{state}"})
        new.wait_status("running")
        stream.wait_flowing()
        figures["cpr-exec"] = moved(stream, started, time.monotonic()) + (None,)

        final = stream.finish()
        assert final["error"] is None and final["mismatch_at"] is None, final | {"pings": "..."}
        print(f"\ntap: {final['verified']} bytes echoed exact over one connection")
        for move, (stall, lost, pings, downtime) in figures.items():
            print(f"tap {move}: echo stall {stall * 1000:.0f} ms, pings lost {lost}/{pings}"
                  + (f", downtime {downtime} ms" if downtime is not None else ""))
        stream = None
    finally:
        if stream is not None:
            stream.proc.kill()
        for machine in machines:
            machine.stop()


def test_bad_tap_options_end_with_one_clear_line(godwit, netns, tmp_path):
    def start(netdev, prefix=(), netns=netns):
        where = ["ip", "netns", "exec", netns] if netns else []
        result = subprocess.run(where + list(prefix) + [str(godwit), "-M", "virt", "-display", "none",
                                                       "-bios", "none", "-netdev", netdev, "-device",
                                                       "virtio-net-device,netdev=n0"],
                                capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        assert result.returncode == 1, result
        return result.stderr.strip()

    # A descriptor that is not a tap.
    assert "fd=0 is not a tap device" in start("tap,id=n0,fd=0")
    # A user without CAP_NET_ADMIN (nobody): /dev/net/tun is closed to it
    # here (root only), or, where it is open to all, TUNSETIFF refuses.
    # (Only where nobody may run godwit at all: a checkout under /root is closed to it.)
    if shutil.which("setpriv") and os.access(godwit, os.X_OK) and all(
            p.stat().st_mode & 0o001 for p in pathlib.Path(godwit).resolve().parents):
        line = start("tap,id=n0,ifname=gtnobody,script=no,downscript=no",
                     prefix=["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
        assert line.startswith("godwit: -netdev tap,id=n0,ifname=gtnobody,script=no,downscript=no: could not "), line
        assert "Permission denied" in line or "Operation not permitted" in line, line
    # A hostfwd port already taken.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = start(f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:80", netns=None)
    assert line == (f"godwit: -netdev user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:80: "
                    f"Could not set up host forwarding rule 'tcp:127.0.0.1:{port}-:80'"), line
    # An up script that fails: the tap it made is gone again.
    failing = tmp_path / "fail.sh"
    failing.write_text("#!/bin/sh\nexit 3\n")
    failing.chmod(0o755)
    assert f"network script {failing} failed with status" in start(f"tap,id=n0,ifname=gtbad,script={failing}")
    assert "gtbad" not in run("ip", "-n", netns, "link").stdout
    # A tap another process holds (gt1 is free here: hold it first).
    holder = TapGuestHolder(netns)
    try:
        assert "could not configure /dev/net/tun (gtheld): Device or resource busy" in \
            start("tap,id=n0,ifname=gtheld,script=no,downscript=no")
    finally:
        holder.release()


def test_netdev_add_makes_a_tap_and_netdev_del_closes_it(godwit, netns, tmp_path):
    qmp = tmp_path / "qmp.sock"
    proc = subprocess.Popen(["ip", "netns", "exec", netns, str(godwit), "-M", "virt", "-display", "none",
                             "-bios", "none", "-qmp", f"unix:{qmp},server=on,wait=off"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = QMPClient(qmp, timeout=30, alive=lambda: proc.poll() is None)
        reply = client.execute("netdev_add", {"type": "tap", "id": "t1", "ifname": "gtq", "script": "no",
                                              "downscript": "no", "vnet_hdr": True})
        assert reply == {"return": {}}, reply
        assert "gtq" in run("ip", "-n", netns, "link", "show", "gtq").stdout
        info = client.execute("human-monitor-command", {"command-line": "info network"})["return"]
        assert "t1: index=0,type=tap,ifname=gtq,script=no,downscript=no" in info, info
        reply = client.execute("netdev_add", {"type": "tap", "id": "t2", "fd": "nosuchname"})
        assert reply["error"]["desc"] == "File descriptor named 'nosuchname' has not been found", reply
        assert client.execute("netdev_del", {"id": "t1"}) == {"return": {}}
        # godwit made the tap: it goes with the descriptor.
        assert run("ip", "-n", netns, "link", "show", "gtq", check=False).returncode != 0
        client.close()
    finally:
        proc.kill()
        proc.wait()


class TapGuestHolder:
    """A godwit-independent process holding tap gtheld open in the namespace."""

    def __init__(self, netns):
        code = ("import fcntl, struct, sys, time\n"
                "fd = open('/dev/net/tun', 'r+b', buffering=0)\n"
                "fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH', b'gtheld', 0x0002 | 0x1000))\n"
                "print('held', flush=True)\n"
                "time.sleep(60)\n")
        self.proc = subprocess.Popen(["ip", "netns", "exec", netns, sys.executable, "-c", code],
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "held"

    def release(self):
        self.proc.kill()
        self.proc.wait()
