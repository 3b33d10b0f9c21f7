"""What the live-migration system tests share: starting a source running the
`ab` guest and a destination waiting for its stream, driving a migration over
QMP and waiting for it to end, and checking the result: the whole guest RAM of
both sides byte for byte, the shape `ab` leaves in memory, and the destination
running on from there.

Every test is written to run against QEMU (the reference) as well as godwit.
To keep the suite quick, only the core flow (a live migration over a unix
socket, and a destination killed mid-migration) runs on both, through
monitor_helpers' `machine` fixture; the others run on MIGRATION_KINDS, godwit
alone unless GODWIT_MIGRATION_KINDS says otherwise (=qemu,godwit checks them
all against the reference).
"""
import os
import pathlib
import re
import shlex
import shutil
import socket
import tempfile
import time

import pytest

from monitor_helpers import RAM_BASE, Launcher, elf_load_segments
from qmp_client import QMPError

MIGRATION_KINDS = os.environ.get("GODWIT_MIGRATION_KINDS", "godwit").split(",")

MIB = 1 << 20
PAGE = 4096
MEMORY = "64M"
SMP = 2
FAST = 1 << 30           # max-bandwidth for runs that should finish at once (1 GiB/s)
SLOW = 8 * MIB           # max-bandwidth for runs that must still be going a while later
MIGRATION_TIMEOUT = 30   # seconds a fast migration may take, godwit under load included
TERMINAL = ("completed", "failed", "cancelled")
MTIME = 0x200BFF8        # CLINT mtime (10 MHz on virt)
TIMEBASE_HZ = 10_000_000

# Where godwit may differ from QEMU in migration: keyed by machine kind.
# RAM blocks: QEMU's virt also migrates its two 32 MiB flash blocks and the
# boot ROM, so its ram.total is more than -m; godwit has the one RAM block.
RAM_TOTAL_IS_EXACT = {"qemu": False, "godwit": True}


def memory_bytes(memory):
    match = re.fullmatch(r"(\d+)([MG])", memory)
    assert match, memory
    return int(match.group(1)) << (20 if match.group(2) == "M" else 30)


@pytest.fixture(params=MIGRATION_KINDS)
def migration_machine(request, guest, tmp_path):
    """Like monitor_helpers' `machine`, over MIGRATION_KINDS."""
    launcher = Launcher(request.param, request.getfixturevalue(request.param), guest, tmp_path)
    request.addfinalizer(launcher.stop_all)
    return launcher


@pytest.fixture
def sockdir():
    """A short private folder for unix sockets (paths are limited to 108 bytes)."""
    path = pathlib.Path(tempfile.mkdtemp(prefix="gwmig", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def godwit_launcher(request, godwit, guest, tmp_path):
    """Machines of godwit only (what QEMU 10.0 lacks: cpr-exec, connections
    that survive CPR)."""
    launcher = Launcher("godwit", godwit, guest, tmp_path)
    request.addfinalizer(launcher.stop_all)
    return launcher


def cpr_channel(path):
    """A `channels` entry (migrate, -incoming JSON) for a unix socket."""
    return {"channel-type": "cpr", "addr": {"transport": "socket", "type": "unix", "path": str(path)}}


def main_channel(path):
    return {"channel-type": "main", "addr": {"transport": "socket", "type": "unix", "path": str(path)}}


def describe(*vms):
    return "\n".join(f"--- {vm.role} ---\n{vm.machine.describe()}" for vm in vms)


class VM:
    """A started machine, its QMP client, and what the migration tests ask of it."""

    def __init__(self, machine, client, memory, smp, role):
        self.machine = machine
        self.qmp = client
        self.memory = memory
        self.size = memory_bytes(memory)
        self.smp = smp
        self.role = role

    @property
    def kind(self):
        return self.machine.kind

    def execute(self, name, args=None, timeout=None):
        try:
            return self.qmp.execute(name, args, timeout=timeout)
        except QMPError as error:
            pytest.fail(f"{self.role}: {name}: {error}\n{self.machine.describe()}")

    def command(self, name, args=None, timeout=None):
        reply = self.execute(name, args, timeout)
        assert "return" in reply, f"{self.role}: {name} {args or ''} failed: {reply}\n{self.machine.describe()}"
        return reply["return"]

    def status(self):
        return self.command("query-status")["status"]

    def info(self):
        return self.command("query-migrate")

    def hmp(self, line):
        return self.command("human-monitor-command", {"command-line": line})

    def set_parameters(self, **params):
        self.command("migrate-set-parameters", {name.replace("_", "-"): value for name, value in params.items()})

    def parameters(self):
        return self.command("query-migrate-parameters")

    def set_capability(self, name, state=True):
        self.command("migrate-set-capabilities", {"capabilities": [{"capability": name, "state": state}]})

    def capability(self, name):
        for entry in self.command("query-migrate-capabilities"):
            if entry["capability"] == name:
                return entry["state"]
        pytest.fail(f"{self.role}: capability {name} not listed by query-migrate-capabilities")

    def mtime(self):
        """CLINT mtime through HMP xp (as QEMU: `xp /1gx 0x200bff8`)."""
        text = self.hmp(f"xp /1gx {MTIME:#x}")
        match = re.search(r"\b0*200bff8:\s*0x([0-9a-f]+)", text)
        assert match, f"{self.role}: unexpected xp output {text!r}"
        return int(match.group(1), 16)

    def ram(self):
        """The whole guest RAM through pmemsave."""
        data = self.machine.dump(self.qmp, RAM_BASE, self.size)
        assert len(data) == self.size, f"{self.role}: pmemsave wrote {len(data)} bytes, wanted {self.size}"
        return data

    def wait_status(self, wanted, timeout=10):
        """Waits until query-status reports `wanted` (a name or a tuple of names)."""
        wanted = (wanted,) if isinstance(wanted, str) else tuple(wanted)
        deadline = time.monotonic() + timeout
        while True:
            self.machine.check_alive()
            current = self.status()
            if current in wanted:
                return current
            if time.monotonic() > deadline:
                pytest.fail(f"{self.role}: run state stayed {current!r} for {timeout} s (wanted {wanted})\n"
                            f"{self.machine.describe()}")
            time.sleep(0.02)

    def serial_text(self):
        return self.machine.serial_text()


def start_source(launcher, *, memory=MEMORY, smp=SMP, append=None, events=False, hmp=False,
                 bandwidth=FAST, extra=()):
    """The `ab` guest running (its "AB" on the serial), max-bandwidth set."""
    machine = launcher.start("ab", memory=memory, smp=smp, append=append, hmp=hmp, extra=list(extra))
    vm = VM(machine, machine.qmp(), memory, smp, "source")
    assert vm.status() == "running", machine.describe()
    machine.wait_serial(2)
    if bandwidth is not None:
        vm.set_parameters(max_bandwidth=bandwidth)
    if events:
        vm.set_capability("events")
    return vm


def start_destination(launcher, incoming="defer", *, memory=MEMORY, smp=SMP, paused=True, events=False,
                      hmp=False, append=None, extra=(), expect="inmigrate"):
    """A machine started with `-incoming incoming` (and -S when `paused`);
    checks it reports run state `expect` (unless None)."""
    args = (["-S"] if paused else []) + ["-incoming", incoming] + list(extra)
    machine = launcher.start("ab", extra=args, memory=memory, smp=smp, append=append, hmp=hmp)
    vm = VM(machine, machine.qmp(), memory, smp, "destination")
    if events:
        vm.set_capability("events")
    if expect is not None:
        status = vm.status()
        assert status == expect, f"destination: run state {status!r}, wanted {expect!r}\n{machine.describe()}"
    return vm


def migrate(source, uri=None, channels=None):
    args = {"uri": uri} if uri is not None else {"channels": channels}
    reply = source.execute("migrate", args)
    assert reply == {"return": {}}, f"migrate {args} refused: {reply}\n{source.machine.describe()}"


def wait_migration(source, wanted="completed", timeout=MIGRATION_TIMEOUT, others=()):
    """Polls query-migrate until the migration reaches a terminal status (or
    `wanted`); fails, with both machines' stderr, if that is not `wanted`."""
    deadline = time.monotonic() + timeout
    info = {}
    while True:
        source.machine.check_alive()
        info = source.info()
        status = info.get("status")
        if status == wanted:
            return info
        if status in TERMINAL:
            pytest.fail(f"migration ended {status!r}, wanted {wanted!r}: {info}\n{describe(source, *others)}")
        if time.monotonic() > deadline:
            pytest.fail(f"migration still {status!r} after {timeout} s, wanted {wanted!r}: {info}\n"
                        f"{describe(source, *others)}")
        time.sleep(0.05)


def wait_incoming(destination, timeout=MIGRATION_TIMEOUT):
    """Waits until the destination has loaded the stream (left inmigrate)."""
    deadline = time.monotonic() + timeout
    while True:
        if not destination.machine.alive():
            pytest.fail(f"destination exited with status {destination.machine.proc.returncode} while loading\n"
                        f"{destination.machine.describe()}")
        status = destination.status()
        if status != "inmigrate":
            return status
        if time.monotonic() > deadline:
            pytest.fail(f"destination still inmigrate after {timeout} s\n{destination.machine.describe()}")
        time.sleep(0.02)


def wait_migration_info(vm, wanted="completed", timeout=MIGRATION_TIMEOUT):
    """The destination's own query-migrate reaching `wanted`."""
    deadline = time.monotonic() + timeout
    while True:
        vm.machine.check_alive()
        info = vm.info()
        if info.get("status") == wanted:
            return info
        if time.monotonic() > deadline:
            pytest.fail(f"{vm.role}: query-migrate {info}, wanted status {wanted!r}\n{vm.machine.describe()}")
        time.sleep(0.02)


def events_until(vm, status, timeout=5):
    """The events received up to and including the MIGRATION event with
    `status` (which may come a moment after query-migrate shows it)."""
    taken = []
    deadline = time.monotonic() + timeout
    while True:
        taken += vm.qmp.events()
        if any(e["event"] == "MIGRATION" and e["data"]["status"] == status for e in taken):
            return taken
        if time.monotonic() > deadline:
            pytest.fail(f"{vm.role}: no MIGRATION {status} event within {timeout} s; got "
                        f"{[(e['event'], e.get('data')) for e in taken]}")
        time.sleep(0.02)


# -- checking the result ------------------------------------------------------


def ab_page_bytes(ram, working_set_mib=None):
    """The first byte of each page `ab` dirties."""
    end = len(ram) - 4 * MIB
    if working_set_mib:
        end = min(end, MIB + working_set_mib * MIB)
    return ram[MIB:end:PAGE]


def check_ab_memory(ram, kernel, working_set_mib=None, passes=None, what="RAM"):
    """`ram` (the whole of it, from RAM_BASE) holds the ab guest's image and
    the pattern it leaves: the first byte of every page of the working set is
    v+1 for a prefix of the pages (the pass under way) and v after (mod 256).
    Beyond the working set, page starts are untouched (0). With `passes` (the
    "B"s the guest printed, i.e. completed passes), v must agree with it.
    Returns v."""
    for address, content in elf_load_segments(kernel)[:1]:
        offset = address - RAM_BASE
        assert ram[offset:offset + len(content)] == content, \
            f"{what}: the guest image is not at {address:#x}: nothing (or garbage) was migrated"
    values = ab_page_bytes(ram, working_set_mib)
    assert len(values) > 16, f"{what}: working set too small to check ({len(values)} pages)"
    first, last = values[0], values[-1]
    assert first in (last, (last + 1) & 0xFF), \
        f"{what}: page start bytes {first} (first page) and {last} (last page) are not one ab pass apart"
    split = next((index for index, value in enumerate(values) if value != first), len(values))
    bad = [index for index in range(split, len(values)) if values[index] != last]
    assert not bad, (f"{what}: page {bad[0]} of the working set holds {values[bad[0]]}, wanted {last} "
                     f"(pages 0..{split - 1} hold {first}): the RAM is not what ab leaves")
    if working_set_mib:
        beyond = ram[MIB + working_set_mib * MIB:len(ram) - 4 * MIB:PAGE]
        assert not any(beyond), f"{what}: pages beyond the {working_set_mib} MiB working set were written"
    if passes is not None:
        # B comes after a pass's stores: the count matches v, or is one behind
        # when the guest stopped between the last store and printing B.
        lag = (last - passes) & 0xFF
        assert lag in (0, 1) or (first == last and (first - passes) & 0xFF in (0, 1)), \
            (f"{what}: pages hold {last} but the guest printed {passes} Bs ({passes % 256} mod 256): "
             f"memory and serial output disagree")
    return last


def compare_ram(source, destination, kernel, working_set_mib=None, passes=None):
    """Whole RAM of both (stopped) machines, byte for byte, and ab's pattern in it."""
    src = source.ram()
    dst = destination.ram()
    if src != dst:
        differing = [offset for offset in range(0, len(src), PAGE) if src[offset:offset + PAGE] != dst[offset:offset + PAGE]]
        shown = ", ".join(f"{RAM_BASE + offset:#x}" for offset in differing[:8])
        pytest.fail(f"RAM differs in {len(differing)} of {len(src) // PAGE} pages, first at {shown}\n"
                    f"{describe(source, destination)}")
    return check_ab_memory(dst, kernel, working_set_mib, passes, what="destination RAM")


def count_passes(vm):
    text = vm.serial_text()
    return text.count("B")


def check_source_stopped_after(source, destination=None):
    status = source.status()
    assert status == "postmigrate", f"source run state {status!r} after completion, wanted postmigrate\n" \
        f"{describe(source, *(x for x in [destination] if x))}"
    before = source.machine.serial_size()
    time.sleep(0.2)
    assert source.machine.serial_size() == before, "the source guest printed after the migration completed"


def check_destination_runs(destination, cont=True):
    """`cont` (when asked) and the guest runs on: its serial grows, and holds
    only Bs (the A was printed on the source)."""
    if cont:
        destination.command("cont")
    destination.wait_status("running")
    destination.machine.wait_serial(1, timeout=10)
    destination.machine.assert_serial_growing(timeout=5)
    text = destination.serial_text()
    assert re.fullmatch(r"B+", text), f"destination serial is not only Bs: {text[:80]!r}\n" \
        f"{destination.machine.describe()}"


def check_resumed_as_before(new, pause_first, ram_before, mtime_before):
    """After a cpr-exec: a guest that was paused is paused with the same RAM
    byte for byte and guest time stood still (it is then continued); one that
    ran runs on, its working set written and guest time gone forward."""
    assert new.status() == ("paused" if pause_first else "running"), new.machine.describe()
    if pause_first:
        assert new.ram() == ram_before, "RAM after the exec differs from RAM before it"
        assert new.mtime() - mtime_before <= TIMEBASE_HZ // 100
        new.command("cont")
    else:
        assert any(new.ram()[MIB:2 * MIB])
        assert new.mtime() >= mtime_before


def check_source_runs(source):
    status = source.status()
    assert status == "running", f"source run state {status!r}, wanted running\n{source.machine.describe()}"
    source.machine.assert_serial_growing(timeout=5)


def check_migrated(source, destination, kernel, *, working_set_mib=None, dest_state="paused"):
    """After a completed migration: source postmigrate and silent, destination
    in `dest_state`, RAM identical and plausible, and the destination runs on."""
    destination_state = wait_incoming(destination)
    assert destination_state == dest_state, (f"destination run state {destination_state!r} after the "
                                             f"migration, wanted {dest_state!r}\n{describe(source, destination)}")
    check_source_stopped_after(source, destination)
    if dest_state != "running":
        value = compare_ram(source, destination, kernel, working_set_mib, passes=count_passes(source))
        check_destination_runs(destination)
        return value
    check_destination_runs(destination, cont=False)
    return None


# -- transports ---------------------------------------------------------------


def free_tcp_port(host="127.0.0.1"):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


def unix_uri(sockdir, name="mig.sock"):
    path = pathlib.Path(sockdir) / name
    assert len(str(path)) < 100, path
    return f"unix:{path}"


def pass_fd(vm, name, fd):
    """getfd with `fd` attached (SCM_RIGHTS)."""
    try:
        reply = vm.qmp.send_fds({"execute": "getfd", "arguments": {"fdname": name}}, [fd])
    except QMPError as error:
        pytest.fail(f"{vm.role}: getfd: {error}\n{vm.machine.describe()}")
    assert reply == {"return": {}}, f"{vm.role}: getfd refused: {reply}\n{vm.machine.describe()}"


def shell_quote(path):
    return shlex.quote(str(path))


def quick_migration(launcher, source, kernel, sockdir, name="again.sock"):
    """The migration after one that did not complete: over a unix socket to a
    new -S destination. It starts slow, to see it is a fresh migration (not
    one that switches over at once on stale state), then runs fast, and is
    checked end to end (RAM, the destination running on). Returns the
    destination."""
    if source.parameters()["max-bandwidth"] != SLOW:
        # (only when needed: the failed migration's settings are meant to carry over)
        source.set_parameters(max_bandwidth=SLOW)
    uri = unix_uri(sockdir, name)
    destination = start_destination(launcher, uri, memory=source.memory, smp=source.smp)
    migrate(source, uri)
    time.sleep(0.3)
    info = source.info()
    assert info.get("status") == "active", \
        (f"at {SLOW} bytes/s the migration of {source.memory} should still be active after 0.3 s: {info}\n"
         f"{describe(source, destination)}")
    source.set_parameters(max_bandwidth=FAST)
    wait_migration(source, others=(destination,))
    check_migrated(source, destination, kernel)
    return destination


def assert_exit_with_error(machine, timeout=15):
    """The process exits by itself with a non-zero status (not a signal) and
    says something on stderr; no sanitizer report."""
    status = machine.wait_exit(timeout)
    err = machine.stderr()
    assert status > 0, f"exit status {status} (wanted an error exit, not success or a signal)\n{machine.describe()}"
    assert err.strip(), f"exited {status} without an error message\n{machine.describe()}"
    assert "ERROR: AddressSanitizer" not in err and "runtime error:" not in err \
        and "LeakSanitizer" not in err, f"sanitizer report:\n{err[-4000:]}"
    return err


# -- streams ------------------------------------------------------------------

RAM_START_HEADER = re.compile(rb"\x01(....)\x03ram\x00\x00\x00\x00\x00\x00\x00\x04", re.S)


def stream_eof_offset(data):
    """Where the stream's EOF byte is: before the trailing description
    (0x06, be32 length, JSON) when there is one, else the last byte."""
    index = data.rfind(b'{"')
    while index > 5:
        length = int.from_bytes(data[index - 4:index], "big")
        if data[index - 5] == 0x06 and index + length == len(data):
            assert data[index - 6] == 0x00, "no EOF byte before the stream's description"
            return index - 6
        index = data.rfind(b'{"', 0, index)
    assert data[-1] == 0x00, "the stream does not end in EOF"
    return len(data) - 1


RAM_ZERO, RAM_MEM_SIZE, RAM_PAGE, RAM_EOS, RAM_MULTIFD_FLUSH = 0x02, 0x04, 0x08, 0x10, 0x200


def first_ram_page_record(data):
    """(start, end) of the RAM START section header, and the offset of the
    first page record (ZERO or PAGE) after the MEM_SIZE record and its block
    list, crossing EOS, footers, PART headers and commands on the way."""
    match = RAM_START_HEADER.search(data)
    assert match, "no RAM START section header in the stream"
    pos = match.end()
    total = int.from_bytes(data[pos:pos + 8], "big")
    assert total & RAM_MEM_SIZE, f"RAM START does not begin with a MEM_SIZE record ({total:#x})"
    total &= ~(PAGE - 1)
    pos += 8
    seen = 0
    while seen < total:
        length = data[pos]
        pos += 1 + length
        seen += int.from_bytes(data[pos:pos + 8], "big")
        pos += 8
    while pos + 8 <= len(data):
        flags = int.from_bytes(data[pos:pos + 8], "big") & (PAGE - 1)
        if flags & (RAM_ZERO | RAM_PAGE):
            return match.start(), match.end(), pos
        pos += 8
        if flags & RAM_EOS:
            if data[pos] == 0x7E:          # section footer
                pos += 5
            while data[pos] == 0x08:       # QEMU_VM_COMMAND: be16 cmd, be16 len
                pos += 5 + int.from_bytes(data[pos + 3:pos + 5], "big")
            assert data[pos] in (0x02, 0x03), f"no RAM PART/END section at stream byte {pos}"
            pos += 5
        else:
            assert flags == RAM_MULTIFD_FLUSH, f"unexpected RAM record flags {flags:#x} at stream byte {pos - 8}"
    raise AssertionError("no RAM page record in the stream")
