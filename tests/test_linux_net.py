"""The Linux guest's network: virtio-net-device on -netdev user (libslirp),
the same command line on godwit and on QEMU 10. The guest (godwit.run=net)
brings eth0 up at 10.0.2.15, pings its gateway, serves /www over HTTP on
port 80 and fetches a file from the host; the host reaches the guest's
server through hostfwd. One guest then moves by live migration, cpr-transfer
and cpr-exec and serves on after each move."""
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


def wait_completed(client, log, timeout=60):
    deadline = time.monotonic() + timeout
    while (info := client.execute("query-migrate")["return"]).get("status") != "completed":
        assert info.get("status") not in ("failed", "cancelled"), f"{info}\n{log.read_text()}"
        assert time.monotonic() < deadline, info
        time.sleep(0.05)


def wait_running(client, alive, log, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if client.execute("query-status")["return"]["status"] == "running":
                return
        except OSError:
            pass  # a cpr-exec's new program has not answered yet
        assert alive() and time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)


def start_like(cmd, replace, extra, log):
    """A process with `cmd` after the (old, new) substitutions in `replace`."""
    for old, new in replace:
        cmd = [arg.replace(old, new) for arg in cmd]
    return cmd, subprocess.Popen(cmd + extra, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=open(log, "wb"))


def test_a_moved_guest_serves_on_after_live_migration_cpr_transfer_and_cpr_exec(godwit, linux_images, tmp_path,
                                                                                host_server):
    """One guest moves three times. A live migration to another process
    (another host port) keeps the NIC's state: the guest answers at the
    destination's forward. Then cpr-transfer and cpr-exec: the new process
    takes the hostfwd port once the old one lets it go (at the switchover).
    Connections made before a move end with the old process, as libslirp
    cannot hand its TCP state over; new ones reach the guest."""
    sockdir = pathlib.Path(tempfile.mkdtemp(prefix="gwnet", dir="/tmp"))
    port = free_port()
    qmp = sockdir / "src.sock"
    memfd = ["-M", "virt,memory-backend=ram0", "-object", f"memory-backend-memfd,id=ram0,size={MEMORY},share=on"]
    source = boot(godwit, linux_images, tmp_path, "source", port, host_server[0],
                  extra=memfd + ["-qmp", f"unix:{qmp},server=on,wait=off"])
    processes = []
    try:
        check_network(source, port, host_server)
        # 1. Live migration: the same machine on another host port.
        dst_port = free_port()
        dst_qmp = sockdir / "dst.sock"
        (tmp_path / "dst-console.log").write_bytes(b"")
        dst_log = tmp_path / "dst.stderr"
        cmd, destination = start_like(source.cmd, [(f"127.0.0.1:{port}-", f"127.0.0.1:{dst_port}-"),
                                                   (str(qmp), str(dst_qmp)),
                                                   (str(tmp_path / "source" / "console.log"),
                                                    str(tmp_path / "dst-console.log"))],
                                      ["-incoming", "defer"], dst_log)
        processes.append(destination)
        src = QMPClient(qmp, timeout=30, alive=lambda: source.proc.poll() is None)
        dst = QMPClient(dst_qmp, timeout=30, alive=lambda: destination.poll() is None)
        uri = f"unix:{sockdir / 'mig.sock'}"
        assert "return" in dst.execute("migrate-incoming", {"uri": uri})
        assert "return" in src.execute("migrate", {"uri": uri})
        wait_completed(src, dst_log)
        wait_running(dst, lambda: destination.poll() is None, dst_log)
        # The NIC came with its MAC, filter and queues: the guest answers at
        # the destination's forward, with every byte.
        assert fetch(dst_port, "seq.txt") == SEQ
        # QMP announce-self, as QEMU's (the destination already announced
        # on its own when the guest ran).
        assert dst.execute("announce-self", {"initial": 10, "max": 20, "rounds": 2, "step": 5}) == {"return": {}}
        bad = dst.execute("announce-self", {"rounds": -1})
        assert bad.get("error", {}).get("desc") == "Parameter 'rounds' expects a value from 0 to 100000", bad
        source.stop()

        # 2. cpr-transfer to a new process on the same port.
        main = {"channel-type": "main", "addr": {"transport": "socket", "type": "unix", "path": str(sockdir / "m.sock")}}
        cpr = {"channel-type": "cpr", "addr": {"transport": "socket", "type": "unix", "path": str(sockdir / "c.sock")}}
        new_qmp = sockdir / "new.sock"
        (tmp_path / "new-console.log").write_bytes(b"")
        new_log = tmp_path / "new.stderr"
        cmd, new = start_like(cmd, [(str(dst_qmp), str(new_qmp)),
                                    (str(tmp_path / "dst-console.log"), str(tmp_path / "new-console.log"))],
                              ["-incoming", f"unix:{sockdir / 'm.sock'}", "-incoming", json.dumps(cpr)], new_log)
        processes.append(new)
        deadline = time.monotonic() + 30
        while not (sockdir / "c.sock").exists():
            assert new.poll() is None and time.monotonic() < deadline, new_log.read_text()
            time.sleep(0.02)
        assert "return" in dst.execute("migrate-set-parameters", {"mode": "cpr-transfer"})
        assert "return" in dst.execute("migrate", {"channels": [main, cpr]})
        wait_completed(dst, new_log)
        assert fetch(dst_port, "seq.txt") == SEQ
        reply = dst.execute("cont")
        assert "handed over to the new process" in reply.get("error", {}).get("desc", ""), reply
        assert "return" in dst.execute("quit")
        destination.wait(timeout=30)

        # 3. cpr-exec: the new process execs godwit again.
        client = QMPClient(new_qmp, timeout=30, alive=lambda: new.poll() is None)
        state = tmp_path / "vm.state"
        assert "return" in client.execute("migrate-set-parameters", {"mode": "cpr-exec",
                                                                     "cpr-exec-command": cmd + ["-incoming", f"file:{state}"]})
        assert "return" in client.execute("migrate", {"uri": f"file:{state}"})
        wait_running(client, lambda: new.poll() is None, new_log)
        assert fetch(dst_port, "seq.txt") == SEQ
        assert "Could not set up host forwarding" not in new_log.read_text()
    finally:
        source.stop()
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        shutil.rmtree(sockdir, ignore_errors=True)
