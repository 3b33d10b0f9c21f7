"""cpr-exec: godwit saves device state, keeps guest RAM's descriptors open
and execs a new program (a newer godwit) in the same process, which maps
the same memory and resumes the guest. QEMU 10.0 has no cpr-exec (it came in
10.2), so these run on godwit alone.

Checked: same PID, run state as before, RAM byte for byte as before (a
paused guest), the serial going on without a second boot, guest time, the
pause reported by the new program, exec into a copy of the binary, and that
a failed exec leaves the guest running with close-on-exec restored.
"""
import os
import re
import shutil
import time

import pytest

from migration_helpers import (VM, check_resumed_as_before, check_source_runs, godwit_launcher,  # noqa: F401 (fixture)
                               wait_migration)
from monitor_helpers import assert_qmp_error

MEMORY = "64M"


def start(godwit_launcher, smp=2, share=True):
    machine = godwit_launcher.start(
        "ab", memory=MEMORY, smp=smp, machine_opts="virt,memory-backend=ram0",
        extra=["-object", f"memory-backend-memfd,id=ram0,size={MEMORY},share={'on' if share else 'off'}"])
    vm = VM(machine, machine.qmp(), MEMORY, smp, "godwit")
    machine.wait_serial(3)
    return vm


def exec_command(vm, state_file, binary=None):
    command = list(vm.machine.cmd)
    if binary is not None:
        command[0] = str(binary)
    return command + ["-incoming", f"file:{state_file}"]


def wait_new_program(vm, pid):
    """The monitor connection goes across the exec: the same client's next
    query-migrate is answered by the new program (in the same process) once
    it has loaded the state, which its x-load-us shows."""
    deadline = time.monotonic() + 20
    while True:
        vm.machine.check_alive()
        assert vm.machine.pid == pid
        info = vm.info()
        if info.get("status") == "completed" and "x-load-us" in info:
            return VM(vm.machine, vm.qmp, vm.memory, vm.smp, "new program"), info
        assert info.get("status") != "failed", info
        if time.monotonic() > deadline:
            raise AssertionError(f"the new program never answered: {info}\n{vm.machine.describe()}")
        time.sleep(0.02)


@pytest.mark.parametrize("smp", [1, 4])
@pytest.mark.parametrize("pause_first", [False, True], ids=["running", "paused"])
def test_cpr_exec_replaces_the_program_under_the_guest(godwit_launcher, tmp_path, smp, pause_first):
    vm = start(godwit_launcher, smp)
    pid = vm.machine.pid
    vm.command("stop")
    before = vm.ram()
    mtime = vm.mtime()
    serial_before = vm.machine.serial_size()
    serial_head = vm.serial_text()[:serial_before]
    if not pause_first:
        vm.command("cont")
    vm.set_parameters(mode="cpr-exec", cpr_exec_command=exec_command(vm, tmp_path / "vm.state"))
    vm.command("migrate", {"uri": f"file:{tmp_path / 'vm.state'}"})
    new, info = wait_new_program(vm, pid)
    assert info.get("x-pause-us", 0) >= 0, info
    check_resumed_as_before(new, pause_first, before, mtime)
    vm.machine.assert_serial_growing(timeout=5)
    text = vm.serial_text()
    # The serial file's descriptor went across the exec: nothing was
    # truncated, and the guest did not boot again.
    assert text[:serial_before] == serial_head, "the serial file was rewritten by the new program"
    assert "A" not in text[serial_before:], f"the guest booted again after the exec: {text[serial_before:][:80]!r}"


def test_cpr_exec_into_a_copy_of_the_binary(godwit_launcher, tmp_path):
    copy = tmp_path / "godwit-copy"
    shutil.copy(godwit_launcher.binary, copy)
    vm = start(godwit_launcher)
    pid = vm.machine.pid
    vm.set_parameters(mode="cpr-exec", cpr_exec_command=exec_command(vm, tmp_path / "vm.state", binary=copy))
    vm.command("migrate", {"uri": f"file:{tmp_path / 'vm.state'}"})
    new, info = wait_new_program(vm, pid)
    assert os.readlink(f"/proc/{pid}/exe") == str(copy)
    assert new.status() == "running"
    vm.machine.assert_serial_growing(timeout=5)


def children_of(pid):
    """The pids whose parent is `pid` (zombies included)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(name))
    return found


def test_the_old_address_space_keeper_is_reaped(godwit_launcher, tmp_path):
    """cpr-exec leaves the old address space's teardown to a keeper process
    (out of the guest pause); the new program reaps it: no child, no zombie."""
    vm = start(godwit_launcher)
    pid = vm.machine.pid
    vm.set_parameters(mode="cpr-exec", cpr_exec_command=exec_command(vm, tmp_path / "vm.state"))
    vm.command("migrate", {"uri": f"file:{tmp_path / 'vm.state'}"})
    new, _ = wait_new_program(vm, pid)
    deadline = time.monotonic() + 10
    while children_of(pid):
        assert time.monotonic() < deadline, f"children of {pid} left after the exec: {children_of(pid)}"
        time.sleep(0.05)
    assert new.status() == "running"


def cloexec_of_ram(pid):
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        if "godwit:ram0" in target:
            with open(f"/proc/{pid}/fdinfo/{name}") as info:
                flags = int(re.search(r"flags:\s*([0-7]+)", info.read()).group(1), 8)
            return bool(flags & 0o2000000)
    raise AssertionError("no memfd for ram0 in the process")


def test_a_failed_exec_leaves_the_guest_running(godwit_launcher, tmp_path):
    vm = start(godwit_launcher)
    vm.set_parameters(mode="cpr-exec",
                      cpr_exec_command=["/nonexistent/godwit", "-incoming", f"file:{tmp_path / 'vm.state'}"])
    vm.command("migrate", {"uri": f"file:{tmp_path / 'vm.state'}"})
    info = wait_migration(vm, "failed")
    assert "/nonexistent/godwit" in info.get("error-desc", ""), info
    check_source_runs(vm)
    assert cloexec_of_ram(vm.machine.pid), "close-on-exec was not restored on the RAM's memfd"
    assert children_of(vm.machine.pid) == [], "the keeper of a failed exec was not reaped"
    assert os.environ.get("GODWIT_CPR_EXEC_STATE") is None


def test_cpr_exec_refusals(godwit_launcher, tmp_path):
    vm = start(godwit_launcher)
    vm.set_parameters(mode="cpr-exec")
    reply = vm.execute("migrate", {"uri": f"file:{tmp_path / 's'}"})
    assert_qmp_error(reply, "GenericError", "Parameter 'cpr-exec-command' required for cpr-exec")
    vm.set_parameters(cpr_exec_command=["godwit", "-S"])
    reply = vm.execute("migrate", {"uri": f"file:{tmp_path / 's'}"})
    assert "error" in reply and "-incoming" in reply["error"]["desc"], reply
    check_source_runs(vm)


def test_cpr_exec_needs_shared_memory(godwit_launcher, tmp_path):
    vm = start(godwit_launcher, share=False)
    vm.set_parameters(mode="cpr-exec", cpr_exec_command=exec_command(vm, tmp_path / "vm.state"))
    reply = vm.execute("migrate", {"uri": f"file:{tmp_path / 'vm.state'}"})
    assert "error" in reply and "ram0" in reply["error"]["desc"], reply
    check_source_runs(vm)
