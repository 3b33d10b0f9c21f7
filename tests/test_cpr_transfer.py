"""cpr-transfer: a new godwit on the same host takes over a running guest.
The new process is started with the machine's options, a main `-incoming`
and a second `-incoming` naming the cpr channel (a UNIX socket). It waits
there, before its monitors exist, for the old process's `migrate`: the old
godwit hands over the file descriptors of guest RAM (SCM_RIGHTS), the new
one maps the same memory and builds its machine, listens on its main channel
and closes the cpr channel; only then does the old guest stop, and the
device state follows on the main channel. Nothing of RAM is copied.

Checked: RAM byte for byte as it was before the operation (a pmemsave of
the stopped guest), the guest continuing (Bs only, no second A), guest time,
the run state, and every refusal QEMU documents with the source running on.
Like the other migration tests these run on MIGRATION_KINDS
(GODWIT_MIGRATION_KINDS=qemu,godwit checks them against QEMU 10.0 too).
"""
import json
import time

import pytest

from migration_helpers import (MIB, PAGE, TIMEBASE_HZ, VM, check_destination_runs, check_source_runs, cpr_channel,
                               describe, main_channel, migration_machine, sockdir, wait_incoming,
                               wait_migration)  # noqa: F401 (fixtures)
from monitor_helpers import assert_qmp_error

MEMORY = "64M"


def memfd_options(share=True):
    # aux-ram-share=on: QEMU's ROMs must be shareable too (godwit accepts it).
    return {"machine_opts": "virt,memory-backend=ram0,aux-ram-share=on",
            "extra": ["-object", f"memory-backend-memfd,id=ram0,size={MEMORY},share={'on' if share else 'off'}"]}


def start_source(launcher, smp=2, share=True):
    options = memfd_options(share)
    machine = launcher.start("ab", memory=MEMORY, smp=smp, machine_opts=options["machine_opts"],
                             extra=options["extra"])
    vm = VM(machine, machine.qmp(), MEMORY, smp, "source")
    machine.wait_serial(3)
    vm.set_parameters(mode="cpr-transfer")
    return vm


def start_new_process(launcher, sockdir, smp=2, main="unix", paused=False):
    """The new godwit: it sits on the cpr socket and answers QMP only once
    the old one has handed over its memory."""
    options = memfd_options()
    main_sock = sockdir / "main.sock"
    cpr_sock = sockdir / "cpr.sock"
    incoming = f"unix:{main_sock}" if main == "unix" else "defer"
    extra = (["-S"] if paused else []) + options["extra"] + [
        "-incoming", incoming, "-incoming", json.dumps(cpr_channel(cpr_sock))]
    # No QMP client yet: the monitor appears after the cpr channel is read.
    machine = launcher.start("ab", memory=MEMORY, smp=smp, machine_opts=options["machine_opts"], extra=extra)
    deadline = time.monotonic() + 10
    while not cpr_sock.exists():
        machine.check_alive()
        assert time.monotonic() < deadline, f"the new process never listened on {cpr_sock}\n{machine.describe()}"
        time.sleep(0.01)
    return machine, main_sock, cpr_sock


def connect(machine, smp=2):
    return VM(machine, machine.qmp(timeout=20), MEMORY, smp, "destination")


@pytest.mark.parametrize("smp", [1, 4])
@pytest.mark.parametrize("pause_first", [False, True], ids=["running", "paused"])
def test_cpr_transfer_hands_the_guest_over(migration_machine, sockdir, smp, pause_first):
    source = start_source(migration_machine, smp)
    if pause_first:
        source.command("stop")
        source.wait_status("paused")
    # The RAM the new process must find: taken with the guest stopped. A
    # running guest is stopped for the snapshot and let go again.
    if not pause_first:
        source.command("stop")
    before = source.ram()
    mtime = source.mtime()
    if not pause_first:
        source.command("cont")
    new, main_sock, cpr_sock = start_new_process(migration_machine, sockdir, smp, paused=True)
    reply = source.execute("migrate", {"channels": [main_channel(main_sock), cpr_channel(cpr_sock)]})
    assert reply == {"return": {}}, f"migrate refused: {reply}\n{source.machine.describe()}"
    destination = connect(new, smp)
    info = wait_migration(source, others=(destination,))
    assert source.status() == "postmigrate"
    assert wait_incoming(destination) == "paused", describe(source, destination)
    # Nothing of RAM went through the stream.
    assert info["ram"]["normal"] == 0 and info["ram"]["duplicate"] == 0, info
    after = destination.ram()
    if pause_first:
        assert after == before, "RAM differs from the snapshot taken before the transfer"
    else:
        # The guest ran on after the snapshot; what it left must be exactly
        # what the old process saw when it stopped.
        assert after == source.ram(), "the new process sees other RAM than the old one left"
        assert any(after[MIB:2 * MIB]), "RAM is all zeros"
    restored = destination.mtime()
    assert restored >= mtime
    if pause_first:
        assert restored - mtime <= TIMEBASE_HZ // 100, "guest time moved while the guest was stopped"
    check_destination_runs(destination)


def test_cpr_transfer_resumes_a_running_guest_by_itself(migration_machine, sockdir):
    source = start_source(migration_machine)
    new, main_sock, cpr_sock = start_new_process(migration_machine, sockdir)
    source.command("migrate", {"channels": [main_channel(main_sock), cpr_channel(cpr_sock)]})
    destination = connect(new)
    wait_migration(source, others=(destination,))
    assert wait_incoming(destination) == "running", describe(source, destination)
    check_destination_runs(destination, cont=False)
    info = source.info()
    assert info["downtime"] < 1000, info


def test_cpr_transfer_with_incoming_defer(migration_machine, sockdir):
    """QEMU's order with -incoming defer: migrate on the old process first;
    the new one's monitor then appears, takes mode and migrate-incoming, and
    only then does the old side go on."""
    source = start_source(migration_machine)
    new, main_sock, cpr_sock = start_new_process(migration_machine, sockdir, main="defer")
    source.command("migrate", {"channels": [main_channel(main_sock), cpr_channel(cpr_sock)]})
    destination = connect(new)
    time.sleep(0.2)
    assert source.status() == "running", "the old guest stopped before the new process listened"
    destination.set_parameters(mode="cpr-transfer")
    destination.command("migrate-incoming", {"uri": f"unix:{main_sock}"})
    wait_migration(source, others=(destination,))
    assert wait_incoming(destination) == "running"
    check_destination_runs(destination, cont=False)


# -- refusals: each names the problem, and the source runs on --------------------


def refused(source, channels, fragment):
    reply = source.execute("migrate", {"channels": channels})
    assert "error" in reply, reply
    assert fragment in reply["error"]["desc"], reply
    check_source_runs(source)


def test_private_memory_is_refused_naming_the_backend(migration_machine, sockdir):
    source = start_source(migration_machine, share=False)
    refused(source, [main_channel(sockdir / "m.sock"), cpr_channel(sockdir / "c.sock")],
            "ram0" if migration_machine.kind == "godwit" else "not compatible with CPR")


def test_main_channel_may_not_be_a_file(migration_machine, sockdir, tmp_path):
    source = start_source(migration_machine)
    channels = [{"channel-type": "main", "addr": {"transport": "file", "filename": str(tmp_path / "f")}},
                cpr_channel(sockdir / "c.sock")]
    reply = source.execute("migrate", {"channels": channels})
    assert "error" in reply, reply
    check_source_runs(source)


def test_tcp_port_zero_is_refused(migration_machine, sockdir):
    source = start_source(migration_machine)
    channels = [{"channel-type": "main", "addr": {"transport": "socket", "type": "inet",
                                                  "host": "127.0.0.1", "port": "0"}},
                cpr_channel(sockdir / "c.sock")]
    reply = source.execute("migrate", {"channels": channels})
    assert "error" in reply, reply
    check_source_runs(source)


def test_cpr_transfer_needs_the_cpr_channel(migration_machine, sockdir):
    source = start_source(migration_machine)
    refused(source, [main_channel(sockdir / "m.sock")], "cpr")


def test_migrate_incoming_does_not_take_a_cpr_channel(migration_machine, sockdir):
    if migration_machine.kind != "godwit":
        pytest.skip("QEMU 10.0 accepts a lone cpr channel in migrate-incoming (and then waits on nothing)")
    machine = migration_machine.start("ab", memory=MEMORY, extra=["-incoming", "defer"])
    vm = VM(machine, machine.qmp(), MEMORY, 1, "destination")
    reply = vm.execute("migrate-incoming", {"channels": [cpr_channel(sockdir / "c.sock")]})
    assert_qmp_error(reply, "GenericError", "Channel list has no main entry")
    assert vm.status() == "inmigrate"


def test_nobody_listening_on_the_cpr_channel_is_migrates_error(migration_machine, sockdir):
    """As QEMU: the descriptors go during `migrate`, so a new process that is
    not there is the command's own error; the guest never stopped."""
    source = start_source(migration_machine)
    refused(source, [main_channel(sockdir / "m.sock"), cpr_channel(sockdir / "none.sock")], "none.sock")
    assert source.info().get("status") in (None, "none", "failed"), source.info()


def test_the_new_process_migrates_on_like_any_other(migration_machine, sockdir):
    """What cpr-transfer needed stays with that one stream: the new process
    shows mode normal and no x-ignore-shared (as QEMU's), and a plain live
    migration of its guest to a third process works."""
    source = start_source(migration_machine)
    new, main_sock, cpr_sock = start_new_process(migration_machine, sockdir)
    source.command("migrate", {"channels": [main_channel(main_sock), cpr_channel(cpr_sock)]})
    middle = connect(new)
    wait_migration(source, others=(middle,))
    assert wait_incoming(middle) == "running"
    assert middle.parameters()["mode"] == "normal"
    assert middle.capability("x-ignore-shared") is False
    options = memfd_options()
    third_sock = sockdir / "third.sock"
    third_machine = migration_machine.start("ab", memory=MEMORY, smp=2, machine_opts=options["machine_opts"],
                                            extra=options["extra"] + ["-S", "-incoming", f"unix:{third_sock}"])
    third = VM(third_machine, third_machine.qmp(), MEMORY, 2, "third")
    middle.set_parameters(max_bandwidth=10_000_000_000)
    middle.command("migrate", {"uri": f"unix:{third_sock}"})
    wait_migration(middle, others=(third,))
    assert wait_incoming(third) == "paused"
    assert third.ram() == middle.ram(), "RAM differs after the live migration that followed the cpr-transfer"
    check_destination_runs(third)
