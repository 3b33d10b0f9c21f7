"""Moving a guest into a newer godwit: the `next` preset's build
(GODWIT_NEXT_DEVICE_VERSIONS), whose goldfish_rtc state description is at
version 2 with a field that version 1 streams lack, standing in for the next
release.

Checked: cpr-exec from this build into the next one (same PID, the new
binary running the guest on without a second boot, RAM byte for byte as
before when paused), the exec's state file holding the RTC at version 1 and
the next build's own streams at version 2, a live migration from this build
to the next one, and the reverse refused by the destination, naming the
section and the version, after which the source takes its guest back and
migrates it to a next build instead.

The monitor connection is dropped right after `migrate` and opened again on
the same socket: these tests do not depend on whether a client stays
connected across the exec.
"""
import json
import os
import re
import subprocess
import time

import pytest

from conftest import GODWIT
from migration_helpers import (FAST, MIB, VM, assert_exit_with_error, check_migrated, check_resumed_as_before,
                               check_source_runs, describe, migrate, quick_migration, start_destination, start_source,
                               unix_uri, wait_migration, wait_migration_info)
from migration_helpers import sockdir  # noqa: F401 (fixture)
from monitor_helpers import Launcher
from qmp_client import QMPClient, QMPError

GODWIT_STREAM = GODWIT.parent / "godwit-stream"
MEMORY = "64M"
RTC = "goldfish_rtc"


@pytest.fixture
def plain(request, godwit, guest, tmp_path):
    """Machines of this build."""
    launcher = Launcher("godwit", godwit, guest, tmp_path / "plain")
    request.addfinalizer(launcher.stop_all)
    return launcher


@pytest.fixture
def newer(request, godwit_next, guest, tmp_path):
    """Machines of the next build."""
    launcher = Launcher("godwit", godwit_next, guest, tmp_path / "next")
    request.addfinalizer(launcher.stop_all)
    return launcher


def start_shared(launcher, smp=2):
    """`ab` running with its RAM in a shared memfd, as cpr-exec needs."""
    machine = launcher.start(
        "ab", memory=MEMORY, smp=smp, machine_opts="virt,memory-backend=ram0",
        extra=["-object", f"memory-backend-memfd,id=ram0,size={MEMORY},share=on"])
    vm = VM(machine, machine.qmp(), MEMORY, smp, "godwit")
    machine.wait_serial(3)
    return vm


def drop_client(vm):
    """Closes the test's QMP client: whether it would survive the exec is
    not what these tests are about."""
    vm.qmp.close()
    if vm.qmp in vm.machine.clients:
        vm.machine.clients.remove(vm.qmp)


def reconnect_after_exec(vm, pid, timeout=20):
    """A new QMP client on the same socket once the new program answers
    query-migrate with status completed (the old one never reports that: it
    execs first). Clients that reached the old program, or none, are closed."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        vm.machine.check_alive()
        assert vm.machine.pid == pid
        client = None
        try:
            client = QMPClient(vm.machine.qmp_path, timeout=2, alive=vm.machine.alive)
            reply = client.execute("query-migrate", timeout=2)
            last = reply
            if reply.get("return", {}).get("status") == "completed":
                vm.machine.clients.append(client)
                return VM(vm.machine, client, vm.memory, vm.smp, "new program"), reply["return"]
        except (QMPError, OSError) as error:
            last = error
        if client is not None:
            client.close()
        if time.monotonic() > deadline:
            pytest.fail(f"the new program never answered query-migrate with completed (last: {last})\n"
                        f"{vm.machine.describe()}")
        time.sleep(0.05)


def cpr_exec(vm, binary, state_file):
    """cpr-exec into `binary` with the machine's own options; returns the
    new program's VM and its query-migrate."""
    pid = vm.machine.pid
    command = [str(binary)] + vm.machine.cmd[1:] + ["-incoming", f"file:{state_file}"]
    vm.set_parameters(mode="cpr-exec", cpr_exec_command=command)
    vm.command("migrate", {"uri": f"file:{state_file}"})
    drop_client(vm)
    new, info = reconnect_after_exec(vm, pid)
    assert os.readlink(f"/proc/{pid}/exe") == str(binary), "the process does not run the next build"
    return new, info


def stream_sections(path):
    assert GODWIT_STREAM.exists(), f"{GODWIT_STREAM} not built"
    result = subprocess.run([GODWIT_STREAM, "--json", path], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return {section["name"]: section for section in json.loads(result.stdout)["sections"]}


@pytest.mark.parametrize("pause_first", [False, True], ids=["running", "paused"])
def test_cpr_exec_into_the_next_build(plain, godwit_next, tmp_path, pause_first):
    binary = godwit_next.resolve()
    vm = start_shared(plain)
    vm.command("stop")
    before = vm.ram()
    mtime = vm.mtime()
    serial_before = vm.machine.serial_size()
    if not pause_first:
        vm.command("cont")
    new, info = cpr_exec(vm, binary, tmp_path / "vm.state")
    assert info["status"] == "completed", info
    check_resumed_as_before(new, pause_first, before, mtime)
    vm.machine.assert_serial_growing(timeout=5)
    text = vm.serial_text()
    after_exec = text[serial_before:] if len(text) >= serial_before else text
    assert "B" in after_exec and "A" not in after_exec, \
        f"the guest did not run on after the exec: {after_exec[:80]!r}\n{vm.machine.describe()}"


def test_the_next_build_loads_version_1_and_saves_version_2(plain, newer, godwit_next, tmp_path):
    """The exec's state file holds the RTC at version 1, which the next build
    loaded; the next build saves version 2 (with its new field), which
    another next build loads."""
    vm = start_shared(plain)
    new, _ = cpr_exec(vm, godwit_next.resolve(), tmp_path / "vm.state")
    assert stream_sections(tmp_path / "vm.state")[RTC]["version"] == 1

    saved = tmp_path / "next.state"
    new.set_parameters(max_bandwidth=FAST)
    new.command("migrate", {"uri": f"file:{saved}"})
    wait_migration(new)
    rtc = stream_sections(saved)[RTC]
    assert rtc["version"] == 2, rtc
    assert rtc["fields"]["alarm_period_ns"] == 0, rtc
    machine = newer.start("ab", memory=MEMORY, smp=new.smp, machine_opts="virt,memory-backend=ram0",
                          extra=["-object", f"memory-backend-memfd,id=ram0,size={MEMORY},share=on",
                                 "-incoming", f"file:{saved}"])
    restored = VM(machine, machine.qmp(), MEMORY, new.smp, "restored")
    restored.wait_status("running", timeout=20)
    restored.machine.wait_serial(1, timeout=10)
    restored.machine.assert_serial_growing(timeout=5)
    assert re.fullmatch(r"B+", restored.serial_text()), restored.serial_text()[:80]


def test_live_migration_into_the_next_build(plain, newer, guest, sockdir):
    source = start_source(plain)
    uri = unix_uri(sockdir)
    destination = start_destination(newer, uri)
    migrate(source, uri)
    wait_migration(source, others=(destination,))
    check_migrated(source, destination, guest("ab"))
    assert wait_migration_info(destination)["status"] == "completed"


def test_this_build_refuses_the_next_builds_stream(plain, newer, guest, sockdir):
    source = start_source(newer)
    uri = unix_uri(sockdir, "refused.sock")
    destination = start_destination(plain, uri)
    migrate(source, uri)
    # The device sections come last: by the time the destination reads them
    # the source has sent everything and, with no return path (as QEMU's
    # default), it reports completed and stops in postmigrate, where `cont`
    # gives the guest back, as in QEMU.
    info = wait_migration(source, others=(destination,))
    err = assert_exit_with_error(destination.machine)
    assert re.search(rf"section '{RTC}' instance 0: stream version 2 is newer than this godwit's 1", err), \
        f"the refusal does not name the section and the version\n{describe(source, destination)}"
    assert source.status() == "postmigrate", info
    source.command("cont")
    check_source_runs(source)
    # The source can still go where its stream is understood.
    quick_migration(newer, source, guest("ab"), sockdir)
