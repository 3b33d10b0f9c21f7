"""The Linux guest's network: virtio-net-device on -netdev user (libslirp),
the same command line on godwit and on QEMU 10. The guest (godwit.run=net)
brings eth0 up at 10.0.2.15, pings its gateway, serves /www over HTTP on
port 80 and fetches a file from the host; the host reaches the guest's
server through hostfwd. A live migration keeps the NIC's state: the guest
serves on at the destination."""
import hashlib
import json
import http.server
import pathlib
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request

import pytest

from linux_guest import BOOT_TIMEOUT, LinuxGuest, command, fresh_disk, kernel_args, linux_images  # noqa: F401
from qmp_client import QMPClient

SEQ = "".join(f"{n}\n" for n in range(1, 100001)).encode()
MEMORY = "256M"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def host_server(tmp_path):
    """An HTTP server on the host's loopback serving one file of 300 KiB;
    the guest reaches it as 10.0.2.2:PORT."""
    root = tmp_path / "www"
    root.mkdir()
    payload = bytes((i * 7 + 3) % 251 for i in range(300 * 1024))
    (root / "blob.bin").write_bytes(payload)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], hashlib.md5(payload).hexdigest(), len(payload)
    server.shutdown()


def fetch(port, path, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=20) as reply:
                return reply.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def boot(binary, images, tmp_path, name, port, server_port, extra=()):
    workdir = tmp_path / name
    workdir.mkdir()
    disk = fresh_disk(images, workdir)
    guest = LinuxGuest(binary, images, disk, workdir, memory=MEMORY, rng=False, console=False,
                       net=f"hostfwd=tcp:127.0.0.1:{port}-:80",
                       append=kernel_args(run="net", extra=f"godwit.fetch=http://10.0.2.2:{server_port}/blob.bin"),
                       extra=list(extra))
    return guest


def check_network(guest, port, server):
    server_port, md5, size = server
    guest.wait_line(r"^init: network ready")
    text = guest.text()
    assert "init: eth0 10.0.2.15/24 via 10.0.2.2, mac 52:54:00:12:34:56" in text, guest.describe()
    assert "init: ping 10.0.2.2: 3 packets received" in text, guest.describe()
    assert f"init: fetched http://10.0.2.2:{server_port}/blob.bin: {size} bytes, md5 {md5}" in text, guest.describe()
    assert fetch(port, "index.html") == b"hello from the godwit guest\n"
    started = time.monotonic()
    assert fetch(port, "seq.txt") == SEQ
    return len(SEQ) / (time.monotonic() - started)


@pytest.mark.parametrize("machine", ["godwit", "qemu"])
def test_the_guest_has_a_network_as_on_qemu(godwit, qemu, linux_images, tmp_path, host_server, machine):
    binary = godwit if machine == "godwit" else qemu
    port = free_port()
    guest = boot(binary, linux_images, tmp_path, machine, port, host_server[0])
    try:
        rate = check_network(guest, port, host_server)
        print(f"\n{machine}: seq.txt from the guest's httpd through hostfwd at {rate / 1e6:.2f} MB/s")
    finally:
        guest.stop()


def test_a_live_migrated_guest_serves_on_at_the_destination(godwit, linux_images, tmp_path, host_server):
    sockdir = pathlib.Path(tempfile.mkdtemp(prefix="gwnet", dir="/tmp"))
    port = free_port()
    qmp = sockdir / "src.sock"
    source = boot(godwit, linux_images, tmp_path, "source", port, host_server[0],
                  extra=["-qmp", f"unix:{qmp},server=on,wait=off"])
    destination = None
    try:
        check_network(source, port, host_server)
        # The same machine on another host port (both run on this host).
        dst_port = free_port()
        dst_qmp = sockdir / "dst.sock"
        cmd = [arg.replace(f"127.0.0.1:{port}-", f"127.0.0.1:{dst_port}-") for arg in source.cmd]
        cmd = [arg if arg != f"unix:{qmp},server=on,wait=off" else f"unix:{dst_qmp},server=on,wait=off" for arg in cmd]
        cmd = [arg.replace(str(tmp_path / "source" / "console.log"), str(tmp_path / "dst-console.log")) for arg in cmd]
        (tmp_path / "dst-console.log").write_bytes(b"")
        destination = subprocess.Popen(cmd + ["-incoming", "defer"], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=open(tmp_path / "dst.stderr", "wb"))
        src = QMPClient(qmp, timeout=30, alive=lambda: source.proc.poll() is None)
        dst = QMPClient(dst_qmp, timeout=30, alive=lambda: destination.poll() is None)
        uri = f"unix:{sockdir / 'mig.sock'}"
        assert "return" in dst.execute("migrate-incoming", {"uri": uri})
        assert "return" in src.execute("migrate", {"uri": uri})
        deadline = time.monotonic() + 60
        while True:
            info = src.execute("query-migrate")["return"]
            if info.get("status") == "completed":
                break
            assert info.get("status") not in ("failed", "cancelled"), info
            assert time.monotonic() < deadline, info
            time.sleep(0.05)
        while dst.execute("query-status")["return"]["status"] != "running":
            assert time.monotonic() < deadline, (tmp_path / "dst.stderr").read_text()
            time.sleep(0.05)
        # The NIC came with its MAC, filter and queues: the guest answers at
        # the destination's forward, with every byte.
        assert fetch(dst_port, "seq.txt") == SEQ
        # QMP announce-self, as QEMU's (the destination already announced
        # on its own when the guest ran).
        assert dst.execute("announce-self", {"initial": 10, "max": 20, "rounds": 2, "step": 5}) == {"return": {}}
        bad = dst.execute("announce-self", {"rounds": -1})
        assert bad.get("error", {}).get("desc") == "Parameter 'rounds' expects a value from 0 to 100000", bad
        assert "return" in dst.execute("quit")
    finally:
        source.stop()
        if destination is not None and destination.poll() is None:
            destination.kill()
            destination.wait()
        shutil.rmtree(sockdir, ignore_errors=True)


def test_hostfwd_serves_on_after_cpr_transfer_and_cpr_exec(godwit, linux_images, tmp_path, host_server):
    """The new process takes the hostfwd port once the old one lets it go (at
    the switchover); connections made before end with the old process, as
    libslirp cannot hand its TCP state over, and new ones reach the guest."""
    sockdir = pathlib.Path(tempfile.mkdtemp(prefix="gwnetcpr", dir="/tmp"))
    port = free_port()
    qmp = sockdir / "old.sock"
    memfd = ["-M", "virt,memory-backend=ram0", "-object", f"memory-backend-memfd,id=ram0,size={MEMORY},share=on"]
    old = boot(godwit, linux_images, tmp_path, "old", port, host_server[0],
               extra=memfd + ["-qmp", f"unix:{qmp},server=on,wait=off"])
    new = None
    try:
        check_network(old, port, host_server)
        main = {"channel-type": "main", "addr": {"transport": "socket", "type": "unix", "path": str(sockdir / "m.sock")}}
        cpr = {"channel-type": "cpr", "addr": {"transport": "socket", "type": "unix", "path": str(sockdir / "c.sock")}}
        new_qmp = sockdir / "new.sock"
        cmd = [arg if arg != f"unix:{qmp},server=on,wait=off" else f"unix:{new_qmp},server=on,wait=off"
               for arg in old.cmd]
        cmd = [arg.replace(str(tmp_path / "old" / "console.log"), str(tmp_path / "new-console.log")) for arg in cmd]
        (tmp_path / "new-console.log").write_bytes(b"")
        new_stderr = tmp_path / "new.stderr"
        new = subprocess.Popen(cmd + ["-incoming", f"unix:{sockdir / 'm.sock'}", "-incoming", json.dumps(cpr)],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(new_stderr, "wb"))
        deadline = time.monotonic() + 30
        while not (sockdir / "c.sock").exists():
            assert new.poll() is None and time.monotonic() < deadline, new_stderr.read_text()
            time.sleep(0.02)
        src = QMPClient(qmp, timeout=30, alive=lambda: old.proc.poll() is None)
        assert "return" in src.execute("migrate-set-parameters", {"mode": "cpr-transfer"})
        assert "return" in src.execute("migrate", {"channels": [main, cpr]})
        deadline = time.monotonic() + 60
        while (info := src.execute("query-migrate")["return"]).get("status") != "completed":
            assert info.get("status") not in ("failed", "cancelled"), f"{info}\n{new_stderr.read_text()}"
            assert time.monotonic() < deadline, info
            time.sleep(0.05)
        # The same port now reaches the guest through the new process.
        assert fetch(port, "seq.txt") == SEQ
        reply = src.execute("cont")
        assert "handed over to the new process" in reply.get("error", {}).get("desc", ""), reply
        assert "return" in src.execute("quit")
        old.proc.wait(timeout=30)

        # cpr-exec: the new process execs godwit again.
        dst = QMPClient(new_qmp, timeout=30, alive=lambda: new.poll() is None)
        state = tmp_path / "vm.state"
        after = cmd + ["-incoming", f"file:{state}"]
        assert "return" in dst.execute("migrate-set-parameters", {"mode": "cpr-exec", "cpr-exec-command": after})
        assert "return" in dst.execute("migrate", {"uri": f"file:{state}"})
        deadline = time.monotonic() + 60
        while True:
            try:
                if dst.execute("query-status")["return"]["status"] == "running":
                    break
            except OSError:
                pass
            assert new.poll() is None and time.monotonic() < deadline, new_stderr.read_text()
            time.sleep(0.05)
        assert fetch(port, "seq.txt") == SEQ
        assert "Could not set up host forwarding" not in new_stderr.read_text()
    finally:
        old.stop()
        if new is not None and new.poll() is None:
            new.kill()
            new.wait()
        shutil.rmtree(sockdir, ignore_errors=True)
