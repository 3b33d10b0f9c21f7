#!/usr/bin/env python3
"""The Debian Linux guest on godwit against QEMU, in one run, side by side.

Both machines get the same command line (bench/linux_machine.py: -M virt -m
512M -smp 2, Debian's kernel, the busybox initramfs, the ext4 disk as
virtio-blk, virtio-rng, a virtio console), a private copy of the disk each
time, and the workload of guests/linux (checksummed records appended to
/records.bin with fsync, `workload: record N` every 100).

  boot          seconds from process start to the console line
                `workload: started`; --boots runs per machine (default 3),
                alternating godwit and QEMU; each run is printed, the median
                and godwit/QEMU ratio go in the table.
  live          the first boot run goes on: at record --migrate-at (300) a
                destination with the same options (and the same disk file)
                starts with `-incoming defer`, gets `migrate-incoming
                unix:SOCK`, and the source migrates to it (max-bandwidth
                10 GB/s, downtime-limit 300 ms). Reported: query-migrate's
                total-time and downtime, then the workload goes on at the
                destination up to --records (1000), the guest powers off and
                scripts/check-disk.py checks the disk.
  cpr-transfer  RAM in memory-backend-memfd share=on, -machine aux-ram-share=on;
                a new process with `-incoming unix:MAIN` and a cpr channel;
                `migrate` with both channels.
  cpr-exec      godwit only (QEMU 10.0 has no cpr-exec): on the same guest,
                after cpr-transfer, the process execs itself with
                `-incoming file:STATE`.
  cpr-reboot    RAM in memory-backend-file share=on in /dev/shm, x-ignore-shared:
                `migrate file:STATE`, the old process quits, a new one with
                `-incoming defer` loads it with `migrate-incoming`.

Each CPR guest also runs to --records, powers off and has its disk checked
(cpr-transfer and cpr-exec share one guest and one check on godwit).

CPR columns (ms): pause = godwit's x-pause-us from the new side (last guest
instruction to first, one clock); STOP>RESUME = QMP event timestamps, STOP on
the old process, RESUME on the new one (the same outside measure for both
machines; "missed" when the new process resumed before this script's QMP
connection was ready); down = the old side's query-migrate downtime
(godwit's x-downtime-us, QEMU's whole ms), for cpr-reboot the save;
restore (cpr-reboot) = `migrate-incoming` sent to the guest running again, as
this script sees it, and godwit's x-load-us.

    python3 bench/linux_bench.py
    python3 bench/linux_bench.py --godwit /path/to/godwit --images build/guest-images --json linux.json

About 4-5 minutes on a 2-CPU host when every guest runs through; a guest
that gets stuck costs up to its timeout (--boot-timeout 90 s, --workload-timeout
60 s, --finish-timeout 30 s) and is reported with its console. Exit status 1 when a run failed on a
machine that was asked for (an error, a failed migration, a guest that did not
go on, a disk that does not check).
"""
import argparse
import json
import os
import pathlib
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import linux_machine as lm  # noqa: E402
import cpr_bench  # noqa: E402
from cpr_bench import (EarlyConnect, channel, first_event, last_event, stamp_us, strip_incoming,  # noqa: E402
                       wait_migrate, wait_path, wait_status)
from timeline import BenchError, machine_version  # noqa: E402
from qmp_client import QMPError  # noqa: E402

ROOT = lm.ROOT
FAST_BANDWIDTH = 10_000_000_000
DOWNTIME_LIMIT = 300
RAM = "512M"
FAILURES = (BenchError, QMPError, lm.GuestError, OSError, KeyError)


def ms(us):
    return "-" if us is None else f"{us / 1000:.2f}"


def ratio(a, b):
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


class Bench:
    def __init__(self, args):
        self.args = args
        self.images = lm.images_in(args.images)
        self.workroot = pathlib.Path(tempfile.mkdtemp(prefix="gwlinuxbench"))
        self.binaries = {"godwit": args.godwit, "qemu": args.qemu}
        self.vms = []
        self.last_boot = None

    def disk(self, name):
        return lm.fresh_disk(self.images[2], self.workroot / f"{name}.img")

    def vm(self, kind, disk, name, extra=(), records=None):
        records = self.args.records if records is None else records
        vm = lm.LinuxVm(kind, self.binaries[kind], self.images, disk, self.workroot / name, name,
                        append=lm.kernel_args(records=records), memory=RAM, extra=extra)
        self.vms.append(vm)
        return vm

    def stop_all(self):
        for vm in reversed(self.vms):
            vm.stop()
        self.vms = []

    def finish_and_check(self, vm, disk, result):
        """The guest on `vm` ends its workload, powers off; the disk is checked."""
        off, note = lm.finish(vm, self.args.records, self.args.finish_timeout)
        result["powered_off"] = off
        if not off:
            result.setdefault("problems", []).append(f"{vm.kind} {vm.name}: {note}")
        trouble = vm.trouble()
        if trouble:
            result["console_trouble"] = trouble[:5]
        self.stop_all()
        ok, verdict = lm.check_disk(disk, killed=not off)
        result["disk"] = verdict + ("" if off else " (checked as killed)")
        if not ok:
            result.setdefault("problems", []).append(f"disk: {verdict}")
        result["status"] = "ok" if not result.get("problems") else "failed"

    # -- boot + live migration --------------------------------------------------

    def boot_only(self, kind, number):
        disk = self.disk(f"{kind}-boot{number}")
        vm = self.vm(kind, disk, f"{kind}-boot{number}")
        try:
            _, seconds = vm.wait_line(r"^workload: started", self.args.boot_timeout)
            return seconds
        finally:
            self.stop_all()

    def boot_and_migrate(self, kind):
        """Boot run 1: boot time, then a live migration mid-workload."""
        result = {"machine": kind, "mode": "live"}
        disk = self.disk(f"{kind}-live")
        src = self.vm(kind, disk, f"{kind}-live-src")
        _, result["boot_s"] = src.wait_line(r"^workload: started", self.args.boot_timeout)
        self.last_boot = result["boot_s"]
        client = src.qmp()
        src.wait_records(self.args.migrate_at, self.args.workload_timeout)
        sock = src.sock("mig.sock")
        dst = self.vm(kind, disk, f"{kind}-live-dst", extra=["-incoming", "defer"])
        new = dst.qmp()
        new.command("migrate-incoming", uri=f"unix:{sock}")
        wait_path(sock, 20, dst)
        client.command("migrate-set-parameters", **{"max-bandwidth": FAST_BANDWIDTH,
                                                     "downtime-limit": DOWNTIME_LIMIT})
        result["record_at_migrate"] = src.records()
        client.command("migrate", uri=f"unix:{sock}")
        info = wait_migrate(client, self.args.migrate_timeout, src.alive, interval=0.05)
        if info["status"] != "completed":
            raise BenchError(f"migration {info['status']}: {info.get('error-desc')}")
        ram = info.get("ram") or {}
        result.update(total_ms=info.get("total-time"), downtime_ms=info.get("downtime"),
                      x_downtime_us=info.get("x-downtime-us"), transferred=ram.get("transferred"),
                      passes=ram.get("dirty-sync-count"))
        result["source_status"] = client.command("query-status")["status"]
        wait_status(new, ("running",), 30)
        after = result["record_at_migrate"] + 2 * 100
        dst.wait_records(after, self.args.workload_timeout)
        result["dest_continued_to"] = dst.records()
        self.finish_and_check(dst, disk, result)
        return result

    # -- CPR ------------------------------------------------------------------------

    def cpr_transfer(self, kind, src, extra, result, name):
        client = src.qmp()
        main_sock, cpr_sock = src.sock("main.sock"), src.sock("cpr.sock")
        dst = self.vm(kind, self.current_disk, name, extra=extra + [
            "-incoming", f"unix:{main_sock}", "-incoming", json.dumps(channel("cpr", cpr_sock))])
        wait_path(cpr_sock, 20, dst)
        client.command("migrate-set-parameters", mode="cpr-transfer")
        client.events()
        early = EarlyConnect(dst.qmp_path, dst.alive, 30)
        early.start()
        result["record_at"] = src.records()
        try:
            client.command("migrate", channels=[channel("main", main_sock), channel("cpr", cpr_sock)])
        except FAILURES:
            early.cancelled.set()
            raise
        new = early.result()
        dst._client = new
        info = wait_migrate(client, self.args.migrate_timeout, src.alive)
        if info["status"] != "completed":
            raise BenchError(f"cpr-transfer {info['status']}: {info.get('error-desc')}")
        dst_info = wait_migrate(new, 30, dst.alive)
        wait_status(new, ("running",), 30)
        time.sleep(0.05)
        stop, resume = last_event(client.events(), "STOP"), first_event(new.events(), "RESUME")
        result.update(downtime_ms=info.get("downtime"), x_downtime_us=info.get("x-downtime-us"),
                      x_pause_us=dst_info.get("x-pause-us"), x_load_us=dst_info.get("x-load-us"),
                      gap_us=(stamp_us(resume) - stamp_us(stop)) if stop and resume else None,
                      resume_event="seen" if resume else "missed")
        return dst

    def cpr_exec(self, vm, result):
        client = vm.qmp()
        state = vm.workdir / "cpr-exec.state"
        result["record_at"] = vm.records()
        pid = vm.proc.pid
        command = strip_incoming(vm.cmd) + ["-incoming", f"file:{state}"]
        client.command("migrate-set-parameters", **{"mode": "cpr-exec", "cpr-exec-command": command})
        client.events()
        client.command("migrate", uri=f"file:{state}")
        deadline = time.monotonic() + self.args.migrate_timeout
        while True:
            info = client.command("query-migrate")
            if info.get("status") == "failed":
                raise BenchError(f"cpr-exec failed: {info.get('error-desc')}")
            if info.get("status") == "completed" and "x-load-us" in info:
                break
            if time.monotonic() > deadline:
                raise BenchError(f"the new program did not answer within the timeout: {info}")
            time.sleep(0.001)
        if not (vm.alive() and vm.proc.pid == pid):
            raise BenchError(f"process {pid} is gone after the exec\n{vm.describe()}")
        wait_status(client, ("running",), 30)
        time.sleep(0.05)
        old, new = cpr_bench.split_exec_events(client.events())
        stop, resume = last_event(old, "STOP"), first_event(new, "RESUME")
        result.update(x_pause_us=info.get("x-pause-us"), x_load_us=info.get("x-load-us"),
                      gap_us=(stamp_us(resume) - stamp_us(stop)) if stop and resume else None,
                      resume_event="seen" if resume else "missed")

    def run_memfd(self, kind):
        """cpr-transfer, then (godwit) cpr-exec, on one guest; one disk check."""
        results = {"cpr-transfer": {"machine": kind, "mode": "cpr-transfer"}}
        if kind == "godwit":
            results["cpr-exec"] = {"machine": kind, "mode": "cpr-exec"}
        extra = ["-object", f"memory-backend-memfd,id=ram0,size={RAM},share=on",
                 "-M", "virt,memory-backend=ram0,aux-ram-share=on"]
        self.current_disk = disk = self.disk(f"{kind}-memfd")
        try:
            src = self.vm(kind, disk, f"{kind}-cpr-src", extra=extra)
            src.wait_line(r"^workload: started", self.args.boot_timeout)
            src.qmp()
            src.wait_records(self.args.migrate_at, self.args.workload_timeout)
            dst = self.cpr_transfer(kind, src, extra, results["cpr-transfer"], f"{kind}-cpr-dst")
            next_at = results["cpr-transfer"]["record_at"] + 200
            dst.wait_records(next_at, self.args.workload_timeout)
            results["cpr-transfer"]["continued_to"] = dst.records()
            if "cpr-exec" in results:
                self.cpr_exec(dst, results["cpr-exec"])
                dst.wait_records(results["cpr-exec"]["record_at"] + 200, self.args.workload_timeout)
                results["cpr-exec"]["continued_to"] = dst.records()
            check = {}
            self.finish_and_check(dst, disk, check)
            for result in results.values():
                result.update(check)
        except FAILURES as error:
            for result in results.values():
                if result.get("status") is None:
                    result["status"] = "failed"
                    result.setdefault("problems", []).append(str(error).splitlines()[0])
                    result["detail"] = "\n".join(vm.describe() for vm in self.vms)
        finally:
            self.stop_all()
        return results

    def run_reboot(self, kind):
        result = {"machine": kind, "mode": "cpr-reboot"}
        shm = pathlib.Path("/dev/shm") / f"godwit-linux-bench-{os.getpid()}-{kind}"
        extra = ["-object", f"memory-backend-file,id=ram0,size={RAM},mem-path={shm},share=on",
                 "-M", "virt,memory-backend=ram0"]
        disk = self.disk(f"{kind}-reboot")
        state = self.workroot / f"{kind}-reboot.state"
        try:
            src = self.vm(kind, disk, f"{kind}-reboot-old", extra=extra)
            src.wait_line(r"^workload: started", self.args.boot_timeout)
            client = src.qmp()
            src.wait_records(self.args.migrate_at, self.args.workload_timeout)
            client.command("migrate-set-parameters", mode="cpr-reboot")
            client.command("migrate-set-capabilities",
                           capabilities=[{"capability": "x-ignore-shared", "state": True}])
            client.events()
            result["record_at"] = src.records()
            client.command("migrate", uri=f"file:{state}")
            info = wait_migrate(client, self.args.migrate_timeout, src.alive)
            if info["status"] != "completed":
                raise BenchError(f"save {info['status']}: {info.get('error-desc')}")
            wait_status(client, ("postmigrate",), 10)
            stop = last_event(client.events(), "STOP")
            try:
                client.execute("quit", timeout=10)
            except QMPError:
                pass
            if src.wait_exit(20) is None:
                raise BenchError(f"the old process did not quit\n{src.describe()}")
            dst = self.vm(kind, disk, f"{kind}-reboot-new", extra=extra + ["-incoming", "defer"])
            new = dst.qmp()
            new.command("migrate-set-parameters", mode="cpr-reboot")
            new.command("migrate-set-capabilities",
                        capabilities=[{"capability": "x-ignore-shared", "state": True}])
            sent = time.monotonic()
            new.command("migrate-incoming", uri=f"file:{state}")
            dst_info = wait_migrate(new, self.args.migrate_timeout, dst.alive, interval=0.002)
            if dst_info["status"] != "completed":
                raise BenchError(f"load {dst_info['status']}: {dst_info.get('error-desc')}")
            wait_status(new, ("running",), 30)
            restore = time.monotonic() - sent
            time.sleep(0.05)
            resume = first_event(new.events(), "RESUME")
            result.update(downtime_ms=info.get("downtime"), x_downtime_us=info.get("x-downtime-us"),
                          x_load_us=dst_info.get("x-load-us"), x_pause_us=dst_info.get("x-pause-us"),
                          restore_us=round(restore * 1e6), state_bytes=state.stat().st_size,
                          gap_us=(stamp_us(resume) - stamp_us(stop)) if stop and resume else None,
                          resume_event="seen" if resume else "missed")
            dst.wait_records(result["record_at"] + 200, self.args.workload_timeout)
            result["continued_to"] = dst.records()
            self.finish_and_check(dst, disk, result)
        except FAILURES as error:
            result["status"] = "failed"
            result.setdefault("problems", []).append(str(error).splitlines()[0])
            result["detail"] = "\n".join(vm.describe() for vm in self.vms)
        finally:
            self.stop_all()
            for path in (shm, state):
                path.unlink(missing_ok=True)
        return result


# -- report ----------------------------------------------------------------------------

def down_us(result):
    if result.get("x_downtime_us") is not None:
        return result["x_downtime_us"], False
    if result.get("downtime_ms") is not None:
        return result["downtime_ms"] * 1000, True
    return None, False


def table(head, rows):
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]

    def fmt(row):
        return "  ".join(str(v).ljust(widths[i]) if i == 0 else str(v).rjust(widths[i]) for i, v in enumerate(row))
    print(fmt(head))
    print("-" * len(fmt(head)))
    for row in rows:
        print(fmt(row))


def report(machines, boots, live, cpr):
    g, q = "godwit" in machines, "qemu" in machines
    med = {k: statistics.median(v) for k, v in boots.items() if v}
    print("\nBoot to `workload: started` (s, median of the runs):")
    table(["machine", "runs", "median"] + (["godwit/QEMU"] if g and q else []),
          [[k, " ".join(f"{s:.2f}" for s in boots.get(k, [])) or "-", f"{med[k]:.2f}" if k in med else "-"]
           + ([ratio(med.get("godwit"), med.get("qemu")) if k == "godwit" else ""] if g and q else [])
           for k in machines])

    print("\nLive migration mid-workload (unix socket, max-bandwidth 10 GB/s, downtime-limit 300 ms):")
    rows = []
    for k in machines:
        r = live.get(k) or {}
        if r.get("status") != "ok" and r.get("total_ms") is None:
            rows.append([k, "FAILED", "-", "-", "-", "-", "-"])
            continue
        down, coarse = down_us(r)
        rows.append([k, r.get("total_ms"), ms(down) if not coarse else r.get("downtime_ms"),
                     f"{(r.get('transferred') or 0) / 2**20:.0f}", r.get("passes"),
                     f"{r.get('record_at_migrate')} -> {r.get('dest_continued_to')}", r.get("disk", "-")])
    table(["machine", "total ms", "down ms", "MiB sent", "passes", "records src -> dst", "disk"], rows)
    if g and q and live.get("godwit", {}).get("total_ms") and live.get("qemu", {}).get("total_ms"):
        gd, qd = down_us(live["godwit"])[0], down_us(live["qemu"])[0]
        print(f"godwit/QEMU: total {ratio(live['godwit']['total_ms'], live['qemu']['total_ms'])}, "
              f"downtime {ratio(gd, qd)} (QEMU's downtime is whole ms)")

    print("\nCPR pause on the Linux guest (ms; see the top of bench/linux_bench.py):")
    rows = []
    for mode in ("cpr-transfer", "cpr-exec", "cpr-reboot"):
        for k in machines:
            r = cpr.get((k, mode))
            if r is None:
                rows.append([mode, k, "n/a (QEMU 10.0 has no cpr-exec)" if mode == "cpr-exec" else "-",
                             "", "", "", "", ""])
                continue
            if r.get("x_pause_us") is None and r.get("gap_us") is None and r.get("downtime_ms") is None:
                rows.append([mode, k, "FAILED", "-", "-", "-", "-", r.get("disk", "-")])
                continue
            down, coarse = down_us(r)
            gap = ms(r.get("gap_us")) if r.get("gap_us") is not None else r.get("resume_event", "-")
            rows.append([mode, k, ms(r.get("x_pause_us")), gap,
                         (str(r.get("downtime_ms")) if coarse else ms(down)) if down is not None else "-",
                         ms(r.get("x_load_us")), ms(r.get("restore_us")), r.get("disk", "-")])
    table(["mode", "machine", "pause", "STOP>RESUME", "down/save", "x-load", "restore", "disk"], rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--godwit", default=os.environ.get("GODWIT", ROOT / "build/release/godwit"))
    parser.add_argument("--qemu", default=shutil.which("qemu-system-riscv64"))
    parser.add_argument("--images", default=lm.DEFAULT_IMAGES, help="guest images (scripts/guest-images.sh)")
    parser.add_argument("--machines", default="godwit,qemu")
    parser.add_argument("--boots", type=int, default=3, help="boot runs per machine (default 3)")
    parser.add_argument("--records", type=int, default=1000, help="records each migrated guest writes (1000)")
    parser.add_argument("--migrate-at", type=int, default=300, help="record after which to migrate (300)")
    parser.add_argument("--modes", default="live,cpr-transfer,cpr-exec,cpr-reboot")
    parser.add_argument("--boot-timeout", type=float, default=90.0)
    parser.add_argument("--workload-timeout", type=float, default=60.0)
    parser.add_argument("--migrate-timeout", type=float, default=60.0)
    parser.add_argument("--finish-timeout", type=float, default=30.0,
                        help="seconds for `workload: done` and the power-off (default 30)")
    parser.add_argument("--json", type=pathlib.Path, help="write all results here")
    parser.add_argument("--keep-workdir", action="store_true")
    args = parser.parse_args()
    machines = [m.strip() for m in args.machines.split(",") if m.strip()]
    modes = {m.strip() for m in args.modes.split(",") if m.strip()}

    try:
        bench = Bench(args)
    except lm.GuestError as error:
        sys.exit(str(error))
    failed = False
    versions = {}
    for kind in list(machines):
        binary = bench.binaries.get(kind)
        if not binary or not pathlib.Path(shutil.which(str(binary)) or binary).exists():
            print(f"note: {kind}: no binary at {binary}; skipped")
            machines.remove(kind)
            failed = True
            continue
        versions[kind] = machine_version(binary)
        print(f"{kind}: {binary} ({versions[kind]})")

    boots, live, cpr, problems = {k: [] for k in machines}, {}, {}, []
    started = time.monotonic()

    def note(label, result):
        nonlocal failed
        if result.get("status") != "ok":
            failed = True
            for problem in result.get("problems", []):
                problems.append(f"{label}: {problem}")
                print(f"    PROBLEM: {problem}")
            if result.get("detail"):
                print("    " + result["detail"][-3000:].replace("\n", "\n    "))
        for line in result.get("console_trouble", []):
            problems.append(f"{label}: guest console: {line.strip()}")
            print(f"    guest console: {line.strip()}")

    try:
        for number in range(1, args.boots + 1):
            for kind in machines:
                label = f"[boot {number}/{args.boots}] {kind:6}"
                print(f"{label} ", end="", flush=True)
                try:
                    bench.last_boot = None
                    if number == 1 and "live" in modes:
                        result = bench.boot_and_migrate(kind)
                        boots[kind].append(result["boot_s"])
                        print(f"workload started after {result['boot_s']:.2f} s; live migration at record "
                              f"{result['record_at_migrate']}: total {result['total_ms']} ms, downtime "
                              f"{result['downtime_ms']} ms"
                              + (f" (x-downtime {ms(result['x_downtime_us'])} ms)" if result.get("x_downtime_us")
                                 is not None else "")
                              + f"; destination went on to record {result['dest_continued_to']}; "
                              f"{result['disk']}", flush=True)
                    else:
                        seconds = bench.boot_only(kind, number)
                        boots[kind].append(seconds)
                        print(f"workload started after {seconds:.2f} s", flush=True)
                        continue
                except FAILURES as error:
                    if number == 1 and bench.last_boot is not None:
                        boots[kind].append(bench.last_boot)
                    migrating = number == 1 and "live" in modes
                    result = {"machine": kind, "mode": "live" if migrating else "boot", "status": "failed",
                              "problems": [str(error).splitlines()[0]],
                              "detail": "\n".join(vm.describe() for vm in bench.vms)}
                    print("FAILED")
                    if not migrating:
                        note(f"{kind} boot {number}", result)
                        continue
                finally:
                    bench.stop_all()
                live[kind] = result
                note(f"{kind} live", result)
        for kind in machines:
            if modes & {"cpr-transfer", "cpr-exec"}:
                print(f"[cpr] {kind:6} cpr-transfer{', cpr-exec' if kind == 'godwit' else ''} ... ",
                      end="", flush=True)
                results = bench.run_memfd(kind)
                for mode, result in results.items():
                    cpr[(kind, mode)] = result
                if results["cpr-transfer"].get("status") != "ok" and results["cpr-transfer"].get("x_pause_us") is None \
                        and results["cpr-transfer"].get("gap_us") is None:
                    print("FAILED")
                else:
                    print(" | ".join(f"{mode}: pause {ms(r.get('x_pause_us'))} ms, STOP>RESUME "
                                   f"{ms(r.get('gap_us')) if r.get('gap_us') is not None else r.get('resume_event')}"
                                   f", records {r.get('record_at')} -> {r.get('continued_to')}"
                                   for mode, r in results.items()) + f"; {results['cpr-transfer'].get('disk')}",
                        flush=True)
                note(f"{kind} cpr-transfer", results["cpr-transfer"])
            if "cpr-reboot" in modes:
                print(f"[cpr] {kind:6} cpr-reboot ... ", end="", flush=True)
                result = bench.run_reboot(kind)
                cpr[(kind, "cpr-reboot")] = result
                print(f"save {ms(down_us(result)[0])} ms, restore {ms(result.get('restore_us'))} ms, "
                      f"records {result.get('record_at')} -> {result.get('continued_to')}; {result.get('disk')}",
                      flush=True)
                note(f"{kind} cpr-reboot", result)
    except KeyboardInterrupt:
        failed = True
        print("\ninterrupted; results so far:")
    finally:
        bench.stop_all()
        if args.keep_workdir:
            print(f"work files in {bench.workroot}")
        else:
            shutil.rmtree(bench.workroot, ignore_errors=True)

    report(machines, boots, live, cpr)
    if "qemu" in machines and "cpr-exec" in modes:
        print("note: QEMU 10.0 has no cpr-exec (it came in a later QEMU); godwit only.")
    print(f"wall time {time.monotonic() - started:.0f} s on {os.cpu_count()} CPUs; one run per migration cell")
    for problem in problems:
        print(f"problem: {problem}")
    if args.json:
        document = {"format": "godwit-linux-bench/1", "versions": versions, "boots_s": boots,
                    "live": live, "cpr": [dict(r) for r in cpr.values()], "problems": problems,
                    "arguments": {k: str(v) for k, v in vars(args).items()}}
        args.json.write_text(json.dumps(document, indent=1, default=str) + "\n")
        print(f"results in {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
