"""The serial port reaches the world through every chardev kind: a unix or tcp
socket server (with clients coming and going), a file, or nothing."""
import os
import resource
import socket
import subprocess
import time

import vm


def start(godwit, guest_path, *serial_args, append=None):
    cmd = [str(godwit), "-M", "virt", "-bios", "none", "-display", "none", "-kernel", str(guest_path), *serial_args]
    if append:
        cmd += ["-append", append]
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def connect_unix(path, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(str(path))
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def read_until(sock, marker, timeout=10):
    sock.settimeout(timeout)
    data = b""
    while marker not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_echo_over_a_unix_socket_with_a_second_client(godwit, guest, tmp_path):
    path = tmp_path / "serial.sock"
    proc = start(godwit, guest("echo"), "-serial", f"unix:{path},server=on,wait=off")
    try:
        first = connect_unix(path)
        first.sendall(b"first client\n")
        assert b"echo: first client" in read_until(first, b"echo: first client")
        first.close()
        # The server listens again for the next client; the guest is still there.
        second = connect_unix(path)
        second.sendall(b"second client\nquit\n")
        data = read_until(second, b"echo: quit")
        assert b"echo: second client" in data
        assert proc.wait(timeout=10) == 0
        second.close()
    finally:
        proc.kill()
        proc.wait()


def test_echo_over_tcp_chardev(godwit, guest):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = start(godwit, guest("echo"), "-chardev", f"socket,id=ser,host=127.0.0.1,port={port},server=on,wait=off",
                 "-serial", "chardev:ser")
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client = socket.create_connection(("127.0.0.1", port), timeout=10)
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        client.sendall(b"over tcp\nquit\n")
        assert b"echo: over tcp" in read_until(client, b"echo: quit")
        assert proc.wait(timeout=10) == 0
        client.close()
    finally:
        proc.kill()
        proc.wait()


def test_serial_to_a_file(godwit, guest, tmp_path):
    out = tmp_path / "serial.txt"
    proc = start(godwit, guest("hello"), "-serial", f"file:{out}")
    assert proc.wait(timeout=20) == 0
    assert out.read_text().startswith("hello: 1 hart, 128 MiB RAM")


def test_serial_null_discards_output(godwit, guest):
    proc = start(godwit, guest("hello"), "-serial", "null")
    stdout, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert stdout == b""


def test_idle_guest_sleeps_in_wfi(godwit, guest):
    # timer spends almost all of its three seconds in wfi: the host thread
    # must sleep, not spin, so godwit uses a small fraction of one core.
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start_time = time.monotonic()
    status, out, _ = vm.run_to_exit(godwit, guest("timer"), append="count=3", timeout=30)
    wall = time.monotonic() - start_time
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert status == 0 and out.count("tick") == 3
    assert wall >= 2.9, f"three ticks of guest time took only {wall:.2f}s"
    assert cpu < 0.5 * wall, f"used {cpu:.2f}s of CPU in {wall:.2f}s"


def test_sigterm_ends_godwit_cleanly(godwit, guest, tmp_path):
    proc = start(godwit, guest("ab"), "-serial", "null", "-pidfile", str(tmp_path / "pid"))
    time.sleep(0.5)
    proc.terminate()
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert b"terminating on signal 15" in err
    assert not os.path.exists(tmp_path / "pid")
