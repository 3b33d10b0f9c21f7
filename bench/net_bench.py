#!/usr/bin/env python3
"""The Linux guest's network on godwit against QEMU, in one run, side by side.

Both machines get the same command line (bench/linux_machine.py's, plus
-netdev user with hostfwd=tcp:127.0.0.1:PORT-:80 and virtio-net-device), and
the guest runs godwit.run=net: eth0 at 10.0.2.15, busybox httpd on port 80
serving /www (seq.txt, 588,895 bytes). Through the host forward:

  throughput  seq.txt fetched --fetches times (default 5): MB/s of each, the
              median in the table
  latency     index.html (28 bytes) fetched --requests times (default 50) on
              fresh connections: the median and 90th percentile round trip,
              connection set-up included (busybox httpd closes after each)

    python3 bench/net_bench.py
    python3 bench/net_bench.py --machines godwit --json net.json

About a minute on a 2-CPU host. Exit status 1 when a machine that was asked
for failed (no network, a wrong byte).
"""
import argparse
import json
import os
import pathlib
import shutil
import socket
import statistics
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import linux_machine as lm  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEQ = "".join(f"{n}\n" for n in range(1, 100001)).encode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(port, path, timeout=30):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=timeout) as reply:
        return reply.read()


def run_machine(kind, binary, images, workdir, args):
    port = free_port()
    disk = workdir / f"{kind}.img"
    lm.fresh_disk(images[2], disk)
    vm = lm.LinuxVm(kind, binary, images, disk, workdir, kind, memory="256M",
                    append="console=ttyS0 godwit.run=net",
                    extra=["-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:80",
                           "-device", "virtio-net-device,netdev=n0"])
    try:
        vm.wait_line(r"^init: network ready", args.boot_timeout)
        if fetch(port, "seq.txt") != SEQ:  # warm up, and check every byte once
            raise lm.GuestError(f"{kind}: seq.txt came back wrong")
        rates = []
        for _ in range(args.fetches):
            started = time.monotonic()
            data = fetch(port, "seq.txt")
            elapsed = time.monotonic() - started
            if data != SEQ:
                raise lm.GuestError(f"{kind}: seq.txt came back wrong")
            rates.append(len(data) / elapsed / 1e6)
        round_trips = []
        for _ in range(args.requests):
            started = time.monotonic()
            fetch(port, "index.html")
            round_trips.append((time.monotonic() - started) * 1000)
        round_trips.sort()
        return {"machine": kind, "mb_per_s": rates, "median_mb_per_s": statistics.median(rates),
                "rtt_ms_median": statistics.median(round_trips),
                "rtt_ms_p90": round_trips[int(len(round_trips) * 0.9) - 1], "status": "ok"}
    finally:
        vm.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--godwit", default=os.environ.get("GODWIT", ROOT / "build/release/godwit"))
    parser.add_argument("--qemu", default=shutil.which("qemu-system-riscv64"))
    parser.add_argument("--images", default=lm.DEFAULT_IMAGES)
    parser.add_argument("--machines", default="godwit,qemu")
    parser.add_argument("--fetches", type=int, default=5)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--boot-timeout", type=float, default=120.0)
    parser.add_argument("--json", type=pathlib.Path)
    args = parser.parse_args()
    images = lm.images_in(args.images)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="gwnetbench"))
    results, failed = [], False
    try:
        for kind in args.machines.split(","):
            binary = args.godwit if kind == "godwit" else args.qemu
            if not binary:
                print(f"{kind}: not found, skipped")
                continue
            try:
                result = run_machine(kind, binary, images, workdir, args)
            except (lm.GuestError, OSError) as error:
                result = {"machine": kind, "status": "failed", "error": str(error)}
                failed = True
            results.append(result)
            print(f"[{kind}] {result}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\nHost <-> guest over user networking (hostfwd into busybox httpd):")
    print(f"{'machine':8} {'MB/s (median)':>14} {'RTT ms (median)':>16} {'RTT ms (p90)':>13}")
    ok = {r["machine"]: r for r in results if r["status"] == "ok"}
    for r in results:
        if r["status"] != "ok":
            print(f"{r['machine']:8} failed: {r['error']}")
            continue
        print(f"{r['machine']:8} {r['median_mb_per_s']:14.2f} {r['rtt_ms_median']:16.2f} {r['rtt_ms_p90']:13.2f}")
    if "godwit" in ok and "qemu" in ok:
        g, q = ok["godwit"], ok["qemu"]
        print(f"godwit/QEMU: throughput {g['median_mb_per_s'] / q['median_mb_per_s']:.2f}x, "
              f"round trip {g['rtt_ms_median'] / q['rtt_ms_median']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
