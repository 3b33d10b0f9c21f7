"""The human monitor on `-monitor unix:...`: banner, prompt, the info
commands, run control, memory display and dumps, and q."""
import re
import socket
import time

import pytest

from monitor_helpers import RAM_BASE, elf_load_segments, machine  # noqa: F401 (fixture)

ADDRESS_LINE = re.compile(r"^[0-9a-f]{16}: 0x[0-9a-f]{8} 0x[0-9a-f]{8} 0x[0-9a-f]{8} 0x[0-9a-f]{8}$")


def hmp_machine(machine, guest="ab", **options):
    started = machine.start(guest, qmp=False, hmp=True, **options)
    monitor = started.hmp()
    started.wait_serial(2)
    return started, monitor


def status(monitor):
    return monitor.command("info status")


def test_banner_and_prompt(machine):
    started, monitor = hmp_machine(machine)
    assert machine.differences["hmp_banner"].fullmatch(monitor.banner.strip()), repr(monitor.banner)
    # The banner ended with the prompt, and each command ends with one.
    assert monitor.command("") == ""


def test_help_lists_commands(machine):
    started, monitor = hmp_machine(machine)
    text = monitor.command("help")
    # Lines start "name|alias args -- description".
    names = {alias for line in text.splitlines() if " -- " in line and not line[0].isspace()
             for alias in line.split()[0].split("|")}
    for name in ("info", "stop", "cont", "c", "system_reset", "x", "xp", "pmemsave", "memsave", "quit", "q"):
        assert name in names, f"help lacks {name}"


def test_info_status_stop_cont(machine):
    started, monitor = hmp_machine(machine)
    assert status(monitor) == "VM status: running"
    assert monitor.command("stop") == ""
    assert status(monitor) == "VM status: paused"
    size = started.serial_size()
    time.sleep(0.3)
    assert started.serial_size() == size, "serial output grew while stopped"
    assert monitor.command("c") == ""
    assert status(monitor) == "VM status: running"
    started.assert_serial_growing()
    monitor.command("stop")
    assert monitor.command("cont") == ""
    assert status(monitor) == "VM status: running"


def test_info_registers(machine):
    started, monitor = hmp_machine(machine)
    monitor.command("stop")
    text = monitor.command("info registers")
    assert re.search(r"\bpc\s+[0-9a-f]{16}\b", text), text
    for register in ("x0/zero", "x1/ra", "x2/sp", "x10/a0", "x31/t6"):
        assert re.search(re.escape(register) + r"\s+[0-9a-f]{16}\b", text), f"{register} missing:\n{text}"
    assert re.search(r"\bsatp\s+0{16}\b", text), text


def test_info_chardev(machine):
    started, monitor = hmp_machine(machine, extra=["-chardev", "null,id=spare"])
    text = monitor.command("info chardev")
    labels = {line.split(":")[0] for line in text.splitlines()}
    assert {"spare", "serial0"} <= labels, text
    assert all(": filename=" in line for line in text.splitlines()), text


def test_info_network(machine):
    started, monitor = hmp_machine(machine, extra=["-netdev", "user,id=n0", "-device",
                                                   "virtio-net-device,netdev=n0,mac=52:54:00:ab:cd:ef"])
    lines = monitor.command("info network").splitlines()
    assert len(lines) == 2, lines
    assert re.match(r"\S+: index=0,type=nic,model=virtio-net-device,macaddr=52:54:00:ab:cd:ef$", lines[0]), lines
    assert lines[1] == " \\ n0: index=0,type=user,net=10.0.2.0,restrict=off", lines


def test_netdev_add_and_netdev_del(machine):
    """A backend added while the machine runs (no NIC uses it: the virt board
    has no NIC hotplug) listens on its hostfwd port until it is deleted."""
    started, monitor = hmp_machine(machine, extra=["-netdev", "user,id=n0", "-device",
                                                   "virtio-net-device,netdev=n0"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert monitor.command(f"netdev_add user,id=n1,restrict=on,hostfwd=tcp:127.0.0.1:{port}-:80") == ""
    socket.create_connection(("127.0.0.1", port), timeout=5).close()
    assert "n1: index=0,type=user,net=10.0.2.0,restrict=on" in monitor.command("info network").splitlines()
    duplicate = monitor.command("netdev_add user,id=n1")
    if machine.kind == "godwit":
        assert duplicate.strip() == "Error: Duplicate ID 'n1' for netdev", duplicate
    else:  # QEMU 10 reports it on its stderr and prints only the hint here
        assert 'Try "help netdev_add"' in duplicate, duplicate
    assert monitor.command("netdev_del n1") == ""
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    assert monitor.command("netdev_del n9").strip() == "Error: Device 'n9' not found"
    assert "n1:" not in monitor.command("info network")
    if machine.kind == "godwit":
        # The NIC's own backend stays: godwit cannot unplug the NIC.
        assert "in use by a virtio-net-device" in monitor.command("netdev_del n0")


def test_info_version(machine):
    started, monitor = hmp_machine(machine)
    # QEMU prints the version and the package with nothing between them.
    assert re.match(r"\d+\.\d+\.\d+", monitor.command("info version"))


def test_system_reset(machine):
    started, monitor = hmp_machine(machine)
    before = started.serial_text().count("A")
    assert monitor.command("system_reset") == ""
    deadline = time.monotonic() + 10
    while started.serial_text().count("A") <= before:
        assert time.monotonic() < deadline, "no second A after system_reset"
        time.sleep(0.05)
    assert status(monitor) == "VM status: running"


def test_x_and_xp_show_the_image(machine):
    started, monitor = hmp_machine(machine)
    monitor.command("stop")
    physical = monitor.command(f"xp /4xw {RAM_BASE:#x}")
    assert ADDRESS_LINE.fullmatch(physical), physical
    assert physical.startswith("0000000080000000: ")
    # satp is 0 in M-mode, so virtual addresses are physical ones.
    assert monitor.command(f"x /4xw {RAM_BASE:#x}") == physical
    # The first word is the image's first instruction.
    image = machine.guest("ab")
    first_word = int(physical.split()[1], 16)
    assert first_word == int.from_bytes(elf_load_segments(image)[0][1][:4], "little")


def test_pmemsave_and_memsave(machine):
    started, monitor = hmp_machine(machine)
    monitor.command("stop")
    physical = machine.workdir / "p.bin"
    virtual = machine.workdir / "v.bin"
    # Quoted: unquoted, QEMU reads "4096 /tmp/..." as a division.
    assert monitor.command(f'pmemsave {RAM_BASE:#x} 4096 "{physical}"') == ""
    assert monitor.command(f'memsave {RAM_BASE:#x} 4096 "{virtual}"') == ""
    assert physical.stat().st_size == 4096
    assert physical.read_bytes() == virtual.read_bytes()
    first_word = int(monitor.command(f"xp /1xw {RAM_BASE:#x}").split()[1], 16)
    assert int.from_bytes(physical.read_bytes()[:4], "little") == first_word


def test_unknown_command(machine):
    started, monitor = hmp_machine(machine)
    assert monitor.command("bogus") == "unknown command: 'bogus'"
    assert status(monitor) == "VM status: running"


def test_q_exits(machine):
    started, monitor = hmp_machine(machine)
    monitor.send_line("q")
    assert started.wait_exit() == 0
    monitor.read_rest(timeout=2)
