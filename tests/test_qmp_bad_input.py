"""Whatever a client sends, the machine keeps running and the next client is
answered. A QMP socket serves one client at a time, so each case closes its
client before checking with a fresh one."""
import os
import random
import threading
import time

import pytest

from monitor_helpers import ab_machine, machine  # noqa: F401 (fixture)
from qmp_client import Disconnected, QMPError


def assert_healthy(started):
    """The guest runs and a fresh client gets correct answers. The pause lets
    the server finish with the previous client's input: QEMU sends replies
    still pending from it to whichever client is connected."""
    time.sleep(0.3)
    started.check_alive()
    client = started.qmp()
    assert client.execute("query-status", id="check") == \
        {"return": {"status": "running", "running": True}, "id": "check"}
    assert client.execute("query-name", id=2) == {"return": {}, "id": 2}
    started.assert_serial_growing()
    client.close()
    started.clients.remove(client)


def replies_until_sync(client, timeout=10):
    """Sends a marked command; returns the replies that came before its own."""
    client.send({"execute": "query-status", "id": "sync"})
    before = []
    deadline = time.monotonic() + timeout
    while True:
        reply = client.reply(timeout=max(0.1, deadline - time.monotonic()))
        if reply.get("id") == "sync":
            assert reply["return"]["running"] is True
            return before
        before.append(reply)


@pytest.mark.parametrize("data, desc", [
    ("{]", "JSON parse error, expecting value"),
    ('[{"execute": "query-status"}]', "QMP input must be a JSON object"),
    ("42\n", "QMP input must be a JSON object"),
    ('"query-status"', "QMP input must be a JSON object"),
    ('{"arguments": {}}', "QMP input lacks member 'execute'"),
    ('{"execute": 1}', "QMP input member 'execute' must be a string"),
    ('{"execute": "query-status", "arguments": []}', "QMP input member 'arguments' must be an object"),
    ('{"execute": "query-status", "foo": 1}', "QMP input member 'foo' is unexpected"),
    ('{"execute": "query-status", "id": 1, "id": 2}', "JSON parse error, duplicate key"),
    (b'\xff\xfe{"execute": "query-status"}', None),
    ('{"execute": "query-status", "arguments": {"a": ' + "[" * 2000 + "]" * 2000 + "}}",
     "JSON nesting depth limit exceeded"),
], ids=["malformed", "array", "number", "string", "no-execute", "execute-number", "arguments-array",
        "extra-member", "duplicate-key", "invalid-utf8", "deep-nesting"])
def test_bad_message_gets_an_error_and_the_connection_goes_on(machine, data, desc):
    started, client = ab_machine(machine)
    client.send_raw(data)
    errors = replies_until_sync(client)
    assert errors and "error" in errors[0], f"no error reply for a bad message: {errors}"
    # After the bad bytes the parser resynchronises: what follows may be
    # answered (the command after the invalid UTF-8) or refused.
    for reply in errors:
        assert "id" not in reply, reply
        assert reply.get("error", {"class": "GenericError"})["class"] == "GenericError", reply
    if desc is not None:
        assert errors[0]["error"]["desc"] == desc
    else:
        assert errors[0]["error"]["desc"].startswith("JSON parse error"), errors
    client.close()
    started.clients.remove(client)
    assert_healthy(started)


def test_a_large_argument_is_read_and_refused(machine):
    started, client = ab_machine(machine)
    big = "A" * (256 << 10)
    reply = client.execute("query-status", {"a": big}, id="big", timeout=30)
    assert reply == {"error": {"class": "GenericError", "desc": "Parameter 'a' is unexpected"}, "id": "big"}
    assert_healthy_on(client)


def assert_healthy_on(client):
    assert client.execute("query-status")["return"]["running"] is True


def test_huge_message(machine):
    # 20 MiB in one JSON string. QEMU reads its monitor slowly and may take
    # minutes for this; whether the server answers, drops the client or is
    # still reading after a few seconds, the machine must go on.
    started, client = ab_machine(machine)
    message = b'{"execute": "query-status", "arguments": {"a": "' + b"A" * (20 << 20) + b'"}}'
    try:
        client.send_raw(message, timeout=3)
        reply = client.reply(timeout=5)
        assert "error" in reply, reply
    except Disconnected:
        pass
    except QMPError:
        pass  # still reading when we gave up
    client.close()
    started.clients.remove(client)
    assert_healthy(started)


def test_random_bytes(machine):
    seed = int(os.environ.get("QMP_RANDOM_SEED", random.randrange(1 << 32)))
    print(f"random bytes seed {seed} (QMP_RANDOM_SEED={seed} replays it)")
    rng = random.Random(seed)
    started, client = ab_machine(machine)
    client.close()
    started.clients.remove(client)
    for _ in range(5):
        junk = started.qmp(negotiate=False)
        try:
            junk.send_raw(bytes(rng.randrange(256) for _ in range(16 << 10)), timeout=3)
        except (QMPError, OSError):
            pass
        time.sleep(0.05)
        junk.close()
        started.clients.remove(junk)
    try:
        assert_healthy(started)
    except pytest.fail.Exception as error:  # qmp() reports a silent monitor as a test failure
        if machine.kind == "qemu" and "no reply from the monitor" in str(error):
            # The reference sometimes wedges after junk, as in the QMP fuzz:
            # it greets the new client and answers nothing (seed 3045583591).
            pytest.xfail(f"QEMU's QMP monitor stopped answering after random bytes (seed {seed})")
        raise


def test_half_a_command_then_gone(machine):
    started, client = ab_machine(machine)
    client.send_raw('{"execute": "query-sta')
    time.sleep(0.1)
    client.close()
    started.clients.remove(client)
    # The next client starts from a clean parser, not in the middle of a string.
    assert_healthy(started)


def test_closing_before_the_reply(machine):
    started, client = ab_machine(machine)
    client.send_raw('{"execute": "human-monitor-command", "arguments": {"command-line": "info registers"}}'
                    '{"execute": "query-chardev"}{"execute": "query-status"}')
    client.close()
    started.clients.remove(client)
    assert_healthy(started)


def test_many_commands_in_one_write(machine):
    started, client = ab_machine(machine)
    batch = "".join(f'{{"execute": "query-name", "id": {n}}}\n' for n in range(100))
    client.send_raw(batch)
    ids = [client.reply()["id"] for _ in range(100)]
    assert ids == list(range(100))


def test_a_slow_writer_does_not_stall_the_guest(machine):
    started, client = ab_machine(machine)
    message = '{"execute": "query-status", "id": "slow"}'
    stop = threading.Event()

    def dribble():
        for char in message:
            if stop.is_set():
                return
            client.send_raw(char)
            time.sleep(0.02)

    writer = threading.Thread(target=dribble)
    writer.start()
    started.assert_serial_growing(timeout=2)
    writer.join(timeout=10)
    stop.set()
    assert client.reply() == {"return": {"status": "running", "running": True}, "id": "slow"}
