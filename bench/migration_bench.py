#!/usr/bin/env python3
"""Live migration (precopy) of godwit against QEMU, in one run.

For each configuration -- guest RAM (256 MiB, 1 GiB, 4 GiB), working set of
the `ab` guest (64 MiB, or all of RAM), migration parameters (QEMU's defaults:
max-bandwidth 128 MiB/s, downtime-limit 300 ms; and again with max-bandwidth
10 GB/s) -- and each machine (godwit, qemu-system-riscv64, same options):

  1. boots `ab` on a source and waits for a few B's (completed dirtying passes),
     then counts B's for a second (the guest's dirtying rate);
  2. starts a destination with `-incoming unix:SOCK` (same options);
  3. sets the parameters on the source (and the `events` capability, to record
     MIGRATION / MIGRATION_PASS), sends `migrate` and polls `query-migrate`
     every 50 ms into a timeline until completed or failed; after --timeout
     seconds it sends migrate_cancel and reports "did not converge" (a
     whole-RAM working set at 128 MiB/s need not converge in 300 ms);
  4. checks that the destination resumed (query-status running, serial
     growing, no new "A": it continued rather than rebooted), or after a
     cancel that the source runs again.

Only one source/destination pair is alive at a time. Also measures what the
host allows: memcpy throughput (bytearray slice assignment of 256 MiB) and
unix-socket throughput (socketpair, two processes, 1 MiB writes).

Prints a table: per configuration godwit's and QEMU's total time, downtime,
bytes sent (ram.transferred) and passes (dirty-sync-count), and the
godwit/QEMU ratios of total time and downtime. One run per cell; the host is
small and noisy, so differences under ~20% mean little.

    python3 bench/migration_bench.py --quick --timeout 20
    python3 bench/migration_bench.py --sizes 1G --json out.json --timeline-dir tl/

Exit status 1 when a run failed (an error, a failed migration, a destination
that did not resume) or a requested machine could not migrate at all; not
converging within --timeout is a result, not a failure.
"""
import argparse
import json
import os
import pathlib
import shutil
import socket
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import timeline  # noqa: E402
from timeline import MIB, BenchError, QMPError, Vm, parse_size, size_label  # noqa: E402

ROOT = timeline.ROOT
QEMU_DEFAULT_BANDWIDTH = 134217728  # 128 MiB/s
FAST_BANDWIDTH = 10_000_000_000     # 10 GB/s


# -- host limits ---------------------------------------------------------------

def memcpy_throughput(size=256 * MIB, repeat=4):
    """Best bytes/s of copying `size` bytes between two bytearrays (memmove
    under the slice assignment), after one copy that faults the pages in."""
    src = bytearray(os.urandom(MIB)) * (size // MIB)
    dst = bytearray(size)
    dst[:] = src
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        dst[:] = src
        best = min(best, time.perf_counter() - start)
    assert dst[:MIB] == src[:MIB]
    return size / best


def unix_socket_throughput(total=2048 * MIB, chunk=MIB):
    """bytes/s through an AF_UNIX stream socketpair: a forked child writes
    `chunk`-byte buffers, the parent reads into one buffer (two processes, so
    no GIL between them). Timed from the first byte received to the last."""
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:
        try:
            parent.close()
            data = os.urandom(chunk)
            sent = 0
            while sent < total:
                child.sendall(data)
                sent += chunk
            child.close()
        finally:
            os._exit(0)
    child.close()
    buffer = bytearray(chunk)
    view = memoryview(buffer)
    received = parent.recv_into(view)
    start = time.perf_counter()
    counted = 0
    while True:
        n = parent.recv_into(view)
        if n == 0:
            break
        counted += n
    elapsed = time.perf_counter() - start
    parent.close()
    os.waitpid(pid, 0)
    if received + counted != total:
        raise BenchError(f"socket test: received {received + counted} of {total} bytes")
    return counted / elapsed


def host_limits():
    memcpy = memcpy_throughput()
    sock = max(unix_socket_throughput(1024 * MIB) for _ in range(3))
    return {"memcpy_bytes_per_s": memcpy, "unix_socket_bytes_per_s": sock,
            "cpus": os.cpu_count()}


# -- configurations ------------------------------------------------------------

def parse_bandwidth(text):
    """'default' (QEMU's 128 MiB/s), 'fast' (10 GB/s), or bytes/s with an
    optional K/M/G (decimal) or Ki/Mi/Gi (binary) suffix."""
    text = text.strip()
    if text == "default":
        return QEMU_DEFAULT_BANDWIDTH
    if text == "fast":
        return FAST_BANDWIDTH
    units = {"KI": 1 << 10, "MI": 1 << 20, "GI": 1 << 30, "K": 10**3, "M": 10**6, "G": 10**9}
    upper = text.upper().removesuffix("/S").removesuffix("B")
    for suffix, factor in units.items():
        if upper.endswith(suffix):
            return int(float(upper[:-len(suffix)]) * factor)
    return int(upper)


def bandwidth_label(value):
    if value % MIB == 0:
        return f"{value // MIB}MiB/s"
    if value % 10**9 == 0:
        return f"{value // 10**9}GB/s"
    if value % 10**6 == 0:
        return f"{value // 10**6}MB/s"
    return f"{value}B/s"


def configurations(args):
    sizes = ["256M"] if args.quick else args.sizes.split(",")
    configs = []
    for size in sizes:
        ram_mib = parse_size(size)
        dirtyable = ram_mib - 5  # ab dirties RAM base + 1 MiB .. RAM end - 4 MiB
        for ws in args.ws.split(","):
            ws_mib = None if ws.strip() == "all" else parse_size(ws)
            if ws_mib is not None and ws_mib >= dirtyable:
                ws_mib = None
            for bw in args.bandwidths.split(","):
                bandwidth = parse_bandwidth(bw)
                ws_text = "all" if ws_mib is None else f"{ws_mib}M"
                label = f"{size_label(ram_mib)} ws={ws_text} bw={bandwidth_label(bandwidth)}"
                slug = f"{size_label(ram_mib)}-ws{ws_text}-bw{bandwidth_label(bandwidth).replace('/s', 'ps')}"
                configs.append({"label": label, "slug": slug, "ram_mib": ram_mib,
                                "working_set_mib": ws_mib,
                                "dirtied_mib": dirtyable if ws_mib is None else ws_mib,
                                "max_bandwidth": bandwidth, "downtime_limit": args.downtime_limit,
                                "smp": args.smp})
    # Drop duplicates (e.g. ws=64 and all on a tiny RAM size).
    unique = {}
    for config in configs:
        unique.setdefault(config["label"], config)
    return list(unique.values())


# -- one run -------------------------------------------------------------------

def run_one(kind, binary, version, args, config, workdir):
    """One migration of `ab` from a fresh source to a fresh destination.
    Returns the timeline document (with result and checks)."""
    append = f"ws={config['working_set_mib']}" if config["working_set_mib"] else None
    memory = f"{config['ram_mib']}M"
    document = {"format": timeline.FORMAT, "machine": kind, "binary": str(binary), "version": version,
                "config": {k: v for k, v in config.items() if k != "slug"},
                "page_size": 4096, "samples": [], "events": [], "result": {}, "checks": {}}
    checks = document["checks"]
    src = dst = None
    try:
        src = Vm(kind, binary, args.kernel, workdir, "src", memory=memory, smp=args.smp, append=append)
        client = src.qmp(timeout=args.qmp_timeout)
        src.wait_serial(1 + args.wait_passes, timeout=args.boot_timeout)
        # The guest's dirtying rate before migration: completed passes per second.
        before, start = src.serial_size(), time.monotonic()
        time.sleep(args.rate_window)
        passes_per_s = (src.serial_size() - before) / (time.monotonic() - start)
        checks["guest_passes_per_s"] = round(passes_per_s, 2)
        checks["guest_dirty_mib_per_s"] = round(passes_per_s * config["dirtied_mib"], 1)

        mig_sock = src.sock("mig.sock")
        dst = Vm(kind, binary, args.kernel, workdir, "dst", memory=memory, smp=args.smp, append=append,
                 extra=["-incoming", f"unix:{mig_sock}"])
        dst.qmp(timeout=args.qmp_timeout)
        checks["dest_status_before"] = dst.wait_status("inmigrate", 30)
        deadline = time.monotonic() + 10
        while not mig_sock.exists():
            if time.monotonic() > deadline:
                raise BenchError(f"the destination did not create {mig_sock}\n{dst.describe()}")
            time.sleep(0.02)

        client.command("migrate-set-parameters", **{"max-bandwidth": config["max_bandwidth"],
                                                     "downtime-limit": config["downtime_limit"]})
        params = client.command("query-migrate-parameters")
        checks["parameters"] = {"max-bandwidth": params.get("max-bandwidth"),
                                "downtime-limit": params.get("downtime-limit")}
        if (params.get("max-bandwidth"), params.get("downtime-limit")) != (
                config["max_bandwidth"], config["downtime_limit"]):
            checks["parameters_mismatch"] = True
        reply = client.execute("migrate-set-capabilities",
                               {"capabilities": [{"capability": "events", "state": True}]})
        checks["events_capability"] = "return" in reply

        recorded = timeline.record_migration(client, f"unix:{mig_sock}", timeout_s=args.timeout,
                                             interval_s=args.interval)
        document.update(recorded)
        info = recorded["final_info"] or {}
        document["page_size"] = (info.get("ram") or {}).get("page-size") or 4096
        result = document["result"]
        status = result["status"]
        if status == "completed":
            checks["source_status"] = src.status()
            checks["dest_status"] = dst.wait_status(("running",), 30)
            grown = dst.serial_size()
            dst.wait_serial(grown + 1, timeout=args.resume_timeout)
            checks["dest_serial_grew"] = True
            checks["dest_rebooted"] = "A" in dst.serial_text()
            checks["dest_resumed"] = not checks["dest_rebooted"] and checks["dest_status"] == "running"
            if checks["source_status"] != "postmigrate":
                result["problem"] = f"source status {checks['source_status']!r}, not postmigrate"
            elif checks["dest_rebooted"]:
                result["problem"] = "destination printed 'A': the guest started over"
        elif status == "did-not-converge":
            checks["source_status"] = src.wait_status(("running",), 30)
            grown = src.serial_size()
            src.wait_serial(grown + 1, timeout=args.resume_timeout)
            checks["source_resumed_after_cancel"] = True
        else:
            result["problem"] = result.get("error") or f"status {status}"
            checks["dest_alive"] = dst.alive()
            if not dst.alive():
                checks["dest_stderr"] = dst.stderr_text(1000)
        if args.migration_events and recorded["events"]:
            checks["events"] = [e["event"] for e in recorded["events"]]
    except (BenchError, QMPError, OSError) as error:
        result = document["result"]
        if not result.get("status"):
            result["status"] = "error"  # before or while migrating
        result["problem"] = str(error).splitlines()[0]  # a check after it failed, or the run broke
        result["detail"] = "\n".join(vm.describe() for vm in (src, dst) if vm is not None)
    finally:
        for vm in (dst, src):
            if vm is not None:
                vm.stop()
    return document


# -- report --------------------------------------------------------------------

def cell(document):
    """(total, downtime, MiB, passes) strings for the table."""
    if document is None:
        return ["-"] * 4
    result = document["result"]
    status = result.get("status")
    sent = result.get("transferred")
    sent_text = f"{sent / MIB:,.0f}" if sent is not None else "-"
    passes = str(result.get("passes")) if result.get("passes") is not None else "-"
    if result.get("problem"):
        return ["FAILED", "-", sent_text, passes]
    if status == "completed":
        return [f"{result['total_time']:,}", f"{result['downtime']}", sent_text, passes]
    if status == "did-not-converge":
        return [f"DNF>{result.get('cancelled_after_s', '?')}s", "-", sent_text, passes]
    return [status.upper() if status else "ERROR", "-", sent_text, passes]


def ratio(ours, theirs, key):
    if not ours or not theirs:
        return "-"
    a, b = ours["result"], theirs["result"]
    if a.get("status") != "completed" or b.get("status") != "completed" or a.get("problem") or b.get("problem"):
        return "-"
    if a.get(key) is None or b.get(key) is None:
        return "-"
    if b[key] == 0:
        return "inf" if a[key] else "1.00x"
    return f"{a[key] / b[key]:.2f}x"


def print_table(configs, runs, machines):
    """One row per configuration; a column group per machine that ran (a
    machine that could not run is left out), ratios when both ran."""
    shown = [kind for kind in ("godwit", "qemu") if kind in machines]
    both = len(shown) == 2
    head = ["config"]
    for kind in shown:
        head += [f"{kind} total ms", "down ms", "MiB sent", "passes"]
    if both:
        head += ["total g/q", "down g/q"]
    rows = []
    for config in configs:
        row = [config["label"]]
        for kind in shown:
            row += cell(runs.get((kind, config["label"])))
        if both:
            g = runs.get(("godwit", config["label"]))
            q = runs.get(("qemu", config["label"]))
            row += [ratio(g, q, "total_time"), ratio(g, q, "downtime")]
        rows.append(row)
    widths = [max(len(row[i]) for row in rows + [head]) for i in range(len(head))]
    line = "  ".join(h.ljust(widths[0]) if i == 0 else h.rjust(widths[i]) for i, h in enumerate(head))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(v.ljust(widths[0]) if i == 0 else v.rjust(widths[i]) for i, v in enumerate(row)))


def summary_line(document):
    result, checks = document["result"], document.get("checks", {})
    status = result.get("status")
    guest = (f"guest {checks['guest_passes_per_s']:.1f} passes/s = {checks['guest_dirty_mib_per_s']:,.0f} MiB/s dirtied"
             if "guest_passes_per_s" in checks else "")
    if status == "completed":
        text = (f"completed: total {result['total_time']} ms, downtime {result['downtime']} ms, "
                f"setup {result.get('setup_time')} ms, {(result.get('transferred') or 0) / MIB:,.0f} MiB, "
                f"{result.get('passes')} passes, mbps {result.get('mbps') or 0:,.0f}; "
                f"dest {checks.get('dest_status', '?')}"
                f"{', resumed' if checks.get('dest_resumed') else ''}")
    elif status == "did-not-converge":
        text = (f"did not converge within {result.get('cancelled_after_s')} s "
                f"({(result.get('transferred') or 0) / MIB:,.0f} MiB sent, {result.get('passes')} passes, "
                f"expected downtime {result.get('expected_downtime')} ms); cancelled, source "
                f"{checks.get('source_status', '?')}")
    else:
        text = f"{status}"
    latencies = sorted(s["qmp_ms"] for s in document.get("samples", []) if s.get("qmp_ms") is not None)
    if latencies:
        text += f"; query-migrate answered in {latencies[len(latencies) // 2]:.1f} ms median, {latencies[-1]:.0f} max"
    if result.get("problem"):
        text += f" -- PROBLEM: {result['problem']}"
    if checks.get("parameters_mismatch"):
        text += f" -- parameters read back as {checks['parameters']}"
    return f"{text}; {guest}" if guest else text


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--godwit", default=os.environ.get("GODWIT", ROOT / "build/release/godwit"))
    parser.add_argument("--qemu", default=shutil.which("qemu-system-riscv64"))
    parser.add_argument("--kernel", default=ROOT / "build/release/guests/ab.elf")
    parser.add_argument("--machines", default="godwit,qemu", help="which machines (default godwit,qemu)")
    parser.add_argument("--sizes", default="256M,1G,4G", help="guest RAM sizes (default 256M,1G,4G)")
    parser.add_argument("--quick", action="store_true", help="256M only")
    parser.add_argument("--ws", default="64,all",
                        help="working sets in MiB, 'all' = all of RAM (default 64,all)")
    parser.add_argument("--bandwidths", default="default,fast",
                        help="max-bandwidth values: default (128 MiB/s), fast (10 GB/s) or bytes/s "
                             "with K/M/G or Ki/Mi/Gi (default: default,fast)")
    parser.add_argument("--downtime-limit", type=int, default=300, help="ms (default 300)")
    parser.add_argument("--smp", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds before a migration counts as not converging and is cancelled (default 60)")
    parser.add_argument("--interval", type=float, default=0.05, help="query-migrate poll period, s (default 0.05)")
    parser.add_argument("--wait-passes", type=int, default=3, help="B's to wait for before migrating (default 3)")
    parser.add_argument("--rate-window", type=float, default=1.0,
                        help="seconds of counting B's to measure the guest's dirtying rate (default 1)")
    parser.add_argument("--boot-timeout", type=float, default=120.0)
    parser.add_argument("--resume-timeout", type=float, default=20.0,
                        help="seconds for the resumed guest to print another B (default 20)")
    parser.add_argument("--qmp-timeout", type=float, default=30.0)
    parser.add_argument("--no-host-limits", action="store_true", help="skip the memcpy and socket measurements")
    parser.add_argument("--json", type=pathlib.Path, help="write all results here")
    parser.add_argument("--timeline-dir", type=pathlib.Path,
                        help="write each run's timeline JSON and SVG here (and godwit-vs-QEMU overlays)")
    parser.add_argument("--keep-workdir", action="store_true", help="keep serial and stderr files")
    parser.add_argument("--migration-events", action="store_true",
                        help="list the migration events seen in each run's summary line")
    args = parser.parse_args()

    configs = configurations(args)
    machines = [m.strip() for m in args.machines.split(",") if m.strip()]
    binaries = {"godwit": args.godwit, "qemu": args.qemu}
    notes, usable, versions = [], [], {}
    failed = False
    for kind in machines:
        if kind not in binaries:
            sys.exit(f"unknown machine {kind!r} (godwit or qemu)")
        binary = binaries[kind]
        if not binary or not (shutil.which(str(binary)) or pathlib.Path(binary).exists()):
            where = f"no binary at {binary}" if binary else "qemu-system-riscv64 is not installed (not on PATH)"
            notes.append(f"{kind}: {where}; its column is skipped")
            if kind == "godwit":
                failed = True
            continue
        ok, why = timeline.has_migration(binary, args.kernel)
        if not ok:
            notes.append(f"{kind} ({binary}) cannot migrate: {why}; its column is skipped")
            failed = True
            continue
        usable.append(kind)
        versions[kind] = timeline.machine_version(binary)
    for note in notes:
        print(f"note: {note}")
    for kind in usable:
        print(f"{kind}: {binaries[kind]} ({versions[kind]})")

    limits = None
    if not args.no_host_limits:
        limits = host_limits()
        print(f"host: {limits['cpus']} CPUs; memcpy {limits['memcpy_bytes_per_s'] / 1e9:.2f} GB/s "
              f"(bytearray copy of 256 MiB); unix socket {limits['unix_socket_bytes_per_s'] / 1e9:.2f} GB/s "
              f"(socketpair, 2 processes, 1 MiB writes; best of 3)")

    runs = {}
    workroot = pathlib.Path(tempfile.mkdtemp(prefix="gwmigbench"))
    total = len(configs) * len(usable)
    number = 0
    interrupted = False
    try:
        for config in configs:
            for kind in usable:
                number += 1
                print(f"[{number}/{total}] {kind:6} {config['label']}: ", end="", flush=True)
                workdir = workroot / f"{kind}-{config['slug']}"
                document = run_one(kind, binaries[kind], versions[kind], args, config, workdir)
                runs[(kind, config["label"])] = document
                print(summary_line(document), flush=True)
                if document["result"].get("problem") or document["result"].get("status") not in (
                        "completed", "did-not-converge"):
                    failed = True
                    if document["result"].get("detail"):
                        print("    " + document["result"]["detail"].replace("\n", "\n    "))
                if args.timeline_dir:
                    base = args.timeline_dir / f"{kind}-{config['slug']}"
                    timeline.write_json(base.with_suffix(".json"), document)
                    timeline.write_svg(base.with_suffix(".svg"), document)
            if args.timeline_dir and all((k, config["label"]) in runs for k in ("godwit", "qemu")):
                timeline.write_svg(args.timeline_dir / f"overlay-{config['slug']}.svg",
                                   [runs[("godwit", config["label"])], runs[("qemu", config["label"])]])
    except KeyboardInterrupt:
        interrupted = True
        failed = True
        print("\ninterrupted; results so far:")
    finally:
        if not args.keep_workdir:
            shutil.rmtree(workroot, ignore_errors=True)
        else:
            print(f"work files in {workroot}")

    print()
    print("Migration, one run each (total = total-time, down = downtime, both ms; MiB sent = "
          "ram.transferred; passes = dirty-sync-count; DNF = cancelled after the timeout)")
    print_table(configs, runs, usable)
    for note in notes:
        print(f"note: {note}")
    if limits:
        print(f"host limits: memcpy {limits['memcpy_bytes_per_s'] / 1e9:.2f} GB/s, "
              f"unix socket {limits['unix_socket_bytes_per_s'] / 1e9:.2f} GB/s, {limits['cpus']} CPUs")
    if args.json:
        timeline.write_json(args.json, {
            "host_limits": limits, "notes": notes, "versions": versions,
            "arguments": {k: str(v) for k, v in vars(args).items()},
            "runs": [dict(doc, machine=kind) for (kind, _), doc in runs.items()]})
        print(f"results in {args.json}")
    if args.timeline_dir:
        print(f"timelines in {args.timeline_dir}")
    if interrupted:
        return 130
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
