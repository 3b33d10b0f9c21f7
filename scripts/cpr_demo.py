#!/usr/bin/env python3
"""CheckPoint/Restart (CPR) demo: one running guest goes through every way
godwit has of moving it to a new process, and the guest pause of each is
shown next to a normal live migration's downtime.

The `ab` guest (prints A at boot, then a B after each pass rewriting its
64 MiB working set) boots on godwit (-m 256M -smp 2, RAM in a shared memfd)
and then, the same guest all along:

  1. live          precopy to a new process over a unix socket (10 GB/s):
                   the comparison;
  2. cpr-transfer  to a new process, which receives the RAM's descriptors over
                   a cpr channel and maps the same memory; only device state
                   is sent;
  3. cpr-exec      the process execs a new godwit (same PID) which keeps the
                   RAM's descriptors and loads device state from a file;
  4. live          again, into RAM in a shared file in /dev/shm (cpr-reboot
                   needs RAM that outlives the process);
  5. cpr-reboot    device state to a file (x-ignore-shared: RAM stays in the
                   /dev/shm file), the process quits, a new one loads it.

After each step the old process is left behind (postmigrate, or quit) and the
guest must go on in the new one: its serial grows with B's only (an A would
mean it booted again). The pause shown is godwit's x-pause-us (last guest
instruction on the old side to the first on the new, one host clock) and the
gap between the QMP STOP event of the old process and the RESUME event of the
new one ("missed" when the new process resumed before the demo's QMP
connection was up).

    python3 scripts/cpr_demo.py
    python3 scripts/cpr_demo.py --binary build/debug/godwit --keep

Exits non-zero if any step failed.
"""
import argparse
import json
import os
import pathlib
import shutil
import signal
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import cpr_bench  # noqa: E402
import timeline  # noqa: E402
from cpr_bench import (EarlyConnect, channel, first_event, last_event, memfd_options,  # noqa: E402
                       shm_file_options, stamp_us, wait_migrate, wait_path, wait_status)
from timeline import BenchError, QMPError, Vm  # noqa: E402


class Failed(Exception):
    pass


def ms(value_us):
    return "-" if value_us is None else f"{value_us / 1000:.2f} ms"


class Demo:
    def __init__(self, args, workdir):
        self.args = args
        self.workdir = workdir
        self.vms = []
        self.files = []
        self.steps = []
        self.notes = []
        self.generation = 0

    # -- machines ---------------------------------------------------------------

    def vm(self, extra):
        self.generation += 1
        vm = Vm("godwit", self.args.binary, self.args.kernel, self.workdir, f"gen{self.generation}",
                memory=self.args.memory, smp=self.args.smp, append=f"ws={self.args.ws}", extra=extra)
        self.vms.append(vm)
        return vm

    def retire(self, vm):
        """Stops an old process once the guest has left it."""
        vm.stop()

    def stop_all(self):
        cpr_bench.stop_processes(self.vms, self.files)

    # -- checks -----------------------------------------------------------------

    def goes_on(self, vm, offset, label):
        """The guest runs on in `vm`: B's past `offset`, and nothing but B's."""
        try:
            vm.wait_serial(offset + 3, timeout=10)
        except BenchError:
            raise Failed(f"{label}: the guest printed nothing after the operation "
                         f"(status {vm.status()})\n{vm.describe()}") from None
        text = vm.serial_text()[offset:]
        if "A" in text:
            raise Failed(f"{label}: the guest printed 'A': it booted again instead of continuing ({text[:60]!r})")
        if set(text) - set("B\r\n"):
            raise Failed(f"{label}: unexpected serial output {text[:60]!r}")
        return len(text)

    def record(self, mode, stop_events, resume_events, src_info=None, dst_info=None, note=""):
        stop, resume = last_event(stop_events, "STOP"), first_event(resume_events, "RESUME")
        step = {"mode": mode, "gap_us": stamp_us(resume) - stamp_us(stop) if stop and resume else None,
                "resume_missed": resume is None, "x_pause_us": (dst_info or {}).get("x-pause-us"),
                "x_load_us": (dst_info or {}).get("x-load-us"), "note": note}
        if src_info:
            step["downtime_ms"] = src_info.get("downtime")
            step["x_downtime_us"] = src_info.get("x-downtime-us")
        self.steps.append(step)
        return step

    def report(self, step, pid_text, serial):
        gap = ms(step["gap_us"]) if step["gap_us"] is not None else "missed (resumed before QMP connected)"
        down = ""
        if step.get("x_downtime_us") is not None:
            down = f", source downtime {ms(step['x_downtime_us'])}"
        elif step.get("downtime_ms") is not None:
            down = f", source downtime {step['downtime_ms']} ms"
        print(f"  guest pause: x-pause {ms(step['x_pause_us'])}, STOP->RESUME {gap}{down}, "
              f"load {ms(step['x_load_us'])}")
        print(f"  guest goes on in {pid_text}: +{serial} B's, no A{step['note']}")

    # -- steps ------------------------------------------------------------------

    def live(self, old, extra, label):
        print(f"{label}: live migration (precopy, unix socket, max-bandwidth 10 GB/s)")
        client = old.qmp()
        mig_sock = old.sock("mig.sock")
        new = self.vm(extra + ["-incoming", f"unix:{mig_sock}"])
        new_client = new.qmp(timeout=30)
        wait_status(new_client, ("inmigrate",), 20)
        wait_path(mig_sock, 20, new)
        # A godwit process that arrived by cpr-transfer or cpr-exec keeps that
        # mode and has x-ignore-shared on (QEMU 10.0's has neither); a live
        # migration needs both off, so they are set here explicitly.
        mode = client.command("query-migrate-parameters").get("mode")
        shared = [c["capability"] for c in client.command("query-migrate-capabilities")
                  if c["capability"] == "x-ignore-shared" and c["state"]]
        if mode != "normal" or shared:
            inherited = f"mode {mode}" + (" and x-ignore-shared on" if shared else "")
            print(f"  note: the process (which arrived by {self.steps[-1]['mode'] if self.steps else '?'}) "
                  f"had {inherited} without being asked; set back to normal / off")
            self.notes.append(f"step {label}: the old process had {inherited} without being asked")
        client.command("migrate-set-parameters", **{"mode": "normal", "max-bandwidth": 10_000_000_000,
                                                     "downtime-limit": 300})
        client.command("migrate-set-capabilities",
                       capabilities=[{"capability": "x-ignore-shared", "state": False}])
        client.events()
        new_client.events()
        client.command("migrate", uri=f"unix:{mig_sock}")
        info = wait_migrate(client, 60, old.alive, interval=0.05)
        if info["status"] != "completed":
            raise Failed(f"{label}: live migration {info['status']}: {info.get('error-desc')}")
        wait_status(new_client, ("running",), 20)
        dst_info = wait_migrate(new_client, 20, new.alive)
        if old.status() != "postmigrate":
            raise Failed(f"{label}: the old process is {old.status()!r}, not postmigrate")
        time.sleep(0.05)
        step = self.record("live", client.events(), new_client.events(), info, dst_info,
                           note=f"; {info['ram']['dirty-sync-count']} passes, total {info['total-time']} ms")
        serial = self.goes_on(new, 0, label)
        self.report(step, f"pid {new.proc.pid} (was {old.proc.pid})", serial)
        self.retire(old)
        return new

    def transfer(self, old, label):
        print(f"{label}: cpr-transfer (the new process maps the same memfd; device state only)")
        client = old.qmp()
        main_sock, cpr_sock = old.sock("main.sock"), old.sock("cpr.sock")
        new = self.vm(memfd_options(self.ram_mib) + [
            "-incoming", f"unix:{main_sock}", "-incoming", json.dumps(channel("cpr", cpr_sock))])
        wait_path(cpr_sock, 20, new)
        client.command("migrate-set-parameters", mode="cpr-transfer")
        client.events()
        early = EarlyConnect(new.qmp_path, new.alive, 30)
        early.start()
        try:
            client.command("migrate", channels=[channel("main", main_sock), channel("cpr", cpr_sock)])
        except QMPError:
            early.cancelled.set()
            raise
        new_client = early.result()
        new._client = new_client
        info = wait_migrate(client, 60, old.alive)
        if info["status"] != "completed":
            raise Failed(f"{label}: cpr-transfer {info['status']}: {info.get('error-desc')}")
        dst_info = wait_migrate(new_client, 20, new.alive)
        wait_status(new_client, ("running",), 20)
        if old.status() != "postmigrate":
            raise Failed(f"{label}: the old process is {old.status()!r}, not postmigrate")
        sent = (info.get("ram") or {}).get("normal")
        time.sleep(0.05)
        step = self.record("cpr-transfer", client.events(), new_client.events(), info, dst_info,
                           note=f"; RAM pages sent: {sent}")
        serial = self.goes_on(new, 0, label)
        self.report(step, f"pid {new.proc.pid} (was {old.proc.pid})", serial)
        self.retire(old)
        return new

    def exec_(self, vm, label):
        print(f"{label}: cpr-exec (the process execs godwit again, same PID, same memfd)")
        state = self.workdir / "cpr-exec.state"
        self.files.append(state)
        pid = vm.proc.pid
        try:
            done = cpr_bench.exec_in_place(vm, vm.qmp(), state, 30, 30)
        except BenchError as error:
            raise Failed(f"{label}: {error}") from None
        truncated = done["truncated"]
        step = self.record("cpr-exec", done["old_events"], done["new_events"] + done["client"].events(), None, done["dest_info"],
                           note="; the new program reopened the serial file (truncated)" if truncated else "")
        serial = self.goes_on(vm, 0 if truncated else done["serial_before"], label)
        self.report(step, f"the same pid {pid}", serial)
        return vm

    def reboot(self, old, options, label):
        print(f"{label}: cpr-reboot (state to a file, RAM stays in /dev/shm, process quits, a new one loads)")
        state = self.workdir / "cpr-reboot.state"
        self.files.append(state)
        old_pid = old.proc.pid
        try:
            done = cpr_bench.reboot_through_file(old, old.qmp(), state,
                                                 lambda: self.vm(options + ["-incoming", "defer"]), 60, 30)
        except BenchError as error:
            raise Failed(f"{label}: {error}") from None
        new = done["vm"]
        step = self.record("cpr-reboot", done["old_events"], done["client"].events(), done["source_info"],
                           done["dest_info"], note=f"; state file {state.stat().st_size:,} bytes; the pause "
                                                   f"includes the process restart")
        serial = self.goes_on(new, 0, label)
        self.report(step, f"pid {new.proc.pid} (was {old_pid}, which quit)", serial)
        self.retire(old)
        return new

    # -- the whole story ---------------------------------------------------------

    def run(self):
        args = self.args
        version = timeline.machine_version(args.binary)
        if version is None:
            raise Failed(f"cannot run {args.binary}")
        self.ram_mib = timeline.parse_size(args.memory)
        shm = pathlib.Path("/dev/shm")
        if not shm.is_dir() or shutil.disk_usage(shm).free < self.ram_mib << 20:
            raise Failed(f"/dev/shm lacks {self.ram_mib} MiB free for cpr-reboot's RAM file")
        shm_file = shm / f"godwit-cpr-demo-{os.getpid()}"
        self.files.append(shm_file)
        print(f"machine: {args.binary} ({version})")
        print(f"guest:   {args.kernel} ws={args.ws} (-m {args.memory} -smp {args.smp}), RAM in a shared memfd")
        vm = self.vm(memfd_options(self.ram_mib))
        vm.qmp(timeout=30)
        vm.wait_serial(4, timeout=30)
        print(f"booted: pid {vm.proc.pid}, serial {vm.serial_text()[:12]!r}...")
        vm = self.live(vm, memfd_options(self.ram_mib), "1/5")
        vm = self.transfer(vm, "2/5")
        vm = self.exec_(vm, "3/5")
        vm = self.live(vm, shm_file_options(self.ram_mib, shm_file), "4/5")
        vm = self.reboot(vm, shm_file_options(self.ram_mib, shm_file), "5/5")

        live = self.steps[0]
        live_down = live.get("x_downtime_us")
        if live_down is None and live.get("downtime_ms") is not None:
            live_down = live["downtime_ms"] * 1000
        live_pause = live["x_pause_us"] if live["x_pause_us"] is not None else live["gap_us"]
        print()
        print("guest pause per mode, ms, next to the live migration of step 1 (its source downtime, and "
              "the mode's pause as a share of the live migration's x-pause; that migration is of RAM in a "
              "shared memfd, as CPR needs: bench/cpr_bench.py's live row uses private RAM):")
        head = f"  {'step':5} {'mode':13} {'x-pause':>8} {'STOP->RESUME':>13} {'live downtime':>14} {'vs live pause':>14}"
        print(head)
        print("  " + "-" * (len(head) - 2))
        for number, step in enumerate(self.steps, 1):
            pause = step["x_pause_us"] if step["x_pause_us"] is not None else step["gap_us"]
            versus = f"{pause / live_pause:.2f}x" if pause is not None and live_pause else "-"
            gap = f"{step['gap_us'] / 1000:.2f}" if step["gap_us"] is not None else "missed"
            pause_text = f"{step['x_pause_us'] / 1000:.2f}" if step["x_pause_us"] is not None else "-"
            down = f"{live_down / 1000:.2f}" if live_down is not None else "-"
            print(f"  {number}/5   {step['mode']:13} {pause_text:>8} {gap:>13} {down:>14} {versus:>14}")
        print("  (one run each on a small shared host; cpr-reboot's pause includes quitting and starting a process)")
        for note in self.notes:
            print(f"note: {note}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.environ.get("GODWIT", str(ROOT / "build/release/godwit")))
    parser.add_argument("--kernel", default=str(ROOT / "build/release/guests/ab.elf"))
    parser.add_argument("--memory", default="256M")
    parser.add_argument("--smp", type=int, default=2)
    parser.add_argument("--ws", type=int, default=64, help="the guest's working set, MiB (default 64)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (serial, stderr)")
    args = parser.parse_args()

    def interrupt(signum, _frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)

    workdir = pathlib.Path(tempfile.mkdtemp(prefix="gwcprdemo"))
    demo = Demo(args, workdir)
    code = 0
    started = time.monotonic()
    try:
        demo.run()
        print(f"cpr demo: OK ({time.monotonic() - started:.1f} s)")
    except KeyboardInterrupt:
        print("\ninterrupted; machines stopped", file=sys.stderr)
        code = 130
    except (Failed, BenchError, QMPError, OSError) as error:
        print(f"cpr demo FAILED: {error}", file=sys.stderr)
        code = 1
    finally:
        demo.stop_all()
        if args.keep or code not in (0, 130):
            print(f"work files (serial, stderr) in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
