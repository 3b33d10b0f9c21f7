"""QMP commands, one by one, on a machine started the way QEMU is started:
handshake, replies and ids, each query, run control, memory dumps, fd passing,
and the exact errors for bad commands and arguments."""
import os
import socket
import time

import pytest

from monitor_helpers import (RAM_BASE, REQUIRED_COMMANDS, ab_machine, assert_qmp_error,
                             elf_load_segments, machine)  # noqa: F401 (fixture)


def test_greeting_and_negotiation(machine):
    started = machine.start("ab")
    client = started.qmp(negotiate=False)
    greeting = client.greeting["QMP"]
    version = greeting["version"]
    assert set(version) == {"qemu", "package"}
    assert {key: type(value) for key, value in version["qemu"].items()} == \
        {"major": int, "minor": int, "micro": int}
    assert isinstance(version["package"], str)
    assert isinstance(greeting["capabilities"], list)
    # Before negotiation every command but qmp_capabilities is refused.
    assert_qmp_error(client.execute("query-status"), "CommandNotFound",
                     "Expecting capabilities negotiation with 'qmp_capabilities'")
    assert client.execute("qmp_capabilities") == {"return": {}}
    assert_qmp_error(client.execute("qmp_capabilities"), "CommandNotFound",
                     "Capabilities negotiation is already complete, command ignored")
    assert client.execute("query-status")["return"]["status"] == "running"


@pytest.mark.parametrize("request_id", ["abc", 17, {"a": [1, "two"]}, [1, 2], None])
def test_id_is_echoed(machine, request_id):
    started = machine.start("ab")
    client = started.qmp()
    message = {"execute": "query-status"}
    if request_id is not None:
        message["id"] = request_id
    client.send(message)
    reply = client.reply()
    assert reply.get("id") == request_id
    assert ("id" in reply) == (request_id is not None)
    # Errors carry the id too.
    error = client.execute("no-such-command", id=request_id)
    assert error.get("id") == request_id


def test_query_version_matches_greeting(machine):
    started = machine.start("ab")
    client = started.qmp()
    assert client.execute("query-version")["return"] == client.greeting["QMP"]["version"]


def test_query_commands_lists_the_monitor_commands(machine):
    started = machine.start("ab")
    client = started.qmp()
    commands = client.execute("query-commands")["return"]
    assert all(set(entry) == {"name"} for entry in commands), commands[:5]
    names = {entry["name"] for entry in commands}
    missing = [name for name in REQUIRED_COMMANDS if name not in names]
    assert not missing, f"query-commands lacks {missing}"


def test_query_status_values(machine):
    prelaunch = machine.start("ab", extra=["-S"])
    client = prelaunch.qmp()
    assert client.execute("query-status") == {"return": {"status": "prelaunch", "running": False}}
    assert client.execute("cont") == {"return": {}}
    assert client.execute("query-status") == {"return": {"status": "running", "running": True}}
    assert client.execute("stop") == {"return": {}}
    assert client.execute("query-status") == {"return": {"status": "paused", "running": False}}


@pytest.mark.parametrize("name", [None, "guest-one"])
def test_query_name(machine, name):
    started = machine.start("ab", extra=["-name", name] if name else [])
    client = started.qmp()
    assert client.execute("query-name") == {"return": {"name": name} if name else {}}


def test_query_cpus_fast_has_one_entry_per_hart(machine):
    started = machine.start("smp", smp=3, extra=["-S"])  # smp powers off when done
    client = started.qmp()
    cpus = client.execute("query-cpus-fast")["return"]
    assert [cpu["cpu-index"] for cpu in cpus] == [0, 1, 2]
    for cpu in cpus:
        assert cpu["target"] == "riscv64"
        assert isinstance(cpu["thread-id"], int) and cpu["thread-id"] > 0
        assert isinstance(cpu["qom-path"], str) and cpu["qom-path"]
        assert isinstance(cpu.get("props", {}), dict)


def test_query_memdev_reports_the_ram_backend(machine):
    started = machine.start("ab", machine_opts="virt,memory-backend=mem",
                            extra=["-object", "memory-backend-memfd,id=mem,size=128M"])
    client = started.qmp()
    memdevs = client.execute("query-memdev")["return"]
    assert len(memdevs) == 1, memdevs
    memdev = memdevs[0]
    assert memdev["id"] == "mem"
    assert memdev["size"] == 128 << 20
    assert memdev["share"] is True  # memfd backends are shared by default
    for key in ("merge", "dump", "prealloc"):
        assert isinstance(memdev[key], bool), memdev
    assert isinstance(memdev["policy"], str)


def test_query_chardev_lists_created_chardevs(machine):
    started = machine.start("ab", extra=[
        "-chardev", "null,id=spare",
        "-chardev", f"socket,id=mon2,path={machine.workdir}/m2.sock,server=on,wait=off",
        "-mon", "chardev=mon2,mode=control"])
    client = started.qmp()
    chardevs = client.execute("query-chardev")["return"]
    labels = {entry["label"] for entry in chardevs}
    assert {"spare", "mon2", "serial0"} <= labels, labels
    for entry in chardevs:
        assert isinstance(entry["filename"], str)
        assert isinstance(entry["frontend-open"], bool)


def test_stop_and_cont(machine):
    started, client = ab_machine(machine)
    assert client.execute("stop") == {"return": {}}
    assert client.execute("query-status")["return"] == {"status": "paused", "running": False}
    assert client.execute("cont") == {"return": {}}
    assert client.execute("query-status")["return"] == {"status": "running", "running": True}
    started.assert_serial_growing()


def test_system_reset_restarts_the_guest(machine):
    started, client = ab_machine(machine)
    before = started.serial_text().count("A")
    assert client.execute("system_reset") == {"return": {}}
    # ab prints one A when it starts: a reset guest prints another.
    deadline = time.monotonic() + 10
    while started.serial_text().count("A") <= before:
        assert time.monotonic() < deadline, "no second A after system_reset"
        time.sleep(0.05)
    assert client.execute("query-status")["return"]["status"] == "running"


def test_quit_exits_with_status_zero(machine):
    started, client = ab_machine(machine)
    assert client.execute("quit") == {"return": {}}
    assert started.wait_exit() == 0


def test_pmemsave_dumps_ram_that_the_guest_changes(machine):
    started, client = ab_machine(machine)
    ram = 128 << 20
    client.command("stop")
    first = started.dump(client, RAM_BASE, ram)
    assert len(first) == ram
    client.command("cont")
    started.assert_serial_growing()  # at least one more pass over the pages
    client.command("stop")
    second = started.dump(client, RAM_BASE, ram)
    assert len(second) == ram
    assert first != second, "ab dirties RAM, yet two dumps with the guest running between are equal"


def test_pmemsave_of_ram_start_is_the_loaded_image(machine):
    started, client = ab_machine(machine)
    kernel = machine.guest("ab")
    text_address, text = elf_load_segments(kernel)[0]
    assert text_address == RAM_BASE
    dump = started.dump(client, RAM_BASE, 4096)
    length = min(len(text), 4096)
    assert dump[:length] == text[:length]


def test_memsave_equals_pmemsave_with_satp_zero(machine):
    started, client = ab_machine(machine)
    client.command("stop")
    physical = started.dump(client, RAM_BASE, 64 << 10)
    virtual = started.dump(client, RAM_BASE, 64 << 10, command="memsave")
    assert physical == virtual


def test_human_monitor_command(machine):
    started, client = ab_machine(machine)
    reply = client.execute("human-monitor-command", {"command-line": "info status"})
    assert reply["return"].replace("\r\n", "\n") == "VM status: running\n"
    client.command("stop")
    reply = client.execute("human-monitor-command", {"command-line": "info status"})
    assert reply["return"].replace("\r\n", "\n") == "VM status: paused\n"


def test_getfd_and_closefd(machine):
    started, client = ab_machine(machine)
    read_end, write_end = os.pipe()
    try:
        reply = client.send_fds({"execute": "getfd", "arguments": {"fdname": "pipe"}}, [read_end])
        assert reply == {"return": {}}
        assert client.execute("closefd", {"fdname": "pipe"}) == {"return": {}}
        # Closed once, the name is gone.
        assert_qmp_error(client.execute("closefd", {"fdname": "pipe"}), "GenericError",
                         "File descriptor named 'pipe' not found")
        assert_qmp_error(client.execute("getfd", {"fdname": "nofd"}), "GenericError",
                         "No file descriptor supplied via SCM_RIGHTS")
    finally:
        os.close(read_end)
        os.close(write_end)


def test_add_fd_query_fdsets_remove_fd(machine):
    started, client = ab_machine(machine)
    read_end, write_end = os.pipe()
    try:
        first = client.send_fds({"execute": "add-fd", "arguments": {"opaque": "the write end"}},
                                [write_end])["return"]
        assert isinstance(first["fd"], int) and isinstance(first["fdset-id"], int)
        second = client.send_fds({"execute": "add-fd", "arguments": {"fdset-id": 7}},
                                 [read_end])["return"]
        assert second["fdset-id"] == 7
        fdsets = {entry["fdset-id"]: entry["fds"] for entry in client.execute("query-fdsets")["return"]}
        assert fdsets[first["fdset-id"]] == [{"fd": first["fd"], "opaque": "the write end"}]
        assert fdsets[7] == [{"fd": second["fd"]}]
        assert client.execute("remove-fd", {"fdset-id": 7}) == {"return": {}}
        remaining = {entry["fdset-id"] for entry in client.execute("query-fdsets")["return"]}
        assert remaining == {first["fdset-id"]}
        assert_qmp_error(client.execute("remove-fd", {"fdset-id": 7}), "GenericError",
                         "File descriptor named 'fdset-id:7' not found")
        assert client.execute("remove-fd", {"fdset-id": first["fdset-id"], "fd": first["fd"]}) == \
            {"return": {}}
        assert client.execute("query-fdsets") == {"return": []}
    finally:
        os.close(read_end)
        os.close(write_end)


# -- errors -------------------------------------------------------------------

@pytest.mark.parametrize("command, args, desc", [
    ("foo", None, "The command foo has not been found"),
    ("pmemsave", {"val": 0, "filename": "/dev/null"}, "Parameter 'size' is missing"),
    ("query-status", {"verbose": True}, "Parameter 'verbose' is unexpected"),
    ("pmemsave", {"val": "zero", "size": 1, "filename": "/dev/null"}, "Parameter 'val' expects uint64"),
    ("query-name", {"x": 1}, "Parameter 'x' is unexpected"),
    # QEMU words a bad number and a bad string differently.
    ("pmemsave", {"val": 0, "size": True, "filename": "/dev/null"}, "Parameter 'size' expects uint64"),
    ("getfd", {"fdname": 5}, "Invalid parameter type for 'fdname', expected: string"),
    ("human-monitor-command", {}, "Parameter 'command-line' is missing"),
])
def test_command_errors(machine, command, args, desc):
    started, client = ab_machine(machine)
    reply = client.execute(command, args, id="e")
    assert_qmp_error(reply, "CommandNotFound" if command == "foo" else "GenericError", desc)
    assert reply["id"] == "e"
    # The monitor carries on.
    assert client.execute("query-status")["return"]["running"] is True


def test_netdev_add_takes_qapi_arguments(machine):
    """QAPI's shapes: hostfwd a list of {"str": RULE}, restrict a bool; errors
    in QEMU's words."""
    started = machine.start("ab")
    client = started.qmp()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    reply = client.execute("netdev_add", {"type": "user", "id": "n1", "restrict": True,
                                          "hostfwd": [{"str": f"tcp:127.0.0.1:{port}-:80"}]})
    assert reply == {"return": {}}, reply
    socket.create_connection(("127.0.0.1", port), timeout=5).close()
    assert_qmp_error(client.execute("netdev_add", {"type": "user"}), "GenericError")
    assert_qmp_error(client.execute("netdev_add", {"type": "user", "id": "n2", "restrict": "yes"}), "GenericError",
                     "Invalid parameter type for 'restrict', expected: boolean")
    assert_qmp_error(client.execute("netdev_del", {"id": "nope"}), "DeviceNotFound", "Device 'nope' not found")
    assert client.execute("netdev_del", {"id": "n1"}) == {"return": {}}
