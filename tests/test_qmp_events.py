"""Run states and the events that report them; stopping really stops the
guest; two QMP monitors side by side; many clients coming and going."""
import time

from qmp_client import fd_count

from monitor_helpers import (RAM_BASE, ab_machine, assert_qmp_error, assert_timestamp,
                             machine, wait_for)  # noqa: F401 (fixture)


def status(client):
    return client.execute("query-status")["return"]["status"]


def test_prelaunch_cont_stop_cont(machine):
    started = machine.start("ab", extra=["-S"])
    client = started.qmp()
    assert status(client) == "prelaunch"
    time.sleep(0.3)
    assert started.serial_size() == 0, "the guest ran under -S before cont"
    client.command("cont")
    resume = client.get_event("RESUME")
    assert_timestamp(resume)
    assert "data" not in resume or resume["data"] == {}
    assert status(client) == "running"
    started.wait_serial(2)
    client.command("stop")
    stop = client.get_event("STOP")
    assert_timestamp(stop)
    assert status(client) == "paused"
    client.command("cont")
    client.get_event("RESUME")
    assert status(client) == "running"
    assert stop["timestamp"]["seconds"] >= resume["timestamp"]["seconds"]


def test_system_reset_event(machine):
    started, client = ab_machine(machine)
    client.command("system_reset")
    reset = client.get_event("RESET")
    assert_timestamp(reset)
    assert reset["data"] == {"guest": False, "reason": "host-qmp-system-reset"}
    assert status(client) == "running"


def test_system_reset_while_paused_goes_to_prelaunch(machine):
    # QEMU leaves a reset machine that was not running in prelaunch.
    started, client = ab_machine(machine)
    client.command("stop")
    client.command("system_reset")
    client.get_event("RESET")
    assert status(client) == "prelaunch"
    client.command("cont")
    client.get_event("RESUME")
    assert status(client) == "running"


def test_guest_poweroff_with_no_shutdown_keeps_the_process(machine):
    started = machine.start("hello", extra=["-S", "-no-shutdown"])
    client = started.qmp()
    client.command("cont")
    shutdown = client.get_event("SHUTDOWN")
    assert_timestamp(shutdown)
    assert shutdown["data"] == {"guest": True, "reason": "guest-shutdown"}
    client.get_event("STOP")
    assert client.execute("query-status")["return"] == {"status": "shutdown", "running": False}
    time.sleep(0.3)
    assert started.proc.poll() is None, "the process exited despite -no-shutdown"
    # QEMU refuses to run a shut-down machine until it is reset.
    assert_qmp_error(client.execute("cont"), "GenericError", "Resetting the Virtual Machine is required")
    client.command("system_reset")
    client.get_event("RESET")
    assert status(client) == "prelaunch"


def test_guest_poweroff_without_no_shutdown_exits(machine):
    started = machine.start("hello", extra=["-S"])
    client = started.qmp()
    client.command("cont")
    shutdown = client.get_event("SHUTDOWN")
    assert shutdown["data"] == {"guest": True, "reason": "guest-shutdown"}
    assert started.wait_exit() == 0
    assert client.wait_closed(5), "the monitor connection stayed open after exit"


def test_quit_event(machine):
    started, client = ab_machine(machine)
    assert client.execute("quit") == {"return": {}}
    shutdown = client.get_event("SHUTDOWN")
    assert_timestamp(shutdown)
    assert shutdown["data"] == {"guest": False, "reason": "host-qmp-quit"}
    assert started.wait_exit() == 0


def test_stop_really_stops_the_guest(machine):
    started, client = ab_machine(machine)
    window = 16 << 20  # ab's first dirtied page is 1 MiB into RAM
    # Running: memory changes and the serial file grows.
    first = started.dump(client, RAM_BASE, window)
    time.sleep(0.3)
    second = started.dump(client, RAM_BASE, window)
    assert first != second, "the running guest did not change its memory in 0.3 s"
    started.assert_serial_growing()
    client.command("stop")
    client.get_event("STOP")
    size = started.serial_size()
    first = started.dump(client, RAM_BASE, window)
    time.sleep(0.3)
    second = started.dump(client, RAM_BASE, window)
    time.sleep(0.2)
    assert started.serial_size() == size, "serial output grew while stopped"
    assert first == second, "guest memory changed while stopped"
    client.command("cont")
    started.assert_serial_growing()


def second_monitor_options(machine):
    path = f"{machine.workdir}/qmp2.sock"
    return path, ["-chardev", f"socket,id=m2,path={path},server=on,wait=off",
                  "-mon", "chardev=m2,mode=control"]


def test_two_monitors_both_get_events(machine):
    path, options = second_monitor_options(machine)
    started = machine.start("ab", extra=options)
    first = started.qmp()
    second = started.qmp(path)
    first.command("stop")
    assert first.get_event("STOP") and second.get_event("STOP")
    second.command("cont")
    assert first.get_event("RESUME") and second.get_event("RESUME")
    assert status(first) == status(second) == "running"


def test_a_client_leaving_one_monitor_leaves_the_other_working(machine):
    path, options = second_monitor_options(machine)
    started = machine.start("ab", extra=options)
    first = started.qmp()
    second = started.qmp(path)
    first.close()
    assert status(second) == "running"
    # The first monitor's server takes a new client.
    again = started.qmp()
    assert status(again) == "running"
    second.command("stop")
    again.get_event("STOP")
    second.close()
    assert status(again) == "paused"
    third = started.qmp(path)
    third.command("cont")
    again.get_event("RESUME")


def test_many_clients_come_and_go(machine):
    started, client = ab_machine(machine)
    client.close()
    # Settle a first cycle, then count the fds: later cycles must not add any.
    started.qmp().close()
    time.sleep(0.1)
    fds_before = fd_count(started.pid)
    serial_before = started.serial_size()
    for cycle in range(200):
        # Half the clients negotiate and ask something, half only connect.
        transient = started.qmp(negotiate=cycle % 2 == 0)
        if cycle % 2 == 0:
            assert transient.execute("query-status", id=cycle)["id"] == cycle
        transient.close()
        started.clients.remove(transient)
    time.sleep(0.2)
    final = started.qmp()
    assert status(final) == "running"
    assert started.serial_size() > serial_before
    started.assert_serial_growing()
    wait_for(lambda: fd_count(started.pid) <= fds_before + 1, 5,
             f"the fd count to come back to {fds_before} (+1 for the open client)")
