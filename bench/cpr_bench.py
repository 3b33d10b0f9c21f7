#!/usr/bin/env python3
"""CheckPoint/Restart (CPR) of godwit against QEMU: how long the guest is
paused by cpr-transfer, cpr-exec and cpr-reboot, next to a normal live
migration of the same guest.

For each guest RAM size (256 MiB, 1, 4, 16 GiB) and machine (godwit,
qemu-system-riscv64, same options), with the `ab` guest running (ws=64: it
rewrites 64 MiB per pass and prints a B after each):

  cpr-transfer  RAM in a shared memfd (memory-backend-memfd share=on,
                aux-ram-share=on). A new process starts with the same options,
                `-incoming unix:MAIN` and a cpr channel `-incoming {...CPR...}`;
                the old one gets mode cpr-transfer and `migrate` with both
                channels; it hands over the RAM's descriptors, then stops and
                sends the device state.
  cpr-exec      (godwit only: QEMU 10.0 has no cpr-exec) same memfd RAM; mode
                cpr-exec, cpr-exec-command = the process's own argv plus
                `-incoming file:STATE`, `migrate uri=file:STATE`: the process
                execs itself (same PID) and the new program resumes the guest.
  cpr-reboot    RAM in a shared file in /dev/shm, x-ignore-shared on: `migrate
                uri=file:STATE` saves the device state only; the old process
                quits; a new one with the same options and `-incoming defer`
                loads it with `migrate-incoming`.
  live          a normal precopy migration over a unix socket, max-bandwidth
                10 GB/s, downtime-limit 300 ms (as bench/migration_bench.py).

Each run checks the result: the old side reached postmigrate (or, for
cpr-exec, the same PID answers again), the new side runs, and its serial grows
with B's only (no second A: the guest continued, it did not boot again).

What is measured (all one run per cell, on a small noisy host):

  x-pause     godwit's own, from the new side's query-migrate: the guest pause
              from the last instruction on the old side to the first on the
              new one, on one host clock.
  STOP>RESUME the QMP event timestamps (wall clock, us) of STOP on the old
              process and RESUME on the new one: the same external measure for
              both machines. The new process's QMP must be connected (and
              capabilities negotiated) before it resumes, which for
              cpr-transfer and cpr-exec is a race the script runs as fast as it
              can (0.2 ms polling); a RESUME that came before the connection is
              shown as "missed" (x-pause is then the only figure). For
              cpr-reboot the gap includes quitting the old process, starting
              the new one and the script's QMP commands.
  down/save   the old side's query-migrate downtime: godwit's x-downtime-us
              where it reports it, otherwise (QEMU) "downtime" in whole ms.
              For cpr-reboot that is the save time.
  x-load      godwit's destination x-load-us (reading and loading the
              stream); for cpr-reboot the load time.
  g/q         godwit / QEMU for STOP>RESUME and for down/save.

Also measured: the cpr-exec floor, the wall time of fork+exec+exit of
`godwit -version` from Python (best of 20): whatever cpr-exec does, the exec
of a new program costs about this much (less the fork).

    python3 bench/cpr_bench.py --quick
    python3 bench/cpr_bench.py --sizes 256M,1G,4G,16G --machines godwit,qemu --json cpr.json

Exit status 1 when a run failed (an error, a failed migration, a guest that
did not continue) or a requested machine could not migrate.
"""
import argparse
import json
import os
import pathlib
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import timeline  # noqa: E402
from timeline import MIB, BenchError, QMPError, Vm, parse_size, size_label  # noqa: E402
from qmp_client import QMPClient  # noqa: E402  (tests/, on the path through timeline)

ROOT = timeline.ROOT
FAST_BANDWIDTH = 10_000_000_000  # 10 GB/s
DOWNTIME_LIMIT = 300
MODES = ("cpr-transfer", "cpr-exec", "cpr-reboot", "live")
TERMINAL = ("completed", "failed", "cancelled")


# -- sizes ---------------------------------------------------------------------

# -- QMP helpers ---------------------------------------------------------------

def fast_qmp(path, timeout=30, alive=None):
    """A negotiated QMPClient connected as soon as the socket accepts (retried
    every 0.2 ms): the new process resumes the guest a few ms after its
    monitor appears, and its RESUME event only reaches a client that has
    negotiated by then."""
    return QMPClient(path, timeout=timeout, alive=alive, retry_interval=0.0002)


def stop_processes(vms, files):
    """Stops `vms` (the newest first) and removes `files`."""
    for vm in reversed(vms):
        try:
            vm.stop()
        except OSError:
            if vm.proc.poll() is None:
                vm.proc.kill()
    for path in files:
        try:
            pathlib.Path(path).unlink()
        except FileNotFoundError:
            pass


def split_exec_events(events):
    """The events of a cpr-exec seen on one connection: the old program's
    (up to its last STOP) and the new program's (what follows)."""
    stops = [index for index, event in enumerate(events) if event.get("event") == "STOP"]
    if not stops:
        return events, []
    return events[:stops[-1] + 1], events[stops[-1] + 1:]


class EarlyConnect(threading.Thread):
    """Connects to a QMP socket that does not exist yet, from the moment it
    appears (polling the path every 0.2 ms); `client` or `error` afterwards."""

    def __init__(self, path, alive, timeout):
        super().__init__(daemon=True)
        self.path, self.alive, self.timeout = pathlib.Path(path), alive, timeout
        self.client = None
        self.error = None
        self.cancelled = threading.Event()

    def run(self):
        deadline = time.monotonic() + self.timeout
        try:
            while not self.path.exists():
                if self.cancelled.is_set():
                    return
                if not self.alive():
                    raise QMPError("the process exited before its QMP socket appeared")
                if time.monotonic() > deadline:
                    raise QMPError(f"{self.path} did not appear within {self.timeout} s")
                time.sleep(0.0002)
            self.client = fast_qmp(self.path, timeout=self.timeout, alive=self.alive)
        except (QMPError, OSError) as error:
            self.error = error

    def result(self):
        self.join(self.timeout + 5)
        if self.client is None:
            raise BenchError(f"could not connect to {self.path}: {self.error}")
        return self.client


def stamp_us(event):
    stamp = event.get("timestamp") or {}
    return stamp.get("seconds", 0) * 1_000_000 + stamp.get("microseconds", 0)


def last_event(events, name):
    found = [e for e in events if e.get("event") == name]
    return found[-1] if found else None


def first_event(events, name):
    found = [e for e in events if e.get("event") == name]
    return found[0] if found else None


def wait_migrate(client, timeout, alive=None, interval=0.02):
    """Polls query-migrate until a terminal status; returns the reply."""
    deadline = time.monotonic() + timeout
    while True:
        info = client.command("query-migrate")
        if info.get("status") in TERMINAL:
            return info
        if alive is not None and not alive():
            raise BenchError(f"the process exited while the migration was {info.get('status')!r}")
        if time.monotonic() > deadline:
            raise BenchError(f"query-migrate still {info.get('status')!r} after {timeout} s: {info}")
        time.sleep(interval)


def wait_status(client, wanted, timeout):
    wanted = (wanted,) if isinstance(wanted, str) else tuple(wanted)
    deadline = time.monotonic() + timeout
    while True:
        status = client.command("query-status")["status"]
        if status in wanted:
            return status
        if time.monotonic() > deadline:
            raise BenchError(f"status stayed {status!r} (wanted {' or '.join(wanted)}) for {timeout} s")
        time.sleep(0.02)


def wait_path(path, timeout, vm):
    deadline = time.monotonic() + timeout
    while not pathlib.Path(path).exists():
        if not vm.alive():
            raise BenchError(f"the process exited before {path} appeared\n{vm.describe()}")
        if time.monotonic() > deadline:
            raise BenchError(f"{path} did not appear within {timeout} s\n{vm.describe()}")
        time.sleep(0.005)


# -- machine options -----------------------------------------------------------

def memfd_options(ram_mib):
    return ["-object", f"memory-backend-memfd,id=ram0,size={ram_mib}M,share=on",
            "-M", "virt,memory-backend=ram0,aux-ram-share=on"]


def shm_file_options(ram_mib, path):
    return ["-object", f"memory-backend-file,id=ram0,size={ram_mib}M,mem-path={path},share=on",
            "-M", "virt,memory-backend=ram0"]


def channel(kind, path):
    return {"channel-type": kind, "addr": {"transport": "socket", "type": "unix", "path": str(path)}}


def strip_incoming(cmd):
    """argv without its -incoming options (a process that arrived by
    migration still has them; cpr-exec's command gets a new one)."""
    out, skip = [], False
    for arg in cmd:
        if skip:
            skip = False
            continue
        if arg == "-incoming":
            skip = True
            continue
        out.append(arg)
    return out


# -- the guest going on ----------------------------------------------------------

class SerialWatch(threading.Thread):
    """Samples a serial file's size every ms: a size that goes down means the
    file was truncated (a program that reopens `-serial file:` without
    append=on, as the new program after cpr-exec does)."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = pathlib.Path(path)
        self.stop_event = threading.Event()
        self.truncated = False
        self.last = self._size()

    def _size(self):
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def run(self):
        while not self.stop_event.is_set():
            size = self._size()
            if size < self.last:
                self.truncated = True
            self.last = size
            time.sleep(0.001)

    def finish(self):
        self.stop_event.set()
        self.join(2)
        return self.truncated


def check_continues(vm, start_offset, checks, timeout, passes=2):
    """The guest on `vm` goes on: its serial grows by `passes` B's past
    `start_offset`, and everything past it is B's (no A: no second boot)."""
    vm.wait_serial(start_offset + passes, timeout=timeout)
    text = vm.serial_text()[start_offset:]
    checks["serial_after"] = len(text)
    stray = set(text) - set("B\r\n")
    if "A" in text:
        raise BenchError(f"the guest printed 'A' after the operation: it booted again ({text[:60]!r})")
    if stray:
        raise BenchError(f"unexpected serial output after the operation: {text[:60]!r}")
    checks["guest_continued"] = True


# -- one run per mode --------------------------------------------------------------

class Run:
    """Context of one run: machines to stop and files to remove at the end."""

    def __init__(self, kind, binary, args, ram_mib, mode, workdir):
        self.kind, self.binary, self.args = kind, binary, args
        self.ram_mib, self.mode = ram_mib, mode
        self.workdir = pathlib.Path(workdir)
        self.vms = []
        self.clients = []
        self.files = []
        self.result = {"machine": kind, "ram_mib": ram_mib, "size": size_label(ram_mib), "mode": mode,
                       "status": None, "checks": {}}

    def vm(self, name, extra):
        vm = Vm(self.kind, self.binary, self.args.kernel, self.workdir, name, memory=f"{self.ram_mib}M",
                smp=self.args.smp, append=f"ws={self.args.ws}", extra=extra)
        self.vms.append(vm)
        return vm

    def boot(self, name, extra):
        vm = self.vm(name, extra)
        client = vm.qmp(timeout=self.args.qmp_timeout)
        vm.wait_serial(1 + self.args.wait_passes, timeout=self.args.boot_timeout)
        if not vm.serial_text().startswith("A"):
            raise BenchError(f"unexpected boot output {vm.serial_text()[:40]!r}")
        return vm, client

    def cleanup(self):
        for client in self.clients:
            try:
                client.close()
            except OSError:
                pass
        stop_processes(self.vms, self.files)

    def events(self, stop_events, resume_events):
        """STOP (last, old side) and RESUME (first, new side) into the result."""
        stop, resume = last_event(stop_events, "STOP"), first_event(resume_events, "RESUME")
        result = self.result
        result["stop_us"] = stamp_us(stop) if stop else None
        result["resume_us"] = stamp_us(resume) if resume else None
        result["resume_event"] = "seen" if resume else "missed"
        result["stop_event"] = "seen" if stop else "missed"
        if stop and resume:
            result["event_gap_us"] = stamp_us(resume) - stamp_us(stop)

    def source_info(self, info):
        self.result["src_info"] = info
        self.result["downtime_ms"] = info.get("downtime")
        self.result["x_downtime_us"] = info.get("x-downtime-us")

    def dest_info(self, info):
        self.result["dst_info"] = info
        self.result["x_pause_us"] = info.get("x-pause-us")
        self.result["x_load_us"] = info.get("x-load-us")


def run_cpr_transfer(run):
    args, checks = run.args, run.result["checks"]
    src, client = run.boot("src", memfd_options(run.ram_mib))
    main_sock, cpr_sock = src.sock("main.sock"), src.sock("cpr.sock")
    dst = run.vm("dst", memfd_options(run.ram_mib) + [
        "-incoming", f"unix:{main_sock}", "-incoming", json.dumps(channel("cpr", cpr_sock))])
    wait_path(cpr_sock, 20, dst)
    client.command("migrate-set-parameters", mode="cpr-transfer")
    client.events()
    early = EarlyConnect(dst.qmp_path, dst.alive, args.qmp_timeout)
    early.start()  # the new monitor appears only once `migrate` has sent the cpr state
    try:
        client.command("migrate", channels=[channel("main", main_sock), channel("cpr", cpr_sock)])
    except (QMPError, BenchError):
        early.cancelled.set()
        raise
    new = early.result()
    dst._client = new  # Vm.stop() closes it
    src_info = wait_migrate(client, args.timeout, src.alive)
    run.source_info(src_info)
    if src_info["status"] != "completed":
        raise BenchError(f"migration {src_info['status']}: {src_info.get('error-desc')}")
    dst_info = wait_migrate(new, 30, dst.alive)
    run.dest_info(dst_info)
    checks["source_status"] = client.command("query-status")["status"]
    checks["dest_status"] = wait_status(new, ("running",), 30)
    if checks["source_status"] != "postmigrate":
        raise BenchError(f"source status {checks['source_status']!r}, not postmigrate")
    checks["ram_sent_pages"] = ((src_info.get("ram") or {}).get("normal"))
    time.sleep(0.05)  # let events that trail the replies arrive
    run.events(client.events(), new.events())
    check_continues(dst, 0, checks, args.resume_timeout)


def exec_in_place(vm, client, state, timeout, qmp_timeout):
    """cpr-exec of `vm` into its own command line loading `state` (same PID).
    Returns the old program's events, the new program's QMP client, its
    query-migrate once loaded and running, the serial size before, and
    whether the new program truncated the serial file."""
    pid = vm.proc.pid
    command = strip_incoming(vm.cmd) + ["-incoming", f"file:{state}"]
    client.command("migrate-set-parameters", **{"mode": "cpr-exec", "cpr-exec-command": command})
    client.events()
    watch = SerialWatch(vm.serial_path)
    watch.start()
    before = vm.serial_size()
    try:
        client.command("migrate", uri=f"file:{state}")
        # The monitor connection goes across the exec: the new program
        # answers on it once it has loaded the state (its query-migrate has
        # x-load-us); a failed exec is the old program's "failed".
        deadline = time.monotonic() + timeout
        while True:
            dst_info = client.command("query-migrate")
            if dst_info.get("status") == "failed":
                raise BenchError(f"cpr-exec failed: {dst_info.get('error-desc')}")
            if dst_info.get("status") == "completed" and "x-load-us" in dst_info:
                break
            if time.monotonic() > deadline:
                raise BenchError(f"the new program did not answer within {timeout} s: {dst_info}")
            time.sleep(0.001)
    finally:
        truncated = watch.finish()
    old_events, new_events = split_exec_events(client.events())
    new = client
    if not (vm.alive() and vm.proc.pid == pid):
        raise BenchError(f"the process {pid} is gone after the exec\n{vm.describe()}")
    wait_status(new, ("running",), 30)
    time.sleep(0.05)
    return {"old_events": old_events, "new_events": new_events, "client": new, "dest_info": dst_info,
            "serial_before": before, "truncated": truncated}


def reboot_through_file(old, client, state, start_new, timeout, qmp_timeout):
    """cpr-reboot: saves `old` to `state` (RAM stays in its shared file under
    x-ignore-shared), quits it, starts the new machine with `start_new()`
    (same options, -incoming defer) and loads the state there. Returns the
    save's and the load's query-migrate, the old program's events, the new
    machine and its QMP client, once the guest runs there."""
    client.command("migrate-set-parameters", mode="cpr-reboot")
    client.command("migrate-set-capabilities", capabilities=[{"capability": "x-ignore-shared", "state": True}])
    client.events()
    client.command("migrate", uri=f"file:{state}")
    src_info = wait_migrate(client, timeout, old.alive)
    if src_info["status"] != "completed":
        raise BenchError(f"save {src_info['status']}: {src_info.get('error-desc')}")
    wait_status(client, ("postmigrate",), 10)
    old_events = client.events()
    # Quit the old process; the new one starts from the same options.
    try:
        client.execute("quit", timeout=10)
    except QMPError:
        pass
    try:
        old.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        raise BenchError(f"the old process did not quit\n{old.describe()}") from None
    new_vm = start_new()
    new = new_vm.qmp(timeout=qmp_timeout)
    new.command("migrate-set-parameters", mode="cpr-reboot")
    new.command("migrate-set-capabilities", capabilities=[{"capability": "x-ignore-shared", "state": True}])
    new.command("migrate-incoming", uri=f"file:{state}")
    dst_info = wait_migrate(new, timeout, new_vm.alive)
    if dst_info["status"] != "completed":
        raise BenchError(f"load {dst_info['status']}: {dst_info.get('error-desc')}")
    wait_status(new, ("running",), 30)
    time.sleep(0.05)
    return {"source_info": src_info, "dest_info": dst_info, "old_events": old_events, "vm": new_vm,
            "client": new}


def run_cpr_exec(run):
    args, checks = run.args, run.result["checks"]
    src, client = run.boot("src", memfd_options(run.ram_mib))
    state = run.workdir / "cpr-exec.state"
    run.files.append(state)
    done = exec_in_place(src, client, state, args.timeout, args.qmp_timeout)
    checks["same_pid"] = True
    run.dest_info(done["dest_info"])
    checks["dest_status"] = "running"
    run.events(done["old_events"], done["new_events"] + done["client"].events())
    checks["serial_truncated_by_exec"] = done["truncated"]
    check_continues(src, 0 if done["truncated"] else done["serial_before"], checks, args.resume_timeout)


def run_cpr_reboot(run, shm_path):
    args, checks = run.args, run.result["checks"]
    run.files.append(shm_path)
    options = shm_file_options(run.ram_mib, shm_path)
    src, client = run.boot("src", options)
    state = run.workdir / "cpr-reboot.state"
    run.files.append(state)
    done = reboot_through_file(src, client, state, lambda: run.vm("dst", options + ["-incoming", "defer"]),
                               args.timeout, args.qmp_timeout)
    run.source_info(done["source_info"])
    checks["source_status"] = "postmigrate"
    checks["state_bytes"] = state.stat().st_size
    run.dest_info(done["dest_info"])
    checks["dest_status"] = "running"
    run.events(done["old_events"], done["client"].events())
    check_continues(done["vm"], 0, checks, args.resume_timeout)


def run_live(run):
    args, checks = run.args, run.result["checks"]
    src, client = run.boot("src", [])
    mig_sock = src.sock("mig.sock")
    dst = run.vm("dst", ["-incoming", f"unix:{mig_sock}"])
    new = dst.qmp(timeout=args.qmp_timeout)
    wait_status(new, ("inmigrate",), 30)
    wait_path(mig_sock, 20, dst)
    client.command("migrate-set-parameters", **{"max-bandwidth": FAST_BANDWIDTH,
                                                 "downtime-limit": DOWNTIME_LIMIT})
    client.events()
    new.events()
    client.command("migrate", uri=f"unix:{mig_sock}")
    try:
        src_info = wait_migrate(client, args.timeout, src.alive, interval=0.05)
    except BenchError:
        client.execute("migrate_cancel")
        raise
    run.source_info(src_info)
    if src_info["status"] != "completed":
        raise BenchError(f"migration {src_info['status']}: {src_info.get('error-desc')}")
    checks["passes"] = (src_info.get("ram") or {}).get("dirty-sync-count")
    checks["total_time_ms"] = src_info.get("total-time")
    checks["dest_status"] = wait_status(new, ("running",), 30)
    run.dest_info(wait_migrate(new, 30, dst.alive))
    checks["source_status"] = client.command("query-status")["status"]
    if checks["source_status"] != "postmigrate":
        raise BenchError(f"source status {checks['source_status']!r}, not postmigrate")
    time.sleep(0.05)
    run.events(client.events(), new.events())
    check_continues(dst, 0, checks, args.resume_timeout)


def run_mode(kind, binary, args, ram_mib, mode, workdir, shm_path=None):
    """One run of `mode`; always returns the result dict (status ok or failed),
    with every process stopped and every file removed."""
    run = Run(kind, binary, args, ram_mib, mode, workdir)
    started = time.monotonic()
    try:
        if mode == "cpr-transfer":
            run_cpr_transfer(run)
        elif mode == "cpr-exec":
            run_cpr_exec(run)
        elif mode == "cpr-reboot":
            run_cpr_reboot(run, shm_path)
        else:
            run_live(run)
        run.result["status"] = "ok"
    except (BenchError, QMPError, OSError, KeyError) as error:
        run.result["status"] = "failed"
        run.result["problem"] = str(error).splitlines()[0] if str(error) else repr(error)
        run.result["detail"] = "\n".join(vm.describe() for vm in run.vms)
    finally:
        run.cleanup()
        run.result["wall_s"] = round(time.monotonic() - started, 2)
    return run.result


# -- probes ------------------------------------------------------------------------

def probe_modes(kind, binary, kernel):
    """{mode: None or why it is refused}, asked of a paused machine."""
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="gwcprprobe"))
    vm = None
    refused = {}
    try:
        vm = Vm("probe", binary, kernel, workdir, "probe", memory="128M", extra=["-S"])
        client = vm.qmp()
        for mode in ("cpr-transfer", "cpr-exec", "cpr-reboot"):
            reply = client.execute("migrate-set-parameters", {"mode": mode})
            refused[mode] = reply["error"].get("desc", str(reply["error"])) if "error" in reply else None
        client.execute("migrate-set-parameters", {"mode": "normal"})
    finally:
        if vm is not None:
            vm.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return refused


def exec_floor(binary, repeat=20):
    """Seconds of fork+exec+exit of `binary -version` timed from Python."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([str(binary), "-version"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return {"best_us": round(min(times) * 1e6), "median_us": round(statistics.median(times) * 1e6),
            "repeat": repeat}


# -- report --------------------------------------------------------------------------

def ms_us(value_us):
    return "-" if value_us is None else f"{value_us / 1000:.2f}"


def down_us(result):
    """The old side's downtime in us (x-downtime-us, else downtime ms) and
    whether it is whole-ms only."""
    if result.get("x_downtime_us") is not None:
        return result["x_downtime_us"], False
    if result.get("downtime_ms") is not None:
        return result["downtime_ms"] * 1000, True
    return None, False


def gap_text(result):
    if result.get("event_gap_us") is not None:
        return ms_us(result["event_gap_us"])
    if result.get("status") == "ok":
        return "missed" if result.get("resume_event") == "missed" else "no STOP"
    return "-"


def down_text(result):
    value, coarse = down_us(result)
    if value is None:
        return "-"
    return f"{value // 1000}" if coarse else ms_us(value)


def cells(result, kind):
    """The cells of one machine for one (size, mode)."""
    if result is None:
        return ["-"] * (4 if kind == "godwit" else 2)
    status = result.get("status")
    if status != "ok":
        word = {"failed": "FAILED", "skipped": "skip", "n/a": "n/a"}.get(status, str(status))
        return [word] + ["-"] * (3 if kind == "godwit" else 1)
    if kind == "godwit":
        return [ms_us(result.get("x_pause_us")), gap_text(result), down_text(result), ms_us(result.get("x_load_us"))]
    return [gap_text(result), down_text(result)]


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}x"


def print_table(sizes, modes, results, machines):
    shown = [kind for kind in ("godwit", "qemu") if kind in machines]
    both = len(shown) == 2
    head = ["size", "mode"]
    if "godwit" in shown:
        head += ["g x-pause", "g STOP>RESUME", "g down/save", "g x-load"]
    if "qemu" in shown:
        head += ["q STOP>RESUME", "q down/save"]
    if both:
        head += ["STOP>RESUME g/q", "down g/q"]
    rows = []
    for ram_mib in sizes:
        for mode in modes:
            row = [size_label(ram_mib), mode]
            for kind in shown:
                row += cells(results.get((kind, ram_mib, mode)), kind)
            if both:
                g, q = results.get(("godwit", ram_mib, mode)), results.get(("qemu", ram_mib, mode))
                if g and q and g.get("status") == "ok" and q.get("status") == "ok":
                    qdown, qcoarse = down_us(q)
                    down_ratio = ratio(down_us(g)[0], qdown) if qdown else "-"
                    if down_ratio != "-" and qcoarse and qdown < 10_000:
                        down_ratio = "~" + down_ratio  # QEMU's whole ms: a rough ratio
                    row += [ratio(g.get("event_gap_us"), q.get("event_gap_us")), down_ratio]
                else:
                    row += ["-", "-"]
            rows.append(row)
    widths = [max(len(row[i]) for row in rows + [head]) for i in range(len(head))]

    def fmt(row):
        return "  ".join(v.ljust(widths[i]) if i < 2 else v.rjust(widths[i]) for i, v in enumerate(row))
    line = fmt(head)
    print(line)
    print("-" * len(line))
    for row in rows:
        print(fmt(row))


def summary_line(result):
    if result["status"] != "ok":
        return f"{result['status'].upper()}: {result.get('problem', '')}"
    parts = []
    if result.get("x_pause_us") is not None:
        parts.append(f"x-pause {ms_us(result['x_pause_us'])} ms")
    parts.append(f"STOP>RESUME {gap_text(result)}" + (" ms" if result.get("event_gap_us") is not None else ""))
    value, coarse = down_us(result)
    if value is not None:
        parts.append(f"source downtime {down_text(result)} ms" + (" (whole ms)" if coarse else ""))
    if result.get("x_load_us") is not None:
        parts.append(f"x-load {ms_us(result['x_load_us'])} ms")
    checks = result["checks"]
    if checks.get("passes") is not None:
        parts.append(f"{checks['passes']} passes, total {checks.get('total_time_ms')} ms")
    if checks.get("serial_truncated_by_exec"):
        parts.append("serial file truncated by the new program")
    parts.append(f"guest continued ({checks.get('serial_after')} B's)")
    return "; ".join(parts) + f" [{result['wall_s']} s]"


# -- main --------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--godwit", default=os.environ.get("GODWIT", ROOT / "build/release/godwit"))
    parser.add_argument("--qemu", default=shutil.which("qemu-system-riscv64"))
    parser.add_argument("--kernel", default=ROOT / "build/release/guests/ab.elf")
    parser.add_argument("--machines", default="godwit,qemu", help="which machines (default godwit,qemu)")
    parser.add_argument("--sizes", default="256M,1G,4G,16G", help="guest RAM sizes (default 256M,1G,4G,16G)")
    parser.add_argument("--quick", action="store_true", help="256M only")
    parser.add_argument("--modes", default=",".join(MODES), help=f"default {','.join(MODES)}")
    parser.add_argument("--ws", type=int, default=64, help="the guest's working set in MiB (default 64)")
    parser.add_argument("--smp", type=int, default=1)
    parser.add_argument("--wait-passes", type=int, default=3, help="B's to wait for before the operation")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds for one migration (default 120)")
    parser.add_argument("--boot-timeout", type=float, default=120.0)
    parser.add_argument("--resume-timeout", type=float, default=20.0,
                        help="seconds for the guest to print B's after the operation (default 20)")
    parser.add_argument("--qmp-timeout", type=float, default=30.0)
    parser.add_argument("--exec-repeat", type=int, default=20, help="runs of `godwit -version` (best of, default 20)")
    parser.add_argument("--json", type=pathlib.Path, help="write all results here")
    parser.add_argument("--keep-workdir", action="store_true", help="keep serial and stderr files")
    args = parser.parse_args()

    sizes = [256] if args.quick else [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for mode in modes:
        if mode not in MODES:
            sys.exit(f"unknown mode {mode!r} (one of {', '.join(MODES)})")
    machines = [m.strip() for m in args.machines.split(",") if m.strip()]
    binaries = {"godwit": args.godwit, "qemu": args.qemu}

    def interrupt(signum, _frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)

    notes, usable, versions, refused = [], [], {}, {}
    failed = False
    for kind in machines:
        if kind not in binaries:
            sys.exit(f"unknown machine {kind!r} (godwit or qemu)")
        binary = binaries[kind]
        if not binary or not (shutil.which(str(binary)) or pathlib.Path(binary).exists()):
            notes.append(f"{kind}: no binary at {binary}; its columns are skipped")
            failed = True
            continue
        ok, why = timeline.has_migration(binary, args.kernel)
        if not ok:
            notes.append(f"{kind} ({binary}) cannot migrate: {why}; its columns are skipped")
            failed = True
            continue
        usable.append(kind)
        versions[kind] = timeline.machine_version(binary)
        try:
            refused[kind] = probe_modes(kind, binary, args.kernel)
        except (BenchError, QMPError, OSError) as error:
            refused[kind] = {}
            notes.append(f"{kind}: could not ask which CPR modes it takes: {str(error).splitlines()[0]}")
        for mode, why in refused[kind].items():
            if why and mode in modes:
                notes.append(f"{kind} refuses mode {mode} ({why!r}): n/a")
    for kind in usable:
        print(f"{kind}: {binaries[kind]} ({versions[kind]})")
    for note in notes:
        print(f"note: {note}")

    floor = None
    if "godwit" in usable and "cpr-exec" in modes:
        floor = exec_floor(args.godwit, args.exec_repeat)
        print(f"cpr-exec floor: fork+exec+exit of `godwit -version` from Python: best {ms_us(floor['best_us'])} ms, "
              f"median {ms_us(floor['median_us'])} ms of {floor['repeat']} (includes fork and process exit)")

    shm_free = shutil.disk_usage("/dev/shm").free if os.path.isdir("/dev/shm") else 0
    results = {}
    workroot = pathlib.Path(tempfile.mkdtemp(prefix="gwcprbench"))
    plan = [(ram_mib, mode, kind) for ram_mib in sizes for mode in modes for kind in usable]
    interrupted = False
    try:
        for number, (ram_mib, mode, kind) in enumerate(plan, 1):
            label = f"[{number}/{len(plan)}] {kind:6} {size_label(ram_mib):>4} {mode:12}"
            key = (kind, ram_mib, mode)
            base = {"machine": kind, "ram_mib": ram_mib, "size": size_label(ram_mib), "mode": mode, "checks": {}}
            if refused.get(kind, {}).get(mode):
                results[key] = dict(base, status="n/a", problem=refused[kind][mode])
                print(f"{label} n/a: {kind} refuses mode {mode}", flush=True)
                continue
            shm_path = None
            if mode == "cpr-reboot":
                need = ram_mib * MIB
                shm_free = shutil.disk_usage("/dev/shm").free
                if shm_free < need:
                    results[key] = dict(base, status="skipped",
                                        problem=f"/dev/shm has {shm_free / MIB:,.0f} MiB free, {ram_mib:,} MiB needed")
                    notes.append(f"{kind} {size_label(ram_mib)} cpr-reboot skipped: /dev/shm has "
                                 f"{shm_free / MIB:,.0f} MiB free, the RAM file needs {ram_mib:,} MiB")
                    print(f"{label} skipped: /dev/shm has {shm_free / MIB:,.0f} MiB free, the RAM file "
                          f"needs {ram_mib:,} MiB", flush=True)
                    continue
                shm_path = pathlib.Path("/dev/shm") / f"godwit-cpr-bench-{os.getpid()}-{kind}-{size_label(ram_mib)}"
            print(f"{label} ", end="", flush=True)
            workdir = workroot / f"{kind}-{size_label(ram_mib)}-{mode}"
            result = run_mode(kind, binaries[kind], args, ram_mib, mode, workdir, shm_path)
            results[key] = result
            print(summary_line(result), flush=True)
            if result["status"] == "failed":
                failed = True
                if result.get("detail"):
                    print("    " + result["detail"].replace("\n", "\n    "))
    except KeyboardInterrupt:
        interrupted = failed = True
        print("\ninterrupted; results so far:")
    finally:
        if args.keep_workdir:
            print(f"work files in {workroot}")
        else:
            shutil.rmtree(workroot, ignore_errors=True)

    print()
    print(f"CPR guest pause, ms, one run per cell (ab ws={args.ws}, -smp {args.smp}; a noisy "
          f"{os.cpu_count()}-CPU host: differences under ~20% or ~1 ms mean little)")
    print_table(sizes, modes, results, usable)
    print("x-pause: godwit's destination x-pause-us (last guest instruction old side -> first new side, "
          "one clock).\nSTOP>RESUME: QMP event timestamps, STOP on the old process, RESUME on the new one; "
          "\"missed\": the\n  new process resumed before this script's QMP connection was negotiated (race; "
          "use x-pause).\n  cpr-reboot's gap includes quitting the old process, starting the new one and "
          "the QMP commands.\ndown/save: old side's downtime (godwit x-downtime-us when reported, with "
          "decimals; QEMU whole ms);\n  for cpr-reboot the save time; none for cpr-exec (the old program's "
          "query-migrate goes with the exec).\n  \"~\" before a ratio: QEMU's downtime is under 10 whole ms, "
          "so the ratio is rough.\nx-load: godwit destination x-load-us (cpr-reboot: load time; live: the "
          "whole incoming migration).\nlive: precopy over a unix socket, max-bandwidth 10 GB/s, "
          "downtime-limit 300 ms.")
    if floor:
        print(f"cpr-exec floor: fork+exec+exit of `godwit -version` timed from Python, best of "
              f"{floor['repeat']}: {ms_us(floor['best_us'])} ms (median {ms_us(floor['median_us'])}); "
              f"includes fork.")
    for note in notes:
        print(f"note: {note}")
    if args.json:
        timeline.write_json(args.json, {
            "format": "godwit-cpr-bench/1", "versions": versions, "notes": notes,
            "host": {"cpus": os.cpu_count(), "shm_free_bytes": shm_free},
            "exec_floor": floor, "refused_modes": refused,
            "arguments": {k: str(v) for k, v in vars(args).items()},
            "runs": list(results.values())})
        print(f"results in {args.json}")
    if interrupted:
        return 130
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
