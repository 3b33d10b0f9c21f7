"""Migrations that do not complete, and streams that must be refused:
cancel; a destination killed, refusing, a broken pipe, a full disk (each:
the source runs on and a later migration succeeds); a guest dirtying more
than the link carries, until downtime-limit is raised; a destination with a
different RAM size or hart count; corrupt and truncated streams, also under
the ASan build. The kinds are as in test_migration.py."""
import random
import re
import signal
import time

import pytest

from migration_helpers import (FAST, MEMORY, MIGRATION_KINDS, SLOW, SMP, assert_exit_with_error, check_ab_memory,
                               check_destination_runs, check_migrated, check_source_runs, count_passes, describe, events_until,
                               first_ram_page_record, free_tcp_port, migrate, quick_migration, start_destination,
                               start_source, stream_eof_offset, unix_uri, wait_incoming, wait_migration)
from migration_helpers import migration_machine, sockdir  # noqa: F401 (fixtures)
from monitor_helpers import Launcher
from monitor_helpers import machine  # noqa: F401 (fixture: qemu and godwit)


def wait_transferring(source, at_least=256 * 1024, timeout=10):
    """Waits until the migration is active and has sent `at_least` bytes."""
    deadline = time.monotonic() + timeout
    while True:
        info = source.info()
        if info.get("status") == "active" and info.get("ram", {}).get("transferred", 0) >= at_least:
            return info
        # (a status missing just after migrate is checked in test_events_and_statistics)
        assert info.get("status") in (None, "setup", "active"), f"migration {info}\n{describe(source)}"
        assert time.monotonic() < deadline, f"migration not under way after {timeout} s: {info}"
        time.sleep(0.02)


def migrate_expecting_failure(source, uri):
    """Starts a migration that must fail. QEMU reports some failures at once
    (an error reply) and others later (status failed); either way query-migrate
    ends failed with an error-desc. Returns that."""
    reply = source.execute("migrate", {"uri": uri})
    assert reply == {"return": {}} or reply.get("error", {}).get("class") == "GenericError", reply
    info = wait_migration(source, "failed", timeout=20)
    assert isinstance(info.get("error-desc"), str) and info["error-desc"], f"failed without error-desc: {info}"
    if "error" in reply:
        assert reply["error"]["desc"] == info["error-desc"], (reply, info)
    return info


# -- cancel -------------------------------------------------------------------


def test_cancel_then_migrate_again(migration_machine, guest, sockdir):
    source = start_source(migration_machine, bandwidth=SLOW, events=True)
    uri = unix_uri(sockdir, "first.sock")
    destination = start_destination(migration_machine, uri)
    migrate(source, uri)
    wait_transferring(source)
    busy = source.execute("migrate", {"uri": uri})
    assert busy.get("error", {}).get("class") == "GenericError", f"a second migrate was accepted: {busy}"
    busy = source.execute("migrate-set-capabilities", {"capabilities": [{"capability": "events", "state": False}]})
    assert busy.get("error", {}).get("class") == "GenericError", f"capabilities changed mid-migration: {busy}"
    assert source.command("migrate_cancel") == {}
    info = wait_migration(source, "cancelled", timeout=10, others=(destination,))
    assert "error-desc" not in info or info["error-desc"], info
    statuses = [e["data"]["status"] for e in events_until(source, "cancelled") if e["event"] == "MIGRATION"]
    assert statuses[-2:] == ["cancelling", "cancelled"], f"MIGRATION statuses {statuses}"
    check_source_runs(source)
    assert source.info()["status"] == "cancelled"
    # The destination saw the stream end early: it fails and exits (as QEMU).
    assert_exit_with_error(destination.machine)
    quick_migration(migration_machine, source, guest("ab"), sockdir)


# -- failures -----------------------------------------------------------------

FAILURE_CAUSES = {
    "destination-killed": r"(?i)broken pipe|connection reset|reset by peer",
    "connection-refused": r"(?i)connection refused",
    "exec-broken-pipe": r"(?i)broken pipe",
    "file-full-disk": {"godwit": r"(?i)no space left on device",
                       # QEMU fails earlier: ftruncate on /dev/full
                       "qemu": r"(?i)failed to truncate migration file"},
}


def run_failure(launcher, kernel, sockdir, case):
    cause = FAILURE_CAUSES[case]
    if isinstance(cause, dict):
        cause = cause[launcher.kind]
    source = start_source(launcher, bandwidth=SLOW if case == "destination-killed" else FAST)
    if case == "destination-killed":
        uri = unix_uri(sockdir, "doomed.sock")
        destination = start_destination(launcher, uri)
        migrate(source, uri)
        wait_transferring(source)
        destination.machine.proc.send_signal(signal.SIGKILL)
        destination.machine.proc.wait()
        info = wait_migration(source, "failed", timeout=20)
    else:
        uri = {"connection-refused": f"tcp:127.0.0.1:{free_tcp_port()}",
               "exec-broken-pipe": "exec:head -c 1000 > /dev/null",
               "file-full-disk": "file:/dev/full"}[case]
        info = migrate_expecting_failure(source, uri)
    assert re.search(cause, info.get("error-desc", "")), \
        f"error-desc {info.get('error-desc')!r} does not name the cause ({cause})\n{describe(source)}"
    check_source_runs(source)
    assert source.info()["status"] == "failed"
    quick_migration(launcher, source, kernel, sockdir)


def test_destination_killed_mid_migration(machine, guest, sockdir):
    run_failure(machine, guest("ab"), sockdir, "destination-killed")


@pytest.mark.parametrize("case", ["connection-refused", "exec-broken-pipe", "file-full-disk"])
def test_failed_migration_leaves_the_source_running(migration_machine, guest, sockdir, case):
    run_failure(migration_machine, guest("ab"), sockdir, case)


# -- convergence ----------------------------------------------------------------


def test_no_convergence_until_downtime_limit_is_raised(migration_machine, guest, sockdir):
    """16 MiB of RAM, 11 of them rewritten all the time, over 8 MB/s with a
    10 ms downtime limit: the migration keeps going, pass after pass; a large
    downtime-limit lets it complete."""
    memory = "16M"
    source = start_source(migration_machine, memory=memory, bandwidth=8 << 20)
    source.set_parameters(downtime_limit=10)
    uri = unix_uri(sockdir)
    destination = start_destination(migration_machine, uri, memory=memory)
    started = time.monotonic()
    migrate(source, uri)
    info = {}
    while time.monotonic() - started < 3 or info.get("ram", {}).get("dirty-sync-count", 0) < 2:
        info = source.info()
        assert info.get("status") in (None, "setup", "active"), \
            f"migration left active after {time.monotonic() - started:.1f} s: {info}\n{describe(source, destination)}"
        assert time.monotonic() - started < 15, f"no second pass within 15 s: {info}"
        time.sleep(0.1)
    ram = info["ram"]
    assert ram["remaining"] > 0 and ram["transferred"] > 0, info
    assert info.get("expected-downtime", 0) > 10, f"expected-downtime should exceed the 10 ms limit: {info}"
    check_source_runs(source)
    source.set_parameters(downtime_limit=100000)
    wait_migration(source, timeout=30, others=(destination,))
    check_migrated(source, destination, guest("ab"))


# -- streams a destination must refuse ------------------------------------------


@pytest.fixture(scope="module", params=MIGRATION_KINDS)
def saved_stream(request, guest, tmp_path_factory):
    """A stream of the running ab guest (2 harts, MEMORY) saved with file:,
    and the number of passes the guest had printed."""
    kind = request.param
    workdir = tmp_path_factory.mktemp(f"stream-{kind}")
    launcher = Launcher(kind, request.getfixturevalue(kind), guest, workdir)
    try:
        source = start_source(launcher)
        path = workdir / "vm.stream"
        migrate(source, f"file:{path}")
        wait_migration(source)
        passes = count_passes(source)
    finally:
        launcher.stop_all()
    return kind, path, passes


def load_stream(launcher, path, memory=MEMORY, smp=SMP):
    """A destination loading `path` (saved from a MEMORY, SMP machine), with
    no monitor to connect to (it may well exit before one could): what it
    says goes to stderr."""
    return launcher.start("ab", qmp=False, memory=memory, smp=smp, extra=["-incoming", f"file:{path}"])


@pytest.fixture
def stream_machines(request, saved_stream, guest, tmp_path):
    kind = saved_stream[0]
    launcher = Launcher(kind, request.getfixturevalue(kind), guest, tmp_path)
    request.addfinalizer(launcher.stop_all)
    return launcher


def check_intact_stream_loads(kind, binary, guest, saved, workdir):
    """The control for the refusals below: the unmodified stream loads into
    `binary` (-S: paused, RAM as the guest left it) and the guest runs on.
    Without it, a binary that cannot load streams at all would pass them."""
    _, path, passes = saved
    launcher = Launcher(kind, binary, guest, workdir)
    try:
        destination = start_destination(launcher, f"file:{path}", expect=None)
        assert wait_incoming(destination) == "paused", destination.machine.describe()
        check_ab_memory(destination.ram(), guest("ab"), passes=passes, what="restored RAM")
        check_destination_runs(destination)
    finally:
        launcher.stop_all()


@pytest.fixture(scope="module")
def loads_intact(request, saved_stream, guest, tmp_path_factory):
    kind = saved_stream[0]
    check_intact_stream_loads(kind, request.getfixturevalue(kind), guest, saved_stream,
                              tmp_path_factory.mktemp("intact"))


@pytest.fixture(scope="module")
def asan_loads_intact(request, saved_stream, guest, tmp_path_factory):
    if saved_stream[0] != "godwit":
        pytest.skip("the ASan build is godwit's")
    binary = request.getfixturevalue("godwit_asan")
    check_intact_stream_loads("godwit", binary, guest, saved_stream, tmp_path_factory.mktemp("intact-asan"))
    return binary


def test_intact_saved_stream_loads(loads_intact):
    pass


def test_intact_saved_stream_loads_under_asan(asan_loads_intact):
    pass


MISMATCHES = {
    # name: (destination options, what godwit's error must mention)
    "more-ram": ({"memory": "128M"}, r"(?i)ram|memory|size"),
    "less-ram": ({"memory": "32M"}, r"(?i)ram|memory|size"),
    "fewer-harts": ({"smp": 1}, r"(?i)hart|cpu"),
    "more-harts": ({"smp": 4}, r"(?i)hart|cpu"),
}


@pytest.mark.parametrize("mismatch", sorted(MISMATCHES))
def test_destination_with_another_configuration_refuses(saved_stream, loads_intact, stream_machines, mismatch):
    kind, path, _ = saved_stream
    options, mention = MISMATCHES[mismatch]
    destination = load_stream(stream_machines, path, **options)
    err = assert_exit_with_error(destination)
    if kind == "godwit":
        assert re.search(mention, err), f"the error does not say what differs ({mention}):\n{err}"


def corrupt(name, data):
    """The saved stream spoilt one way; every one is invalid by the format."""
    eof = stream_eof_offset(data)
    header_start, header_end, first_page = first_ram_page_record(data)
    spoilt = bytearray(data)
    if name == "empty":
        return b""
    if name == "short-header":
        return data[:6]
    if name == "bad-magic":
        spoilt[0] ^= 0xFF
    elif name == "bad-version":
        spoilt[4:8] = (0x7F).to_bytes(4, "big")
    elif name == "cut-in-ram-setup":
        return data[:header_end + 4]
    elif name == "cut-mid-ram":
        return data[:(first_page + eof) // 2]
    elif name == "cut-before-eof":
        return data[:eof]
    elif name == "cut-in-last-section":
        return data[:eof - 3]
    elif name == "unknown-section":
        spoilt[header_end - 11:header_end - 8] = b"rxm"
    elif name == "ram-version-too-new":
        spoilt[header_end - 4:header_end] = (99).to_bytes(4, "big")
    elif name == "ram-total-wrong":
        total = int.from_bytes(data[header_end:header_end + 8], "big")
        spoilt[header_end:header_end + 8] = (total + (64 << 20)).to_bytes(8, "big")
    elif name == "page-beyond-ram":
        record = int.from_bytes(data[first_page:first_page + 8], "big")
        spoilt[first_page:first_page + 8] = ((1 << 40) | (record & 0xFFF)).to_bytes(8, "big")
    elif name == "page-unknown-flags":
        record = int.from_bytes(data[first_page:first_page + 8], "big")
        spoilt[first_page:first_page + 8] = ((record & ~0xFFF) | 0x400).to_bytes(8, "big")
    elif name == "bad-eof-byte":
        spoilt[eof] = 0x55
    elif name == "garbage-after-header":
        rng = random.Random(1)
        return data[:8] + bytes([0x55]) + bytes(rng.getrandbits(8) for _ in range(65536))
    elif name == "garbage":
        rng = random.Random(2)
        return bytes(rng.getrandbits(8) for _ in range(65536))
    else:
        raise AssertionError(name)
    return bytes(spoilt)


CORRUPTIONS = ["empty", "short-header", "bad-magic", "bad-version", "cut-in-ram-setup", "cut-mid-ram",
               "cut-before-eof", "cut-in-last-section", "unknown-section", "ram-version-too-new",
               "ram-total-wrong", "page-beyond-ram", "page-unknown-flags", "bad-eof-byte",
               "garbage-after-header", "garbage"]


def write_corrupt(saved_stream, name, tmp_path):
    _, path, _ = saved_stream
    bad = tmp_path / f"{name}.stream"
    bad.write_bytes(corrupt(name, path.read_bytes()))
    return bad


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_corrupt_stream_is_refused(saved_stream, loads_intact, stream_machines, tmp_path, name):
    bad = write_corrupt(saved_stream, name, tmp_path)
    destination = load_stream(stream_machines, bad)
    assert_exit_with_error(destination)


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_corrupt_stream_is_refused_under_asan(saved_stream, asan_loads_intact, guest, tmp_path, request, name):
    bad = write_corrupt(saved_stream, name, tmp_path)
    launcher = Launcher("godwit", asan_loads_intact, guest, tmp_path)
    request.addfinalizer(launcher.stop_all)
    destination = load_stream(launcher, bad)
    assert_exit_with_error(destination, timeout=30)


# -- signals --------------------------------------------------------------------


def assert_terminates(vm, what):
    """SIGTERM ends the process at once, with status 0 (as QEMU)."""
    started = time.monotonic()
    vm.machine.proc.send_signal(signal.SIGTERM)
    try:
        status = vm.machine.proc.wait(timeout=3)
    except Exception:
        pytest.fail(f"{what} ignored SIGTERM for 3 s\n{vm.machine.describe()}")
    assert status == 0, f"{what} exited {status} on SIGTERM\n{vm.machine.describe()}"
    return time.monotonic() - started


def test_sigterm_mid_migration(migration_machine, sockdir):
    """A destination waiting for its stream, one receiving it, and a source
    sending one all end on SIGTERM at once."""
    listening = start_destination(migration_machine, unix_uri(sockdir, "idle.sock"))
    assert_terminates(listening, "a destination listening for its stream")
    source = start_source(migration_machine, bandwidth=SLOW)
    uri = unix_uri(sockdir, "first.sock")
    receiving = start_destination(migration_machine, uri)
    migrate(source, uri)
    wait_transferring(source)
    assert_terminates(receiving, "a destination receiving a stream")
    wait_migration(source, "failed", timeout=10)
    uri = unix_uri(sockdir, "second.sock")
    start_destination(migration_machine, uri)
    migrate(source, uri)
    wait_transferring(source)
    assert_terminates(source, "a source sending a stream")
