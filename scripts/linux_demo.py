#!/usr/bin/env python3
"""Live migration of a Debian Linux guest while it writes to its disk.

  1. builds the guest images if they are missing (scripts/guest-images.sh) and
     copies the disk (the pristine image is never written);
  2. boots Debian's riscv64 kernel on a source godwit (-M virt -m 512M -smp 2,
     the disk as virtio-blk, virtio-rng, a virtio console, QMP on a unix
     socket) and shows the guest's progress lines until the workload has
     appended --migrate-at checksummed records to /records.bin (each fsynced);
  3. starts a destination godwit with the same options and the same disk file,
     `-incoming defer`, `migrate-incoming unix:SOCK`, and migrates the running
     guest to it, printing query-migrate (status, transferred, remaining,
     dirty rate) a few times a second, then total time and downtime;
  4. shows the workload going on at the destination up to --records and the
     guest powering off;
  5. runs scripts/check-disk.py on the disk: every record 0..N-1 there, in
     order and intact, and a clean file system.

    python3 scripts/linux_demo.py                       # build/release/godwit
    GODWIT=/path/to/godwit python3 scripts/linux_demo.py --records 2000

Exits non-zero if anything failed. The quicker bare-metal demo (the `ab`
guest, RAM compared after the move) is scripts/migrate_demo.py.
"""
import argparse
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import linux_machine as lm  # noqa: E402
from qmp_client import QMPError  # noqa: E402

SHOWN = re.compile(r"^(init:|workload:)")


class Failed(Exception):
    pass


class Console:
    """Prints the guest's own lines (init: and workload:) from a serial file
    as they come, prefixed with the machine's name; kernel messages only when
    they say something is wrong."""

    def __init__(self, vm, label):
        self.vm, self.label, self.offset = vm, label, 0

    def show(self):
        text = self.vm.text()
        if len(text) < self.offset:
            self.offset = 0
        end = text.rfind("\n") + 1
        for line in text[self.offset:end].splitlines():
            if SHOWN.match(line) or any(t in line for t in lm.TROUBLE):
                print(f"  {self.label}| {line.rstrip()}", flush=True)
        self.offset = max(self.offset, end)


def wait_until(condition, consoles, timeout, what, vm):
    deadline = time.monotonic() + timeout
    while True:
        for console in consoles:
            console.show()
        if condition():
            return
        if not vm.alive():
            raise Failed(f"{vm.name} exited with status {vm.proc.returncode} while waiting for {what}\n"
                         f"{vm.describe()}")
        if time.monotonic() > deadline:
            raise Failed(f"{what}: not within {timeout} s\n{vm.describe()}")
        time.sleep(0.1)


def mb(value):
    return f"{(value or 0) / 1e6:,.1f} MB"


def run(args, workdir):
    images_dir = pathlib.Path(args.images)
    try:
        images = lm.images_in(images_dir)
    except lm.GuestError:
        if pathlib.Path(args.images).resolve() != (ROOT / "build/guest-images").resolve():
            raise
        print("== building the guest images (scripts/guest-images.sh)", flush=True)
        subprocess.run(["bash", str(ROOT / "scripts/guest-images.sh")], check=True)
        images = lm.images_in(images_dir)
    binary = pathlib.Path(args.godwit)
    if not binary.exists():
        raise Failed(f"no godwit at {binary} (build it with scripts/build.sh, or give --godwit)")
    disk = lm.fresh_disk(images[2], workdir / "disk.img")
    append = lm.kernel_args(records=args.records, print_every=args.print_every)
    vms = []

    def machine(name, extra=()):
        vm = lm.LinuxVm("godwit", binary, images, disk, workdir / name, name, append=append, extra=extra)
        vms.append(vm)
        return vm

    try:
        print(f"== booting Debian's kernel on the source godwit ({binary}), disk {disk}", flush=True)
        print(f"   {' '.join(lm.linux_command(binary, images[0], images[1], disk, 'S', 'H', append))}",
              flush=True)
        src = machine("source")
        out = Console(src, "source")
        wait_until(lambda: re.search(r"^workload: started", src.text(), re.M), [out], args.boot_timeout,
                   "`workload: started`", src)
        print(f"== the workload started {time.monotonic() - src.started:.1f} s after godwit did", flush=True)
        client = src.qmp()
        wait_until(lambda: src.records() >= args.migrate_at, [out], args.timeout,
                   f"record {args.migrate_at}", src)

        sock = src.sock("migrate.sock")
        dst = machine("destination", ["-incoming", "defer"])
        new = dst.qmp()
        new.command("migrate-incoming", uri=f"unix:{sock}")
        wait_until(sock.exists, [], 20, "the destination's migration socket", dst)
        if args.bandwidth:
            client.command("migrate-set-parameters", **{"max-bandwidth": args.bandwidth})
        bandwidth = client.command("query-migrate-parameters").get("max-bandwidth")
        print(f"== live-migrating to the destination over unix:{sock} "
              f"(max-bandwidth {bandwidth / 2**20:,.0f} MiB/s) at record {src.records()}", flush=True)
        client.command("migrate", uri=f"unix:{sock}")
        deadline = time.monotonic() + args.timeout
        while True:
            out.show()
            info = client.command("query-migrate")
            status = info.get("status")
            ram = info.get("ram") or {}
            rate = (ram.get("dirty-pages-rate") or 0) * (ram.get("page-size") or 4096)
            print(f"   migrate: {status:10} transferred {mb(ram.get('transferred')):>11}  remaining "
                  f"{mb(ram.get('remaining')):>11}  dirty rate {rate / 1e6:7.1f} MB/s  "
                  f"pass {ram.get('dirty-sync-count', 0)}", flush=True)
            if status in ("completed", "failed", "cancelled"):
                break
            if time.monotonic() > deadline:
                client.execute("migrate_cancel")
                raise Failed(f"the migration did not finish within {args.timeout} s")
            time.sleep(args.interval)
        if status != "completed":
            raise Failed(f"migration {status}: {info.get('error-desc')}\n{dst.describe()}")
        print(f"== migrated: total {info.get('total-time')} ms, downtime {info.get('downtime')} ms"
              + (f" ({info['x-downtime-us'] / 1000:.2f} ms measured)" if "x-downtime-us" in info else "")
              + f", {mb(ram.get('transferred'))} sent; source is "
              f"{client.command('query-status')['status']}", flush=True)
        src_last = src.records()
        out.show()
        print("== the guest goes on at the destination", flush=True)
        there = Console(dst, "destination")
        wait_until(lambda: re.search(rf"^workload: done {args.records} records", dst.text(), re.M), [there],
                   args.timeout, f"`workload: done {args.records} records` at the destination", dst)
        if dst.records() <= src_last:
            raise Failed(f"the destination printed no record past {src_last}")
        powered_off = True
        deadline = time.monotonic() + args.poweroff_timeout
        while dst.alive() and time.monotonic() < deadline:
            there.show()
            time.sleep(0.1)
        there.show()
        if dst.alive():
            powered_off = False
            print(f"!! the guest did not power off within {args.poweroff_timeout} s; stopping the machine", flush=True)
        elif dst.proc.returncode != 0:
            powered_off = False
            print(f"!! the destination exited with status {dst.proc.returncode}: {dst.stderr_text(500)}",
                  flush=True)
        else:
            print("== the guest powered off; the destination godwit exited with status 0", flush=True)
    finally:
        for vm in reversed(vms):
            vm.stop()
    print(f"== checking the disk: scripts/check-disk.py{'' if powered_off else ' --killed'} {disk}", flush=True)
    ok, verdict = lm.check_disk(disk, killed=not powered_off)
    print(f"   {verdict}", flush=True)
    if not ok:
        raise Failed(f"the disk does not check: {verdict}")
    if not powered_off:
        raise Failed("the guest did not power off cleanly after the workload")
    print(f"== OK: migrated at record {src_last} in {info.get('total-time')} ms "
          f"(downtime {info.get('downtime')} ms); {verdict}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--godwit", default=os.environ.get("GODWIT", ROOT / "build/release/godwit"))
    parser.add_argument("--images", default=lm.DEFAULT_IMAGES,
                        help="guest images (default build/guest-images, built there if missing)")
    parser.add_argument("--records", type=int, default=1500, help="records the guest writes (default 1500)")
    parser.add_argument("--migrate-at", type=int, default=500, help="record to migrate at (default 500)")
    parser.add_argument("--print-every", type=int, default=100)
    parser.add_argument("--bandwidth", type=int, default=None,
                        help="max-bandwidth in bytes/s (default: godwit's, as QEMU's, 128 MiB/s)")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between query-migrate lines")
    parser.add_argument("--boot-timeout", type=float, default=300.0)
    parser.add_argument("--timeout", type=float, default=180.0)
    parser.add_argument("--poweroff-timeout", type=float, default=30.0)
    parser.add_argument("--keep-workdir", action="store_true")
    args = parser.parse_args()

    def interrupt(signum, _frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)
    signal.signal(signal.SIGTERM, interrupt)

    workdir = pathlib.Path(tempfile.mkdtemp(prefix="gwlinuxdemo"))
    try:
        run(args, workdir)
        return 0
    except (Failed, lm.GuestError, QMPError, OSError, subprocess.CalledProcessError) as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if args.keep_workdir:
            print(f"work files in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
