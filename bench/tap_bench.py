#!/usr/bin/env python3
"""The Linux guest's network over tap on godwit against QEMU, in one run,
side by side.

A network namespace of its own holds a bridge (10.0.3.1/24) and a tap port;
each machine in turn boots the Linux guest there with the same command line
(bench/linux_machine.py's, plus -netdev tap,ifname=gb0,script=no,downscript=no
and virtio-net-device), and the guest (godwit.run=net) serves TCP echo on
port 7 at 10.0.3.15. From the namespace:

  throughput  --megabytes (default 32) MB streamed through the echo server
              at full speed, both ways at once: MB/s each way
  latency     --round-trips (default 300) 64-byte messages echoed one at a
              time on one connection: the median and 90th percentile

  moves       a second guest on taps gbA and gbB (memfd RAM), with
              scripts/net-stream.py keeping one TCP connection streaming
              through its echo server (2 MB/s, every byte checked) and
              pinging it every 50 ms, while it live-migrates from gbA to a
              second process on gbB, then goes through cpr-transfer and (godwit)
              cpr-exec: the longest pause of the echo in each move, the
              pings lost, the downtime QMP reports. QEMU 10's cpr-transfer
              opens the tap again by name while the old process still holds
              it (it does not hand taps over), and it has no cpr-exec.

    python3 bench/tap_bench.py
    python3 bench/tap_bench.py --machines godwit --json tap.json

Needs root (CAP_NET_ADMIN: namespaces and taps). About a minute on a 2-CPU
host. Exit status 1 when a machine that was asked for failed.
"""
import argparse
import json
import os
import pathlib
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import linux_machine as lm  # noqa: E402
from cpr_bench import channel, strip_incoming, wait_migrate, wait_path, wait_status  # noqa: E402
from timeline import BenchError  # noqa: E402
from qmp_client import QMPError  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
GUEST = "10.0.3.15"
STREAM = ROOT / "scripts/net-stream.py"
RAM = "256M"
MEMFD = ["-object", f"memory-backend-memfd,id=ram0,size={RAM},share=on", "-M", "virt,memory-backend=ram0,aux-ram-share=on"]


def client(megabytes, round_trips):
    """Runs inside the namespace: prints the figures as JSON."""
    total = int(megabytes * 1e6)
    block = os.urandom(1 << 16)
    with socket.create_connection((GUEST, 7), timeout=30) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        times = []
        for i in range(round_trips):
            message = block[i % 1000:i % 1000 + 64]
            started = time.monotonic()
            s.sendall(message)
            got = b""
            while len(got) < 64:
                got += s.recv(64 - len(got))
            times.append((time.monotonic() - started) * 1000)
            if got != message:
                raise SystemExit("a round trip came back wrong")
        s.setblocking(False)
        selector = selectors.DefaultSelector()
        selector.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
        sent = received = 0
        started = time.monotonic()
        while received < total:
            for _, events in selector.select(10):
                if events & selectors.EVENT_WRITE and sent < total and sent - received < (4 << 20):
                    try:
                        sent += s.send(block[:min(len(block), total - sent)])
                    except BlockingIOError:
                        pass
                if events & selectors.EVENT_READ:
                    data = s.recv(1 << 20)
                    if not data:
                        raise SystemExit("the guest closed the connection")
                    received += len(data)
            if time.monotonic() - started > 300:
                raise SystemExit("the stream stalled")
        elapsed = time.monotonic() - started
    times.sort()
    print(json.dumps({"mb_per_s": total / elapsed / 1e6, "rtt_ms_median": statistics.median(times),
                      "rtt_ms_p90": times[int(len(times) * 0.9) - 1]}))


def ip(netns, *args):
    subprocess.run(["ip", "-n", netns] + list(args), check=True, capture_output=True)


def in_netns(kind, binary, workdir, netns):
    """A wrapper that runs `binary` inside the namespace, so that the command
    line stays the one linux_machine.py gives every machine (and cpr-exec
    can exec it again)."""
    wrapper = workdir / f"{kind}-in-netns.sh"
    wrapper.write_text(f"#!/bin/sh\nexec ip netns exec {netns} {binary} \"$@\"\n")
    wrapper.chmod(0o755)
    return wrapper


def guest_vm(kind, wrapper, images, disk, workdir, name, tap, extra=()):
    return lm.LinuxVm(kind, wrapper, images, disk, workdir, name, memory=RAM,
                      append=f"console=ttyS0 godwit.run=net godwit.ip={GUEST}/24 godwit.gw=10.0.3.1",
                      extra=["-netdev", f"tap,id=n0,ifname={tap},script=no,downscript=no",
                             "-device", "virtio-net-device,netdev=n0"] + list(extra))


def run_machine(kind, binary, images, workdir, netns, args):
    wrapper = in_netns(kind, binary, workdir, netns)
    disk = workdir / f"{kind}.img"
    lm.fresh_disk(images[2], disk)
    vm = guest_vm(kind, wrapper, images, disk, workdir, kind, "gb0")
    try:
        vm.wait_line(r"^netecho: listening on 7", args.boot_timeout)
        out = subprocess.run(["ip", "netns", "exec", netns, sys.executable, __file__, "--client",
                              "--megabytes", str(args.megabytes), "--round-trips", str(args.round_trips)],
                             capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise lm.GuestError(f"{kind}: {out.stderr.strip() or out.stdout.strip()}")
        return dict(json.loads(out.stdout), machine=kind, status="ok")
    finally:
        vm.stop()


class Stream:
    """scripts/net-stream.py in the namespace and what it last reported."""

    def __init__(self, netns, workdir):
        self.path = workdir / "stream.json"
        self.proc = subprocess.Popen(["ip", "netns", "exec", netns, sys.executable, str(STREAM), GUEST,
                                      str(self.path), "2000000"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

    def status(self):
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {"verified": 0, "error": None, "mismatch_at": None, "gaps": [], "pings": []}

    def flowing(self, more=256 * 1024, timeout=60):
        start = self.status()["verified"]
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            if status["error"] or status["mismatch_at"] is not None:
                raise BenchError(f"the connection broke: {status['error'] or 'a byte came back wrong'}")
            if status["verified"] >= start + more:
                return
            if time.monotonic() > deadline:
                raise BenchError(f"the stream stalled at {status['verified']} bytes")
            time.sleep(0.05)

    def measure(self, started, ended):
        status = self.status()
        stall = max((length for at, length in status["gaps"] if at <= ended and at + length >= started),
                    default=0.0)
        pings = [p for p in status["pings"] if started <= p[1] <= ended + 1.0]
        return {"stall_ms": round(stall * 1000), "pings_lost": sum(1 for p in pings if not p[2]),
                "pings": len(pings)}

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        return self.status()


def run_moves(kind, binary, images, workdir, netns, args):
    """Live migration gbA -> gbB, cpr-transfer, (godwit) cpr-exec, one
    connection streaming through all of them."""
    moves = {}
    wrapper = in_netns(kind, binary, workdir, netns)
    disk = workdir / f"{kind}-moves.img"
    lm.fresh_disk(images[2], disk)
    vms, stream = [], None
    try:
        src = guest_vm(kind, wrapper, images, disk, workdir, f"{kind}-a", "gbA", MEMFD)
        vms.append(src)
        src.wait_line(r"^netecho: listening on 7", args.boot_timeout)
        stream = Stream(netns, workdir)
        stream.flowing()
        # Live migration to a second process on gbB.
        dst = guest_vm(kind, wrapper, images, disk, workdir, f"{kind}-b", "gbB", MEMFD + ["-incoming", "defer"])
        vms.append(dst)
        sock = dst.sock("mig.sock")
        dst.qmp().command("migrate-incoming", uri=f"unix:{sock}")
        wait_path(sock, 20, dst)
        started = time.monotonic()
        src.qmp().command("migrate", uri=f"unix:{sock}")
        info = wait_migrate(src.qmp(), 120, src.alive)
        if info["status"] != "completed":
            raise BenchError(f"live migration {info['status']}: {info.get('error-desc')}")
        wait_status(dst.qmp(), ("running",), 30)
        stream.flowing()
        moves["live migration"] = stream.measure(started, time.monotonic()) | {"downtime_ms": info.get("downtime")}
        src.stop()
        # cpr-transfer to a third process, which must take gbB over.
        main_sock, cpr_sock = dst.sock("main.sock"), dst.sock("cpr.sock")
        new = guest_vm(kind, wrapper, images, disk, workdir, f"{kind}-c", "gbB",
                       MEMFD + ["-incoming", f"unix:{main_sock}", "-incoming", json.dumps(channel("cpr", cpr_sock))])
        vms.append(new)
        try:
            wait_path(cpr_sock, 20, new)
            dst.qmp().command("migrate-set-parameters", mode="cpr-transfer")
            started = time.monotonic()
            dst.qmp().command("migrate", channels=[channel("main", main_sock), channel("cpr", cpr_sock)])
            info = wait_migrate(dst.qmp(), 60, dst.alive)
            if info["status"] != "completed":
                raise BenchError(f"{info['status']}: {info.get('error-desc')}")
            wait_status(new.qmp(), ("running",), 30)
            stream.flowing()
            moves["cpr-transfer"] = stream.measure(started, time.monotonic()) | {"downtime_ms": info.get("downtime")}
        except (BenchError, QMPError, lm.GuestError, OSError) as error:
            detail = new.stderr_text(400).strip().splitlines()
            moves["cpr-transfer"] = {"failed": str(error).splitlines()[0] + (f" ({detail[-1]})" if detail else "")}
            return moves
        dst.stop()
        if kind == "godwit":
            state = workdir / "cpr-exec.state"
            client = new.qmp()
            client.command("migrate-set-parameters", **{"mode": "cpr-exec",
                                                         "cpr-exec-command": strip_incoming(new.cmd) +
                                                         ["-incoming", f"file:{state}"]})
            started = time.monotonic()
            client.command("migrate", uri=f"file:{state}")
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.command("query-status")["status"] == "running":
                        break
                except QMPError:
                    pass
                if time.monotonic() > deadline:
                    raise BenchError("cpr-exec: the new program did not run the guest")
                time.sleep(0.01)
            stream.flowing()
            moves["cpr-exec"] = stream.measure(started, time.monotonic())
        final = stream.stop()
        stream = None
        if final["error"] or final["mismatch_at"] is not None:
            raise BenchError(f"the connection broke: {final['error'] or 'a byte came back wrong'}")
        for move in moves.values():
            move["bytes_exact"] = final["verified"]
        return moves
    finally:
        if stream is not None:
            stream.proc.kill()
        for vm in vms:
            vm.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--godwit", default=os.environ.get("GODWIT", ROOT / "build/release/godwit"))
    parser.add_argument("--qemu", default=shutil.which("qemu-system-riscv64"))
    parser.add_argument("--images", default=lm.DEFAULT_IMAGES)
    parser.add_argument("--machines", default="godwit,qemu")
    parser.add_argument("--megabytes", type=float, default=32)
    parser.add_argument("--round-trips", type=int, default=300)
    parser.add_argument("--boot-timeout", type=float, default=120.0)
    parser.add_argument("--json", type=pathlib.Path)
    parser.add_argument("--no-moves", action="store_true", help="skip the moves (throughput and latency only)")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client(args.megabytes, args.round_trips)
        return 0
    images = lm.images_in(args.images)
    netns = f"gwbench{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", netns], capture_output=True, text=True)
    if made.returncode != 0:
        print(f"tap_bench needs CAP_NET_ADMIN to make a network namespace: {made.stderr.strip()}")
        return 1
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="gwtapbench"))
    results, failed = [], False
    try:
        ip(netns, "link", "set", "lo", "up")
        ip(netns, "link", "add", "br0", "type", "bridge")
        ip(netns, "addr", "add", "10.0.3.1/24", "dev", "br0")
        ip(netns, "link", "set", "br0", "up")
        for tap in ("gb0", "gbA", "gbB"):
            ip(netns, "tuntap", "add", "dev", tap, "mode", "tap")
            ip(netns, "link", "set", tap, "master", "br0")
            ip(netns, "link", "set", tap, "up")
        for kind in args.machines.split(","):
            binary = args.godwit if kind == "godwit" else args.qemu
            if not binary:
                print(f"{kind}: not found, skipped")
                continue
            try:
                result = run_machine(kind, binary, images, workdir, netns, args)
            except (lm.GuestError, OSError, subprocess.TimeoutExpired) as error:
                result = {"machine": kind, "status": "failed", "error": str(error)}
                failed = True
            if not args.no_moves and result["status"] == "ok":
                try:
                    result["moves"] = run_moves(kind, binary, images, workdir, netns, args)
                except (BenchError, QMPError, lm.GuestError, OSError, subprocess.TimeoutExpired) as error:
                    result["moves"] = {"all": {"failed": str(error).splitlines()[0]}}
                    failed = failed or kind == "godwit"
            results.append(result)
            print(f"[{kind}] {result}")
    finally:
        subprocess.run(["ip", "netns", "del", netns], capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)
    print("\nHost <-> guest over tap (TCP echo through the guest, both ways at once):")
    print(f"{'machine':8} {'MB/s each way':>14} {'RTT ms (median)':>16} {'RTT ms (p90)':>13}")
    ok = {r["machine"]: r for r in results if r["status"] == "ok"}
    for r in results:
        if r["status"] != "ok":
            print(f"{r['machine']:8} failed: {r['error']}")
            continue
        print(f"{r['machine']:8} {r['mb_per_s']:14.2f} {r['rtt_ms_median']:16.3f} {r['rtt_ms_p90']:13.3f}")
    if "godwit" in ok and "qemu" in ok:
        g, q = ok["godwit"], ok["qemu"]
        print(f"godwit/QEMU: throughput {g['mb_per_s'] / q['mb_per_s']:.2f}x, "
              f"round trip {g['rtt_ms_median'] / q['rtt_ms_median']:.2f}x")
    if any("moves" in r for r in results):
        print("\nOne TCP connection (2 MB/s through the guest's echo server) across each move:")
        print(f"{'machine':8} {'move':15} {'echo stall ms':>14} {'pings lost':>11} {'downtime ms':>12}")
        for r in results:
            for move, m in r.get("moves", {}).items():
                if "failed" in m:
                    print(f"{r['machine']:8} {move:15} failed: {m['failed']}")
                    continue
                lost = f"{m['pings_lost']}/{m['pings']}"
                down = "-" if m.get("downtime_ms") is None else str(m["downtime_ms"])
                print(f"{r['machine']:8} {move:15} {m['stall_ms']:14} {lost:>11} {down:>12}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
