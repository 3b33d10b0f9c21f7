"""Image locking against the reference: godwit takes QEMU's lock bytes
(open-file-description locks on bytes 100+N and 200+N of the image), so a
QEMU cannot open for writing an image a godwit runs on, nor the reverse, and
each says why in QEMU's words. A migration hands the locks from source to
destination at switchover."""
import fcntl
import json
import os
import struct
import time

import pytest

from migration_helpers import (VM, check_destination_runs, check_migrated, cpr_channel, main_channel, migrate,
                               sockdir, start_destination, start_source, unix_uri, wait_incoming,
                               wait_migration)  # noqa: F401 (fixtures)
from monitor_helpers import Launcher

IMAGE_BYTES = 4 << 20


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "disk.img"
    with open(path, "wb") as file:
        file.truncate(IMAGE_BYTES)
    return path


def disk_args(image, readonly=False):
    return ["-drive", f"file={image},format=raw,if=none,id=d0" + (",readonly=on" if readonly else ""),
            "-device", "virtio-blk-device,drive=d0"]


def locked_bytes(image):
    """The lock bytes some process holds on `image`, seen as a new opener
    (F_OFD_GETLK with an exclusive lock, as QEMU tests them)."""
    taken = []
    fd = os.open(image, os.O_RDONLY)
    try:
        for byte in list(range(100, 104)) + list(range(200, 204)):
            # struct flock: l_type, l_whence, l_start, l_len, l_pid
            query = struct.pack("hhqqi", fcntl.F_WRLCK, os.SEEK_SET, byte, 1, 0)
            answer = fcntl.fcntl(fd, fcntl.F_OFD_GETLK, query)
            if struct.unpack("hhqqi", answer)[0] != fcntl.F_UNLCK:
                taken.append(byte)
    finally:
        os.close(fd)
    return taken


def launcher_of(request, kind, guest, workdir):
    launcher = Launcher(kind, request.getfixturevalue(kind), guest, workdir)
    request.addfinalizer(launcher.stop_all)
    return launcher


def holder(request, kind, guest, tmp_path, image):
    """A machine of `kind` running `ab` on `image`, its QMP up (so its
    devices, and their locks, are in place)."""
    machine = launcher_of(request, kind, guest, tmp_path / f"holder-{kind}").start("ab", extra=disk_args(image))
    machine.qmp()
    return machine


def refused(request, kind, guest, tmp_path, image, readonly=False):
    """Starts a machine of `kind` on `image`; it must exit 1. Returns its stderr."""
    machine = launcher_of(request, kind, guest, tmp_path / f"second-{kind}").start(
        "ab", qmp=False, extra=disk_args(image, readonly))
    status = machine.wait_exit(timeout=20)
    assert status == 1, f"the second opener ran on (status {status})\n{machine.describe()}"
    return machine.stderr()


@pytest.mark.parametrize("first,second", [("qemu", "godwit"), ("godwit", "qemu"), ("godwit", "godwit")])
def test_a_second_writer_is_refused_in_qemus_words(request, guest, tmp_path, image, first, second):
    holder(request, first, guest, tmp_path, image)
    # What QEMU's virtio-blk holds on a writable raw image, and godwit alike:
    # consistent read and write used, write not shared.
    assert locked_bytes(image) == [100, 101, 201]
    text = refused(request, second, guest, tmp_path, image)
    assert 'Failed to get "write" lock' in text, text
    assert f"Is another process using the image [{image}]?" in text, text


@pytest.mark.parametrize("first,second", [("qemu", "godwit"), ("godwit", "qemu")])
def test_a_reader_is_refused_while_another_writes(request, guest, tmp_path, image, first, second):
    holder(request, first, guest, tmp_path, image)
    text = refused(request, second, guest, tmp_path, image, readonly=True)
    assert 'Failed to get shared "write" lock' in text, text


def test_the_lock_goes_with_the_process(request, godwit, guest, tmp_path, image):
    machine = holder(request, "godwit", guest, tmp_path, image)
    assert locked_bytes(image)
    machine.stop()
    assert locked_bytes(image) == []


def test_missing_image_in_qemus_words(request, godwit, guest, tmp_path):
    missing = tmp_path / "nope.img"
    text = refused(request, "godwit", guest, tmp_path, missing)
    assert f"Could not open '{missing}': No such file or directory" in text, text


def test_migration_hands_the_locks_over(request, godwit, qemu, guest, tmp_path, image, sockdir):
    launcher = launcher_of(request, "godwit", guest, tmp_path / "migration")
    source = start_source(launcher, extra=disk_args(image))
    # The destination opens the image without locking it: the source has it.
    uri = unix_uri(sockdir)
    destination = start_destination(launcher, uri, memory=source.memory, smp=source.smp, extra=disk_args(image))
    assert locked_bytes(image) == [100, 101, 201]
    migrate(source, uri)
    wait_migration(source, others=(destination,))
    check_migrated(source, destination, guest("ab"))
    # The destination holds the image now: the source cannot run on it
    # (QEMU's cont after a completed migration fails the same way)...
    reply = source.execute("cont")
    assert "error" in reply and 'Failed to get "write" lock' in reply["error"]["desc"], reply
    # ...and with the source gone the locks stay, the destination's.
    source.machine.stop()
    assert locked_bytes(image) == [100, 101, 201]
    text = refused(request, "qemu", guest, tmp_path, image)
    assert 'Failed to get "write" lock' in text, text


MEMFD = {"machine_opts": "virt,memory-backend=ram0,aux-ram-share=on",
         "extra": ["-object", "memory-backend-memfd,id=ram0,size=64M,share=on"]}


def start_shared(launcher, image, extra=()):
    machine = launcher.start("ab", memory="64M", machine_opts=MEMFD["machine_opts"],
                             extra=MEMFD["extra"] + disk_args(image) + list(extra))
    return machine


def test_cpr_transfer_hands_the_locks_over(request, godwit, qemu, guest, tmp_path, image, sockdir):
    launcher = launcher_of(request, "godwit", guest, tmp_path / "transfer")
    old = start_shared(launcher, image)
    source = VM(old, old.qmp(), "64M", 1, "source")
    old.wait_serial(3)
    source.set_parameters(mode="cpr-transfer")
    main_sock, cpr_sock = sockdir / "main.sock", sockdir / "cpr.sock"
    new = start_shared(launcher, image, ["-incoming", f"unix:{main_sock}",
                                         "-incoming", json.dumps(cpr_channel(cpr_sock))])
    deadline = time.monotonic() + 10
    while not cpr_sock.exists():
        new.check_alive()
        assert time.monotonic() < deadline, new.describe()
        time.sleep(0.01)
    source.command("migrate", {"channels": [main_channel(main_sock), cpr_channel(cpr_sock)]})
    destination = VM(new, new.qmp(timeout=20), "64M", 1, "destination")
    wait_migration(source, others=(destination,))
    assert wait_incoming(destination) == "running", new.describe()
    check_destination_runs(destination, cont=False)
    # The old side shares the new one's descriptor, and so its locks: it
    # refuses on its own to take the image back.
    reply = source.execute("cont")
    assert "error" in reply and "handed over to the new process with its locks" in reply["error"]["desc"], reply
    old.stop()
    assert locked_bytes(image) == [100, 101, 201]
    assert 'Failed to get "write" lock' in refused(request, "qemu", guest, tmp_path, image)


def test_cpr_exec_keeps_the_image_locked_for_the_new_program(request, godwit, qemu, guest, tmp_path, image):
    launcher = launcher_of(request, "godwit", guest, tmp_path / "exec")
    machine = start_shared(launcher, image)
    vm = VM(machine, machine.qmp(), "64M", 1, "godwit")
    machine.wait_serial(3)
    state = tmp_path / "vm.state"
    vm.set_parameters(mode="cpr-exec", cpr_exec_command=list(machine.cmd) + ["-incoming", f"file:{state}"])
    vm.command("migrate", {"uri": f"file:{state}"})
    deadline = time.monotonic() + 20
    while True:
        machine.check_alive()
        info = vm.info()
        if info.get("status") == "completed" and "x-load-us" in info:
            break
        assert info.get("status") != "failed", info
        assert time.monotonic() < deadline, machine.describe()
        time.sleep(0.02)
    assert vm.status() == "running", machine.describe()
    assert locked_bytes(image) == [100, 101, 201]
    assert 'Failed to get "write" lock' in refused(request, "qemu", guest, tmp_path, image)
