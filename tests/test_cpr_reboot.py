"""cpr-reboot: the guest's state goes to a file, the process quits, a new one
starts with the same options and `-incoming defer`, loads the file, and the
guest continues where it was. With RAM in a shared memory-backend-file and
x-ignore-shared the RAM stays in the file's pages and only device state is
written; with private RAM the RAM goes into the state file.

Each case checks what the user relies on: the RAM the new process sees is
byte for byte what the old one left (a pmemsave of the stopped source), the
serial goes on with Bs only (the guest continued, it did not boot again),
guest time did not go back, and the run state is what it was (running, or
paused). Like the other migration tests these run on MIGRATION_KINDS
(GODWIT_MIGRATION_KINDS=qemu,godwit checks them against QEMU 10.0 too).
"""
import os
import pathlib
import tempfile

import pytest

from migration_helpers import (MIB, PAGE, TIMEBASE_HZ, VM, check_destination_runs, check_source_runs,
                               describe, migration_machine, sockdir, start_source, wait_incoming,
                               wait_migration)  # noqa: F401 (fixtures)
from monitor_helpers import assert_qmp_error

MEMORY = "64M"


@pytest.fixture
def shm_dir():
    """A private folder in shared memory (tmpfs), as a user keeps RAM that
    must survive the process: /dev/shm where there is one."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    path = pathlib.Path(tempfile.mkdtemp(prefix="godwit-cpr-", dir=base))
    yield path
    for child in path.iterdir():
        child.unlink()
    path.rmdir()


def ram_options(ram_file):
    """Machine options putting guest RAM in a shared file backend (or, with
    None, in the default private RAM)."""
    if ram_file is None:
        return {"extra": []}
    return {"machine_opts": "virt,memory-backend=ram0",
            "extra": ["-object", f"memory-backend-file,id=ram0,size={MEMORY},mem-path={ram_file},share=on"]}


def start_machine(launcher, smp, ram_file, incoming=None, paused=False):
    options = ram_options(ram_file)
    extra = list(options["extra"])
    if incoming:
        extra += ["-incoming", incoming]
    if paused:
        extra = ["-S"] + extra
    machine = launcher.start("ab", memory=MEMORY, smp=smp, extra=extra,
                             **({"machine_opts": options["machine_opts"]} if "machine_opts" in options else {}))
    return VM(machine, machine.qmp(), MEMORY, smp, "destination" if incoming else "source")


def set_cpr_reboot(vm, ignore_shared=True):
    vm.set_parameters(mode="cpr-reboot")
    if ignore_shared:
        vm.set_capability("x-ignore-shared")
    assert vm.parameters()["mode"] == "cpr-reboot"


def save(launcher, smp, ram_file, state_file, *, pause_first):
    """Runs `ab`, saves it with cpr-reboot and quits; returns what the new
    process must find: RAM, run state before the save, mtime and B count."""
    source = start_machine(launcher, smp, ram_file)
    source.machine.wait_serial(3)
    set_cpr_reboot(source)
    if pause_first:
        source.command("stop")
        source.wait_status("paused")
    reply = source.execute("migrate", {"uri": f"file:{state_file}"})
    assert reply == {"return": {}}, f"migrate refused: {reply}\n{source.machine.describe()}"
    info = wait_migration(source)
    assert source.status() == "postmigrate", source.machine.describe()
    saved = {"ram": source.ram(), "mtime": source.mtime(), "bs": source.serial_text().count("B"),
             "downtime": info.get("downtime"), "info": info}
    source.command("quit")
    source.machine.wait_exit()
    return saved


def restore(launcher, smp, ram_file, state_file, *, dash_s):
    destination = start_machine(launcher, smp, ram_file, incoming="defer", paused=dash_s)
    assert destination.status() == "inmigrate"
    set_cpr_reboot(destination)
    reply = destination.execute("migrate-incoming", {"uri": f"file:{state_file}"})
    assert reply == {"return": {}}, f"migrate-incoming refused: {reply}\n{destination.machine.describe()}"
    return destination, wait_incoming(destination)


def check_ram(saved, destination):
    ram = destination.ram()
    if ram != saved["ram"]:
        differing = [offset for offset in range(0, len(ram), PAGE) if ram[offset:offset + PAGE] != saved["ram"][offset:offset + PAGE]]
        pytest.fail(f"RAM after the restart differs in {len(differing)} pages, first at offset {differing[0]:#x}\n"
                    f"{destination.machine.describe()}")
    assert any(saved["ram"][MIB:2 * MIB]), "the saved RAM is all zeros: ab never ran"


def check_time(saved, destination):
    after = destination.mtime()
    assert after >= saved["mtime"], f"guest time went back: mtime {saved['mtime']} saved, {after} restored"
    assert after - saved["mtime"] <= TIMEBASE_HZ // 100, \
        f"restored mtime is {(after - saved['mtime']) / TIMEBASE_HZ:.3f} s ahead of the saved one"


@pytest.mark.parametrize("smp", [1, 4])
@pytest.mark.parametrize("pause_first", [False, True], ids=["running", "paused"])
def test_cpr_reboot_keeps_shared_ram_in_place(migration_machine, shm_dir, smp, pause_first):
    """RAM in /dev/shm with share=on and x-ignore-shared: the state file holds
    device state only, and the guest continues from the same pages."""
    ram_file = shm_dir / "guest-ram"
    state_file = shm_dir / "vm.state"
    saved = save(migration_machine, smp, ram_file, state_file, pause_first=pause_first)
    size = state_file.stat().st_size
    assert size < 256 * 1024, f"the state file is {size} bytes: RAM was written although it stays in {ram_file}"
    # -S keeps the restored guest paused, so its RAM can be compared with
    # the saved one; a running guest then continues on `cont`.
    destination, state = restore(migration_machine, smp, ram_file, state_file, dash_s=True)
    assert state == "paused", describe(destination)
    check_ram(saved, destination)
    check_time(saved, destination)
    check_destination_runs(destination)
    assert destination.serial_text().count("A") == 0


@pytest.mark.parametrize("pause_first", [False, True], ids=["running", "paused"])
def test_cpr_reboot_resumes_in_the_state_it_was_in(migration_machine, shm_dir, pause_first):
    """Without -S the restored guest runs by itself if it was running, and
    stays paused if it was paused (QEMU's global state)."""
    ram_file = shm_dir / "guest-ram"
    state_file = shm_dir / "vm.state"
    save(migration_machine, 2, ram_file, state_file, pause_first=pause_first)
    destination, state = restore(migration_machine, 2, ram_file, state_file, dash_s=False)
    assert state == ("paused" if pause_first else "running"), describe(destination)
    check_destination_runs(destination, cont=pause_first)


@pytest.mark.parametrize("smp", [1, 4])
def test_cpr_reboot_with_private_ram_writes_the_ram(migration_machine, tmp_path, smp):
    """Private RAM cannot stay in place: it goes into the file, and the
    restart still works."""
    state_file = tmp_path / "vm.state"
    saved = save(migration_machine, smp, None, state_file, pause_first=False)
    nonzero_pages = sum(1 for offset in range(0, len(saved["ram"]), PAGE)
                        if any(saved["ram"][offset:offset + PAGE]))
    assert state_file.stat().st_size >= nonzero_pages * PAGE, "the state file cannot hold the guest's RAM"
    destination, state = restore(migration_machine, smp, None, state_file, dash_s=True)
    assert state == "paused"
    check_ram(saved, destination)
    check_time(saved, destination)
    check_destination_runs(destination)


def test_cpr_reboot_stops_the_guest_before_saving(migration_machine, tmp_path):
    """The state is taken with the guest stopped: downtime covers the whole
    save, and every page goes in one pass (no dirty pages re-sent)."""
    state_file = tmp_path / "vm.state"
    saved = save(migration_machine, 2, None, state_file, pause_first=False)
    info = saved["info"]
    ram = info["ram"]
    assert ram["precopy-bytes"] == 0, str(ram)
    assert ram["normal"] + ram["duplicate"] == ram["total"] // PAGE, f"pages sent more than once: {sorted(ram.items())}"
    assert info["downtime"] <= info["total-time"], info


# -- parameters and refusals ---------------------------------------------------


def test_mode_parameter_over_qmp_and_hmp(migration_machine):
    vm = start_source(migration_machine, memory=MEMORY)
    assert vm.parameters()["mode"] == "normal"
    vm.set_parameters(mode="cpr-reboot")
    assert vm.parameters()["mode"] == "cpr-reboot"
    reply = vm.execute("migrate-set-parameters", {"mode": "reboot"})
    assert_qmp_error(reply, "GenericError", "Parameter 'mode' does not accept value 'reboot'")
    assert vm.parameters()["mode"] == "cpr-reboot", "a refused value changed the parameter"
    vm.hmp("migrate_set_parameter mode normal")
    assert vm.parameters()["mode"] == "normal"
    assert "mode: normal" in vm.hmp("info migrate_parameters")
    if migration_machine.kind == "godwit":  # QEMU 10.0 has no cpr-exec-command yet
        vm.set_parameters(cpr_exec_command=["/usr/bin/godwit", "-incoming", "file:vm.state"])
        assert vm.parameters()["cpr-exec-command"] == ["/usr/bin/godwit", "-incoming", "file:vm.state"]
        vm.hmp("migrate_set_parameter cpr-exec-command godwit -S -incoming defer")
        assert vm.parameters()["cpr-exec-command"] == ["godwit", "-S", "-incoming", "defer"]
        assert "cpr-exec-command: godwit -S -incoming defer" in vm.hmp("info migrate_parameters")


def test_announce_parameters_over_qmp_and_hmp(migration_machine):
    """The announce-* parameters a destination announces the guest with."""
    vm = start_source(migration_machine, memory=MEMORY)
    p = vm.parameters()
    assert (p["announce-initial"], p["announce-max"], p["announce-rounds"], p["announce-step"]) == (50, 550, 5, 100)
    vm.execute("migrate-set-parameters", {"announce-initial": 10, "announce-max": 200, "announce-rounds": 3,
                                          "announce-step": 20})
    p = vm.parameters()
    assert (p["announce-initial"], p["announce-max"], p["announce-rounds"], p["announce-step"]) == (10, 200, 3, 20)
    for name, bad, words in (("announce-initial", 100001, "announce_initial' expects a value between 0 and 100000"),
                             ("announce-rounds", 1001, "announce_rounds' expects a value between 0 and 1000"),
                             ("announce-step", 0, "announce_step' expects a value between 0 and 10000")):
        reply = vm.execute("migrate-set-parameters", {name: bad})
        assert_qmp_error(reply, "GenericError", "Parameter '" + words)
    assert vm.parameters()["announce-rounds"] == 3, "a refused value changed the parameter"
    vm.hmp("migrate_set_parameter announce-rounds 7")
    assert vm.parameters()["announce-rounds"] == 7
    assert "announce-rounds: 7" in vm.hmp("info migrate_parameters")


def test_a_cpr_channel_outside_cpr_transfer_is_refused(migration_machine, tmp_path):
    vm = start_source(migration_machine, memory=MEMORY)
    set_cpr_reboot(vm, ignore_shared=False)
    channels = [{"channel-type": "main", "addr": {"transport": "file", "filename": str(tmp_path / "s")}},
                {"channel-type": "cpr", "addr": {"transport": "socket", "type": "unix",
                                                 "path": str(tmp_path / "cpr.sock")}}]
    reply = vm.execute("migrate", {"channels": channels})
    assert "error" in reply, reply
    check_source_runs(vm)
