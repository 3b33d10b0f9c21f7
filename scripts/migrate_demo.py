#!/usr/bin/env python3
"""Live migration demo: moves a running guest from one godwit to another.

  1. boots the `ab` guest (prints A, then B after each pass that dirties every
     page of RAM) on a source godwit (-smp 2 -m 256M) and waits for a few B's;
  2. starts a destination godwit with `-incoming unix:SOCK -S`;
  3. sets max-bandwidth (10 GB/s unless --bandwidth) and migrates, showing
     progress in place: status, transferred as % of RAM, MB/s, pass, remaining;
  4. with both stopped (source postmigrate, destination paused), saves the
     whole RAM of each with pmemsave and compares them (sha256);
  5. continues the destination and shows the B's carrying on there (with no
     new A: the guest continued, it did not start over);
  6. prints total time, downtime and bytes sent, and stops both machines (also
     on Ctrl-C or an error).

    python3 scripts/migrate_demo.py              # godwit
    python3 scripts/migrate_demo.py --qemu       # the same on qemu-system-riscv64

Exits non-zero if anything failed (migration failed or timed out, RAM
differs, the destination did not continue).
"""
import argparse
import hashlib
import pathlib
import shutil
import signal
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import timeline  # noqa: E402
from timeline import MIB, RAM_BASE, BenchError, QMPError, Vm  # noqa: E402


class Failed(Exception):
    pass


def parse_bytes(text):
    units = {"KI": 1 << 10, "MI": 1 << 20, "GI": 1 << 30, "K": 10**3, "M": 10**6, "G": 10**9}
    upper = text.strip().upper().removesuffix("/S").removesuffix("B")
    for suffix, factor in units.items():
        if upper.endswith(suffix):
            return int(float(upper[:-len(suffix)]) * factor)
    return int(upper)


def parse_mib(text):
    upper = text.strip().upper().removesuffix("B").removesuffix("I")
    if upper.endswith("G"):
        return int(float(upper[:-1]) * 1024)
    if upper.endswith("M"):
        return int(float(upper[:-1]))
    return int(upper)


class Progress:
    """One status line, redrawn in place on a terminal (a line every half
    second otherwise)."""

    def __init__(self, ram_bytes):
        self.ram_bytes = ram_bytes
        self.tty = sys.stdout.isatty()
        self.last_print = 0.0
        self.drawn = False

    def __call__(self, sample, info):
        ram = info.get("ram") or {}
        status = sample["status"] or "-"
        total = ram.get("total") or self.ram_bytes
        sent = ram.get("transferred") or 0
        percent = 100.0 * sent / total if total else 0.0
        rate = (ram.get("mbps") or 0) / 8
        line = (f"  {sample['t_ms'] / 1000:6.2f} s  {status:<10} sent {sent / MIB:7,.1f} MiB "
                f"({percent:4.0f}% of {total / MIB:,.0f})  "
                f"{rate:8,.1f} MB/s  pass {ram.get('dirty-sync-count', '-')!s:>3}  "
                f"remaining {(ram.get('remaining') or 0) / MIB:8,.1f} MiB")
        now = time.monotonic()
        if self.tty:
            sys.stdout.write("\r" + line + "\x1b[K")
            sys.stdout.flush()
            self.drawn = True
        elif now - self.last_print >= 0.5 or status in timeline.FINAL_STATES:
            print(line, flush=True)
            self.last_print = now

    def finish(self):
        if self.tty and self.drawn:
            sys.stdout.write("\n")
            sys.stdout.flush()


def dump_ram(vm, size, path):
    """Whole guest RAM through pmemsave; returns (sha256 hex, path)."""
    reply = vm.qmp().execute("pmemsave", {"val": RAM_BASE, "size": size, "filename": str(path)},
                             timeout=300)
    if "return" not in reply:
        raise Failed(f"{vm.name}: pmemsave failed: {reply}")
    if path.stat().st_size != size:
        raise Failed(f"{vm.name}: pmemsave wrote {path.stat().st_size} bytes, not {size}")
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(8 * MIB):
            digest.update(chunk)
    return digest.hexdigest()


def differing_pages(a, b, limit=8):
    """Offsets of the 4 KiB pages that differ between two dump files
    (the first `limit`) and how many differ in all."""
    first, count, offset = [], 0, 0
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            ca, cb = fa.read(MIB), fb.read(MIB)
            if not ca and not cb:
                break
            if ca != cb:
                for page in range(0, max(len(ca), len(cb)), 4096):
                    if ca[page:page + 4096] != cb[page:page + 4096]:
                        count += 1
                        if len(first) < limit:
                            first.append(offset + page)
            offset += MIB
    return first, count


def demo(args, workdir):
    binary = args.binary
    kind = "qemu" if args.qemu else "godwit"
    version = timeline.machine_version(binary)
    if version is None:
        raise Failed(f"cannot run {binary}")
    ram_mib = parse_mib(args.memory)
    ram_bytes = ram_mib * MIB
    print(f"machine: {binary} ({version})")
    print(f"guest:   {args.kernel} (-smp {args.smp} -m {args.memory})")

    src = Vm(kind, binary, args.kernel, workdir, "source", memory=args.memory, smp=args.smp)
    vms = [src]
    try:
        client = src.qmp(timeout=60)
        names = {entry["name"] for entry in client.command("query-commands")}
        if "migrate" not in names or "query-migrate" not in names:
            raise Failed(f"{binary} has no `migrate` QMP command (a build without migration)")
        src.wait_serial(1 + args.wait_passes, timeout=120)
        print(f"source running, serial: {src.serial_text()[:40]!r} ...")

        mig_sock = src.sock("migration.sock")
        dst = Vm(kind, binary, args.kernel, workdir, "destination", memory=args.memory, smp=args.smp,
                 extra=["-incoming", f"unix:{mig_sock}", "-S"])
        vms.append(dst)
        dst.qmp(timeout=60)
        status = dst.wait_status("inmigrate", 30)
        deadline = time.monotonic() + 10
        while not mig_sock.exists():
            if time.monotonic() > deadline:
                raise Failed(f"the destination did not listen on {mig_sock}\n{dst.describe()}")
            time.sleep(0.02)
        print(f"destination waiting ({status}) on unix:{mig_sock}")

        client.command("migrate-set-parameters", **{"max-bandwidth": args.bandwidth,
                                                     "downtime-limit": args.downtime_limit})
        client.execute("migrate-set-capabilities",
                       {"capabilities": [{"capability": "events", "state": True}]})
        print(f"migrating: max-bandwidth {args.bandwidth:,} B/s, downtime-limit {args.downtime_limit} ms")
        progress = Progress(ram_bytes)
        try:
            recorded = timeline.record_migration(client, f"unix:{mig_sock}", timeout_s=args.timeout,
                                                 interval_s=0.05, on_sample=progress)
        finally:
            progress.finish()
        result = recorded["result"]
        if args.timeline:
            document = {"format": timeline.FORMAT, "machine": kind, "binary": str(binary), "version": version,
                        "config": {"label": f"demo {args.memory} smp={args.smp} bw={args.bandwidth:,}B/s",
                                   "ram_mib": ram_mib, "working_set_mib": None,
                                   "max_bandwidth": args.bandwidth, "downtime_limit": args.downtime_limit,
                                   "smp": args.smp},
                        "page_size": ((recorded["final_info"] or {}).get("ram") or {}).get("page-size", 4096),
                        **recorded}
            timeline.write_json(args.timeline, document)
            svg = timeline.write_svg(pathlib.Path(args.timeline).with_suffix(".svg"), document)
            print(f"timeline: {args.timeline}, {svg}")
        if result["status"] != "completed":
            why = result.get("error") or result["status"]
            raise Failed(f"migration did not complete: {why}")

        src_status = src.status()
        dst_status = dst.wait_status(("paused", "running"), 30)
        print(f"source {src_status}, destination {dst_status}")
        if src_status != "postmigrate":
            raise Failed(f"the source is {src_status!r} after migration, not postmigrate")
        if dst_status != "paused":
            raise Failed(f"the destination (-S) is {dst_status!r} after migration, not paused")

        src_dump, dst_dump = workdir / "source.ram", workdir / "destination.ram"
        src_hash = dump_ram(src, ram_bytes, src_dump)
        dst_hash = dump_ram(dst, ram_bytes, dst_dump)
        if src_hash != dst_hash:
            pages, count = differing_pages(src_dump, dst_dump)
            listed = ", ".join(f"{RAM_BASE + offset:#x}" for offset in pages)
            raise Failed(f"RAM differs: {count} of {ram_bytes // 4096} pages (first at {listed}); "
                         f"sha256 source {src_hash[:16]}, destination {dst_hash[:16]}")
        print(f"RAM identical: {ram_mib} MiB, sha256 {src_hash}")
        src_dump.unlink()
        dst_dump.unlink()

        src_before, dst_before = src.serial_size(), dst.serial_size()
        dst.qmp().command("cont")
        time.sleep(args.watch)
        try:
            dst.wait_serial(dst_before + 1, timeout=20)
        except BenchError:
            raise Failed(f"the destination printed nothing within {args.watch + 20:.0f} s of cont "
                         f"(status {dst.status()})") from None
        grown = dst.serial_size() - dst_before
        text = dst.serial_text()
        print(f"destination continued: +{grown} B's in {args.watch:.1f} s after cont "
              f"(serial: {text[:30]!r}{'...' if len(text) > 30 else ''}); "
              f"source printed {src.serial_size() - src_before} more")
        if "A" in text:
            raise Failed("the destination printed 'A': the guest started over instead of continuing")
        if src.serial_size() != src_before:
            raise Failed("the source kept printing after migration")

        print(f"total time {result['total_time']} ms, downtime {result['downtime']} ms, "
              f"setup {result.get('setup_time')} ms, sent {result['transferred']:,} bytes "
              f"({result['transferred'] / MIB:,.1f} MiB) in {result['passes']} passes")
    finally:
        for vm in reversed(vms):
            vm.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(ROOT / "build/release/godwit"))
    parser.add_argument("--kernel", default=str(ROOT / "build/release/guests/ab.elf"))
    parser.add_argument("--qemu", nargs="?", const=shutil.which("qemu-system-riscv64") or "qemu-system-riscv64",
                        help="run the demo on QEMU (optionally its path) instead of --binary")
    parser.add_argument("--memory", default="256M")
    parser.add_argument("--smp", type=int, default=2)
    parser.add_argument("--bandwidth", type=parse_bytes, default=10_000_000_000,
                        help="max-bandwidth in bytes/s, K/M/G or Ki/Mi/Gi suffixes (default 10G)")
    parser.add_argument("--downtime-limit", type=int, default=300, help="ms (default 300)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before giving up on the migration")
    parser.add_argument("--wait-passes", type=int, default=3, help="B's to wait for before migrating")
    parser.add_argument("--watch", type=float, default=1.0, help="seconds to watch the destination after cont")
    parser.add_argument("--timeline", type=pathlib.Path, help="also write the timeline JSON (and an SVG beside it)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (serial, stderr)")
    args = parser.parse_args()
    if args.qemu:
        args.binary = args.qemu

    # SIGTERM/SIGHUP stop the machines like Ctrl-C does (SIGINT is set too, in
    # case it was inherited ignored, as for background jobs of a script).
    def interrupt(signum, _frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)

    workdir = pathlib.Path(tempfile.mkdtemp(prefix="gwmigdemo"))
    code = 0
    try:
        demo(args, workdir)
        print("migration demo: OK")
    except KeyboardInterrupt:
        print("\ninterrupted; machines stopped", file=sys.stderr)
        code = 130
    except (Failed, BenchError, QMPError, OSError) as error:
        print(f"migration demo FAILED: {error}", file=sys.stderr)
        code = 1
    finally:
        if args.keep or code not in (0, 130):
            print(f"work files (serial, stderr) in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
