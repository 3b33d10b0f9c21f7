#!/usr/bin/env python3
"""Shared helpers for the migration benchmark and demo (standard library only).

* `Vm`: one machine (godwit or qemu-system-riscv64, same options) started the
  way the monitor tests start theirs, with a QMP socket and serial in a file.
* `record_migration`: issues `migrate` and polls `query-migrate` into a
  timeline until completed / failed, cancelling after a time limit.
* `timeline_svg`: draws one timeline, or several overlaid (godwit vs QEMU),
  as an SVG built from strings; `check_svg` parses it with xml.etree.

Timeline document (one per migration run, JSON):

    {"format": "godwit-migration-timeline/1",
     "machine": "godwit", "binary": "...", "version": "...",
     "config": {"label", "ram_mib", "working_set_mib", "max_bandwidth",
                "downtime_limit", "smp"},
     "samples": [{"t_ms", "status", "transferred", "remaining", "total",
                  "dirty_sync_count", "dirty_pages_rate", "mbps",
                  "expected_downtime", "total_time", "qmp_ms"}, ...],
     "events": [{"t_ms", "event", "data"}, ...],
     "result": {"status", "converged", "total_time", "downtime", "setup_time",
                "transferred", "passes", "mbps", "error", ...},
     "final_info": <the last query-migrate reply>}

t_ms is host time since the `migrate` command was sent, taken when the
query-migrate reply arrived; qmp_ms is how long that reply took. `mbps` is QEMU's
field (megabits per second, 10^6); `dirty_pages_rate` is pages per second.

`python3 bench/timeline.py --self-check` draws synthetic timelines (single
and overlay) and checks that the SVG is well-formed.
"""
import json
import math
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from xml.sax.saxutils import escape

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from qmp_client import Disconnected, QMPClient, QMPError  # noqa: E402

RAM_BASE = 0x80000000
MIB = 1 << 20
FORMAT = "godwit-migration-timeline/1"
FINAL_STATES = ("completed", "failed", "cancelled")


def parse_size(text):
    """'256M', '1G', '4G', '512' (MiB) -> MiB."""
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    factor = {"M": 1, "G": 1024}.get(text[-1:], None)
    if factor is None:
        return int(text)
    return int(float(text[:-1]) * factor)


def size_label(mib):
    return f"{mib // 1024}G" if mib % 1024 == 0 else f"{mib}M"


class BenchError(Exception):
    pass


# -- machines ------------------------------------------------------------------

def machine_version(binary):
    """First line of `binary -version`, or None if it cannot run."""
    try:
        out = subprocess.run([str(binary), "-version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (out.stdout or out.stderr).splitlines()
    return lines[0].strip() if lines else None


class Vm:
    """One running machine. Sockets live in a short private directory (a unix
    socket path is limited to 108 bytes); the serial goes to a file in
    `workdir`. The process gets its own session so that a Ctrl-C at the
    terminal reaches only the script, which then stops it."""

    def __init__(self, kind, binary, kernel, workdir, name, *, memory="256M", smp=1,
                 append=None, extra=()):
        self.kind = kind
        self.name = name
        self.workdir = pathlib.Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.sockdir = pathlib.Path(tempfile.mkdtemp(prefix="gwmig", dir="/tmp"))
        self.qmp_path = self.sockdir / "qmp.sock"
        self.serial_path = self.workdir / f"{name}.serial"
        self.stderr_path = self.workdir / f"{name}.stderr"
        cmd = [str(binary), "-M", "virt", "-bios", "none", "-display", "none",
               "-m", str(memory), "-smp", str(smp), "-kernel", str(kernel)]
        if append:
            cmd += ["-append", append]
        cmd += ["-serial", f"file:{self.serial_path}",
                "-qmp", f"unix:{self.qmp_path},server=on,wait=off"]
        cmd += [str(arg) for arg in extra]
        self.cmd = cmd
        self._client = None
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self._stderr, start_new_session=True)

    def sock(self, name):
        return self.sockdir / name

    def alive(self):
        return self.proc.poll() is None

    def stderr_text(self, limit=2000):
        self._stderr.flush()
        try:
            return self.stderr_path.read_text(errors="replace")[-limit:]
        except FileNotFoundError:
            return ""

    def describe(self):
        state = "running" if self.alive() else f"exited with status {self.proc.returncode}"
        return f"{self.kind} {self.name} ({state}): {' '.join(self.cmd)}\nstderr: {self.stderr_text()}"

    def qmp(self, timeout=30):
        """The negotiated QMP client (one per machine, opened on first use)."""
        if self._client is None:
            if not self.alive():
                raise BenchError(f"the machine exited before QMP connected\n{self.describe()}")
            try:
                self._client = QMPClient(self.qmp_path, timeout=timeout, alive=self.alive)
            except QMPError as error:
                raise BenchError(f"{error}\n{self.describe()}") from None
        return self._client

    def status(self):
        return self.qmp().command("query-status")["status"]

    def serial_size(self):
        try:
            return self.serial_path.stat().st_size
        except FileNotFoundError:
            return 0

    def serial_text(self):
        try:
            return self.serial_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_serial(self, min_bytes, timeout):
        """Waits until the serial file holds `min_bytes`; raises BenchError."""
        deadline = time.monotonic() + timeout
        while self.serial_size() < min_bytes:
            if not self.alive():
                raise BenchError(f"the machine exited\n{self.describe()}")
            if time.monotonic() > deadline:
                raise BenchError(f"serial output stayed at {self.serial_size()} bytes (wanted "
                                 f"{min_bytes}) for {timeout} s\n{self.describe()}")
            time.sleep(0.02)

    def wait_status(self, wanted, timeout):
        """Polls query-status until it is one of `wanted`; returns it or raises."""
        wanted = (wanted,) if isinstance(wanted, str) else tuple(wanted)
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            if status in wanted:
                return status
            if time.monotonic() > deadline:
                raise BenchError(f"{self.kind} {self.name}: status stayed {status!r} "
                                 f"(wanted {' or '.join(wanted)}) for {timeout} s")
            time.sleep(0.05)

    def stop(self):
        if self._client is not None:
            try:
                self._client.close()
            except OSError:
                pass
            self._client = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()
        shutil.rmtree(self.sockdir, ignore_errors=True)


def has_migration(binary, kernel):
    """(True, None) if the machine lists `migrate` and `query-migrate` in
    query-commands, else (False, why). Starts it briefly, paused."""
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="gwprobe"))
    vm = None
    try:
        vm = Vm("probe", binary, kernel, workdir, "probe", memory="128M", extra=["-S"])
        names = {entry["name"] for entry in vm.qmp().command("query-commands")}
        missing = [name for name in ("migrate", "query-migrate", "migrate-set-parameters",
                                     "migrate_cancel") if name not in names]
        if missing:
            return False, f"its QMP lacks {', '.join(missing)} (a build without migration)"
        return True, None
    except (BenchError, QMPError, OSError) as error:
        return False, f"could not start it: {str(error).splitlines()[0]}"
    finally:
        if vm is not None:
            vm.stop()
        shutil.rmtree(workdir, ignore_errors=True)


# -- recording -----------------------------------------------------------------

def sample_from_info(info, t_ms):
    ram = info.get("ram") or {}
    return {
        "t_ms": round(t_ms, 1),
        "status": info.get("status"),
        "transferred": ram.get("transferred"),
        "remaining": ram.get("remaining"),
        "total": ram.get("total"),
        "dirty_sync_count": ram.get("dirty-sync-count"),
        "dirty_pages_rate": ram.get("dirty-pages-rate"),
        "mbps": ram.get("mbps"),
        "expected_downtime": info.get("expected-downtime"),
        "total_time": info.get("total-time"),
    }


def _last(samples, key):
    for sample in reversed(samples):
        if sample.get(key) is not None:
            return sample[key]
    return None


def record_migration(client, uri, *, timeout_s=60.0, interval_s=0.05, on_sample=None,
                     cancel_wait_s=30.0):
    """Sends `migrate` to `uri` and polls query-migrate every `interval_s` until
    completed, failed or cancelled. After `timeout_s` without an end it sends
    migrate_cancel and records the run as "did-not-converge". Returns
    {"samples", "events", "result", "final_info"}. `on_sample(sample, info)` is
    called after each poll (the demo's progress line)."""
    client.events()  # drop earlier events
    samples = []
    t0 = time.monotonic()
    t0_wall = time.time()
    reply = client.execute("migrate", {"uri": uri})
    if "error" in reply:
        error = reply["error"].get("desc", str(reply["error"]))
        return {"samples": samples, "events": [], "final_info": None,
                "result": {"status": "failed", "converged": False, "error": f"migrate: {error}"}}
    cancelled_at = None
    info = {}
    while True:
        asked = time.monotonic()
        info = client.command("query-migrate")
        now = time.monotonic()
        t_ms = (now - t0) * 1000
        sample = sample_from_info(info, t_ms)
        sample["qmp_ms"] = round((now - asked) * 1000, 1)  # how long query-migrate took to answer
        samples.append(sample)
        if on_sample is not None:
            on_sample(sample, info)
        status = info.get("status")
        if status in FINAL_STATES:
            break
        if cancelled_at is None and now - t0 > timeout_s:
            client.execute("migrate_cancel")
            cancelled_at = now
        elif cancelled_at is not None and now - cancelled_at > cancel_wait_s:
            raise BenchError(f"migrate_cancel sent, but query-migrate still says {status!r} "
                             f"after {cancel_wait_s} s")
        time.sleep(max(0.0, interval_s - (time.monotonic() - now)))

    events = []
    for event in client.events():
        if event.get("event") not in ("MIGRATION", "MIGRATION_PASS", "STOP", "RESUME"):
            continue
        stamp = event.get("timestamp") or {}
        wall = stamp.get("seconds", 0) + stamp.get("microseconds", 0) / 1e6
        events.append({"t_ms": round((wall - t0_wall) * 1000, 1), "event": event["event"],
                       "data": event.get("data", {})})

    ram = info.get("ram") or {}
    result = {
        "status": status,
        "converged": status == "completed",
        "total_time": info.get("total-time"),
        "downtime": info.get("downtime"),
        "setup_time": info.get("setup-time"),
        "transferred": ram.get("transferred", _last(samples, "transferred")),
        "passes": ram.get("dirty-sync-count", _last(samples, "dirty_sync_count")),
        "mbps": ram.get("mbps"),
        "expected_downtime": info.get("expected-downtime", _last(samples, "expected_downtime")),
        "host_time_ms": samples[-1]["t_ms"] if samples else None,
    }
    if status == "failed":
        result["error"] = info.get("error-desc", "failed (no error-desc)")
    if cancelled_at is not None:
        result["status"] = "did-not-converge" if status == "cancelled" else status
        result["converged"] = status == "completed"
        result["cancelled_after_s"] = round(cancelled_at - t0, 2)
        if result["total_time"] is None:
            result["total_time"] = _last(samples, "total_time")
    return {"samples": samples, "events": events, "result": result, "final_info": info}


def write_json(path, document):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n")


def load_timeline(path):
    document = json.loads(pathlib.Path(path).read_text())
    if not isinstance(document, dict) or "samples" not in document:
        raise BenchError(f"{path}: not a migration timeline (no samples)")
    return document


# -- SVG -----------------------------------------------------------------------

SERIES_COLORS = {"bandwidth": "#1f77b4", "observed": "#7fb8e0", "dirty": "#d62728",
                 "remaining": "#2ca02c"}
MACHINE_COLORS = ["#ff7f0e", "#9467bd", "#8c564b", "#17becf"]
MACHINE_DASHES = [None, "7 4", "2 3", "10 3 2 3"]


def nice_ticks(vmax, count=5):
    """Round tick values from 0 to at least vmax."""
    if not vmax or vmax <= 0 or not math.isfinite(vmax):
        vmax = 1.0
    raw = vmax / count
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * magnitude
        if step >= raw:
            break
    steps = max(1, math.ceil(vmax / step - 1e-9))
    return [step * i for i in range(steps + 1)]


def _dash_attr(dash):
    return f' stroke-dasharray="{dash}"' if dash else ""


def _fmt(value):
    if value == 0:
        return "0"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.1f}"
    return f"{value:.2g}"


def timeline_series(document):
    """The plotted series of one timeline, in plot units: {name: [(t_s, value or None)]}
    (MiB/s for rates, MiB for remaining), plus pass marks (t_s, pass) and the
    downtime interval (start_s, end_s) or None."""
    samples = document.get("samples", [])
    page_size = document.get("page_size") or 4096
    bandwidth, observed, dirty, remaining = [], [], [], []
    window_ms = 500  # QEMU sends in bursts per 100 ms window; 50 ms deltas would zigzag
    history = []  # (t_ms, transferred) of earlier active samples
    for sample in samples:
        t = sample["t_ms"] / 1000
        mbps = sample.get("mbps")
        bandwidth.append((t, mbps * 1e6 / 8 / MIB if mbps is not None else None))
        rate = sample.get("dirty_pages_rate")
        dirty.append((t, rate * page_size / MIB if rate is not None else None))
        left = sample.get("remaining")
        remaining.append((t, left / MIB if left is not None else None))
        sent = sample.get("transferred")
        if sent is not None and sample.get("status") not in ("completed", "failed", "cancelled"):
            base = None
            for earlier in reversed(history):
                base = earlier
                if sample["t_ms"] - earlier[0] >= window_ms:
                    break
            if base is not None and sample["t_ms"] > base[0]:
                observed.append((t, max(0.0, (sent - base[1]) / MIB / ((sample["t_ms"] - base[0]) / 1000))))
            history.append((sample["t_ms"], sent))
    passes = []
    pass_events = [e for e in document.get("events", []) if e.get("event") == "MIGRATION_PASS"]
    if pass_events:
        passes = [(e["t_ms"] / 1000, e.get("data", {}).get("pass")) for e in pass_events]
    else:
        last = 0
        for sample in samples:
            count = sample.get("dirty_sync_count")
            if count is not None and count > last:
                passes.append((sample["t_ms"] / 1000, count))
                last = count
    result = document.get("result") or {}
    downtime = None
    if result.get("status") == "completed" and result.get("downtime") is not None:
        end = result.get("total_time")
        if end is None:
            end = samples[-1]["t_ms"] if samples else 0
        downtime = ((end - result["downtime"]) / 1000, end / 1000)
    end_s = max([t for t, _ in bandwidth] + [downtime[1] if downtime else 0, 0.001])
    return {"bandwidth": bandwidth, "observed": observed, "dirty": dirty,
            "remaining": remaining, "passes": passes, "downtime": downtime, "end_s": end_s}


def _describe_run(document):
    config = document.get("config") or {}
    result = document.get("result") or {}
    label = document.get("machine", "?")
    status = result.get("status")
    if status == "completed":
        sent = (result.get("transferred") or 0) / MIB
        label += (f": {result.get('total_time')} ms total, {result.get('downtime')} ms down, "
                  f"{sent:,.0f} MiB, {result.get('passes')} passes")
    elif status:
        label += f": {status}"
    return label, config.get("label", "")


def timeline_svg(documents, title=None, width=1000, height=560, observed=True):
    """SVG text for one or several timelines on shared axes. Series colour
    says what (bandwidth, dirty rate, remaining); line style says which
    machine (solid = first, dashed = second...)."""
    if isinstance(documents, dict):
        documents = [documents]
    runs = [timeline_series(d) for d in documents]
    left, right, top, bottom = 80, 80, 70 + 18 * len(documents), 88
    plot_w, plot_h = width - left - right, height - top - bottom

    x_ticks = nice_ticks(max(r["end_s"] for r in runs), 8)
    # The left axis fits the bandwidth series; the dirty rate can spike far
    # above them (short sync periods), so it gets the axis only up to its
    # 90th percentile and is clipped above, with a note.
    bandwidths = [v for r in runs for name in ("bandwidth",) + (("observed",) if observed else ())
                  for _, v in r[name] if v is not None]
    dirty_values = sorted(v for r in runs for _, v in r["dirty"] if v is not None)
    dirty_axis = dirty_values[int(0.9 * (len(dirty_values) - 1))] if dirty_values else 0.0
    rate_max = max(bandwidths + [dirty_axis * 1.1, 1.0])
    dirty_peak = dirty_values[-1] if dirty_values else 0.0
    rem_max = max([v for r in runs for _, v in r["remaining"] if v is not None] + [1.0])
    y_ticks, r_ticks = nice_ticks(rate_max, 5), nice_ticks(rem_max, 5)
    x_max, y_max, r_max = x_ticks[-1], y_ticks[-1], r_ticks[-1]

    def x(t):
        return left + plot_w * min(max(t, 0.0), x_max) / x_max

    def y(v):
        return top + plot_h * (1 - min(v, y_max) / y_max)

    def yr(v):
        return top + plot_h * (1 - min(v, r_max) / r_max)

    out = []
    add = out.append
    add(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">')
    add(f'<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>')
    if title is None:
        title = " vs ".join(d.get("machine", "?") for d in documents)
        config = (documents[0].get("config") or {}).get("label")
        if config:
            title += f" — {config}"
    add(f'<text x="{width / 2:.1f}" y="22" text-anchor="middle" font-size="16" '
        f'font-weight="bold">{escape(title)}</text>')
    for index, document in enumerate(documents):
        label, _ = _describe_run(document)
        dash = MACHINE_DASHES[index % len(MACHINE_DASHES)]
        yy = 42 + 18 * index
        add(f'<line x1="{left}" y1="{yy - 4}" x2="{left + 30}" y2="{yy - 4}" stroke="#333" '
            f'stroke-width="2"{_dash_attr(dash)}/>')
        add(f'<rect x="{left + 36}" y="{yy - 10}" width="10" height="11" '
            f'fill="{MACHINE_COLORS[index % len(MACHINE_COLORS)]}" fill-opacity="0.5"/>')
        add(f'<text x="{left + 52}" y="{yy}">{escape(label)}</text>')

    # Downtime shading and pass marks under the lines.
    for index, run in enumerate(runs):
        color = MACHINE_COLORS[index % len(MACHINE_COLORS)]
        if run["downtime"]:
            start, end = run["downtime"]
            x0, x1 = x(start), x(end)
            if x1 - x0 < 2:
                x0 = x1 - 2
            add(f'<rect x="{x0:.1f}" y="{top}" width="{x1 - x0:.1f}" height="{plot_h}" '
                f'fill="{color}" fill-opacity="0.25"><title>downtime {escape(str(round((end - start) * 1000)))} ms'
                f'</title></rect>')
            add(f'<text x="{x1 - 3:.1f}" y="{top + 14 + 14 * index}" text-anchor="end" fill="{color}">'
                f'downtime {round((end - start) * 1000)} ms</text>')
        dash = MACHINE_DASHES[index % len(MACHINE_DASHES)] or "1 0"
        labelled_at = -1e9
        # Many passes: short ticks at the bottom rather than full-height lines
        # (which would look like shading).
        mark_top = top if len(run["passes"]) <= 30 else top + plot_h - 24 - 12 * index
        for t, number in run["passes"]:
            px = x(t)
            add(f'<line x1="{px:.1f}" y1="{mark_top}" x2="{px:.1f}" y2="{top + plot_h}" stroke="{color}" '
                f'stroke-width="1" stroke-dasharray="{dash}" stroke-opacity="0.5"/>')
            if px - labelled_at >= 8 + 6 * len(str(number)):  # no overlapping numbers
                labelled_at = px
                add(f'<text x="{px + 2:.1f}" y="{top + plot_h - 4 - 12 * index}" font-size="10" '
                    f'fill="{color}">{escape(str(number))}</text>')

    if dirty_peak > y_ticks[-1]:
        add(f'<text x="{left + 6}" y="{top + 14}" fill="{SERIES_COLORS["dirty"]}">dirty rate clipped at the '
            f'top (peak {_fmt(dirty_peak)} MiB/s)</text>')

    # Grid and axes.
    for value in y_ticks:
        py = y(value)
        add(f'<line x1="{left}" y1="{py:.1f}" x2="{left + plot_w}" y2="{py:.1f}" stroke="#e5e5e5"/>')
        add(f'<text x="{left - 6}" y="{py + 4:.1f}" text-anchor="end">{_fmt(value)}</text>')
    for value in r_ticks:
        py = yr(value)
        add(f'<text x="{left + plot_w + 6}" y="{py + 4:.1f}" fill="{SERIES_COLORS["remaining"]}">'
            f'{_fmt(value)}</text>')
    for value in x_ticks:
        px = x(value)
        add(f'<line x1="{px:.1f}" y1="{top + plot_h}" x2="{px:.1f}" y2="{top + plot_h + 5}" stroke="#333"/>')
        add(f'<text x="{px:.1f}" y="{top + plot_h + 18}" text-anchor="middle">{_fmt(value)}</text>')
    add(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>')
    add(f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h + 36}" text-anchor="middle">'
        f'time since migrate (s)</text>')
    add(f'<text transform="translate(20,{top + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle">'
        f'bandwidth, dirty rate (MiB/s)</text>')
    add(f'<text transform="translate({width - 18},{top + plot_h / 2:.1f}) rotate(90)" '
        f'text-anchor="middle" fill="{SERIES_COLORS["remaining"]}">remaining (MiB)</text>')

    # Lines.
    names = [("bandwidth", "bandwidth (mbps field)", y, 2)]
    if observed:
        names.append(("observed", "bandwidth (Δtransferred/Δt)", y, 1))
    names += [("dirty", "dirty rate", y, 2), ("remaining", "remaining (right axis)", yr, 2)]
    for index, run in enumerate(runs):
        dash = MACHINE_DASHES[index % len(MACHINE_DASHES)]
        for name, _, scale, stroke in names:
            segment = []
            segments = []
            for t, value in run[name]:
                if value is None:
                    if segment:
                        segments.append(segment)
                    segment = []
                else:
                    segment.append(f"{x(t):.1f},{scale(value):.1f}")
            if segment:
                segments.append(segment)
            for points in segments:
                if len(points) == 1:
                    px, py = points[0].split(",")
                    add(f'<circle cx="{px}" cy="{py}" r="2" fill="{SERIES_COLORS[name]}"/>')
                    continue
                add(f'<polyline points="{" ".join(points)}" fill="none" stroke="{SERIES_COLORS[name]}" '
                    f'stroke-width="{stroke}"{_dash_attr(dash)}/>')

    # Legend: series colours, then marks, wrapped to the width.
    items = [(f'<line x1="{{x}}" y1="{{y4}}" x2="{{x24}}" y2="{{y4}}" stroke="{SERIES_COLORS[name]}" '
              f'stroke-width="{stroke + 1}"/>', 30, label) for name, label, _, stroke in names]
    items.append((f'<line x1="{{x7}}" y1="{{y11}}" x2="{{x7}}" y2="{{y2}}" stroke="{MACHINE_COLORS[0]}"/>',
                   16, "pass (dirty sync; colour = machine)"))
    items.append((f'<rect x="{{x}}" y="{{y11}}" width="14" height="13" fill="{MACHINE_COLORS[0]}" '
                  f'fill-opacity="0.25"/>', 20, "downtime"))
    rows, row, used = [], [], 0
    for item in items:
        need = item[1] + 6.5 * len(item[2]) + 22
        if row and used + need > width - 2 * left:
            rows.append(row)
            row, used = [], 0
        row.append(item)
        used += need
    rows.append(row)
    for number, row in enumerate(rows):
        lx, ly = left, height - 14 - 18 * (len(rows) - 1 - number)
        for mark, offset, label in row:
            add(mark.format(x=lx, x7=lx + 7, x24=lx + 24, y4=ly - 4, y11=ly - 11, y2=ly + 2))
            add(f'<text x="{lx + offset}" y="{ly}">{escape(label)}</text>')
            lx += offset + 6.5 * len(label) + 22
    add("</svg>")
    return "\n".join(out) + "\n"


def check_svg(text):
    """Parses the SVG; raises ValueError if it is not well-formed."""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        raise ValueError(f"SVG not well-formed: {error}") from None
    if root.tag != "{http://www.w3.org/2000/svg}svg":
        raise ValueError(f"root element is {root.tag}, not svg")
    return root


def write_svg(path, documents, **options):
    text = timeline_svg(documents, **options)
    check_svg(text)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# -- self-check ----------------------------------------------------------------

def synthetic_timeline(machine, scale=1.0, converge=True):
    """A made-up run shaped like QEMU's (for the self-check)."""
    total = 256 * MIB
    samples = [{"t_ms": 0.5, "status": "setup"}]
    sent, passes, t = 0, 1, 0.0
    remaining = total
    while t < 3000 * scale:
        t += 50
        rate = 128 * MIB * 0.05
        sent += rate
        remaining = max(0, remaining - rate)
        if remaining < 16 * MIB:
            passes += 1
            remaining = 64 * MIB / (passes)
        samples.append({"t_ms": t, "status": "active", "transferred": int(sent), "remaining": int(remaining),
                        "total": total, "dirty_sync_count": passes, "dirty_pages_rate": 4000 * passes,
                        "mbps": 1073.7 + 10 * passes, "expected_downtime": 300, "total_time": int(t)})
    status = "completed" if converge else "did-not-converge"
    samples.append(dict(samples[-1], t_ms=t + 40, status="completed" if converge else "cancelled"))
    return {"format": FORMAT, "machine": machine, "page_size": 4096,
            "config": {"label": "256M ws=64M bw=128MiB/s <&> test"},
            "samples": samples, "events": [],
            "result": {"status": status, "converged": converge, "total_time": int(t + 30),
                       "downtime": 35 if converge else None, "setup_time": 1,
                       "transferred": int(sent), "passes": passes}}


def self_check():
    one = synthetic_timeline("godwit")
    two = synthetic_timeline("qemu", scale=0.7)
    three = synthetic_timeline("qemu", converge=False)
    for docs in ([one], [one, two], [three], [one, three]):
        check_svg(timeline_svg(docs))
    empty = {"machine": "x", "samples": [], "result": {"status": "failed"}}
    check_svg(timeline_svg(empty))
    print("timeline self-check: SVGs well-formed (single, overlay, not converged, empty)")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-check"]:
        self_check()
    else:
        sys.exit(__doc__)
