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

The stall of a TCP connection across godwit's live migration, cpr-transfer
and cpr-exec over tap is measured by tests/test_linux_tap.py; QEMU 10 has no
such figures to put beside them: its cpr-transfer and cpr-exec reopen the tap
instead of keeping it.

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

ROOT = pathlib.Path(__file__).resolve().parent.parent
GUEST = "10.0.3.15"


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


def run_machine(kind, binary, images, workdir, netns, args):
    # The machine runs inside the namespace through a wrapper, so that its
    # command line stays the one linux_machine.py gives every machine.
    wrapper = workdir / f"{kind}-in-netns.sh"
    wrapper.write_text(f"#!/bin/sh\nexec ip netns exec {netns} {binary} \"$@\"\n")
    wrapper.chmod(0o755)
    disk = workdir / f"{kind}.img"
    lm.fresh_disk(images[2], disk)
    vm = lm.LinuxVm(kind, wrapper, images, disk, workdir, kind, memory="256M",
                    append=f"console=ttyS0 godwit.run=net godwit.ip={GUEST}/24 godwit.gw=10.0.3.1",
                    extra=["-netdev", "tap,id=n0,ifname=gb0,script=no,downscript=no",
                           "-device", "virtio-net-device,netdev=n0"])
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
        ip(netns, "tuntap", "add", "dev", "gb0", "mode", "tap")
        ip(netns, "link", "set", "gb0", "master", "br0")
        ip(netns, "link", "set", "gb0", "up")
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
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
