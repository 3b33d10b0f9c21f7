"""Command-line behaviour as a user meets it: good options start a machine,
bad ones give exactly one line naming the problem and exit status 1, with
nothing left behind."""
import os
import subprocess

import pytest


def run(godwit, *args, timeout=20):
    return subprocess.run([str(godwit), *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def test_version(godwit):
    proc = run(godwit, "-version")
    assert proc.returncode == 0
    assert proc.stdout.startswith("godwit version ")


def test_help_lists_the_main_options(godwit):
    proc = run(godwit, "-h")
    assert proc.returncode == 0
    for option in ("-machine", "-m ", "-smp", "-kernel", "-append", "-serial", "-chardev", "-object", "-S"):
        assert option in proc.stdout, option


@pytest.mark.parametrize("args, named", [
    (["-foo"], "-foo"),
    (["-m", "12Q"], "12Q"),
    (["-smp", "0"], "-smp"),
    (["-smp", "9"], "9"),
    (["-smp", "zero"], "zero"),
    (["-M", "pc"], "pc"),
    (["-M", "virt,bogus=on"], "bogus"),
    (["-kernel", "/nonexistent/k.elf"], "/nonexistent/k.elf"),
    (["-bios", "opensbi.bin"], "bios"),
    (["-serial", "carrier-pigeon"], "carrier-pigeon"),
    (["-serial", "chardev:nope"], "nope"),
    (["-chardev", "socket,id=s"], "s"),
    (["-object", "memory-backend-ram,id=m"], "size"),
    (["-M", "virt,memory-backend=missing"], "missing"),
    (["-m"], "-m"),
])
def test_bad_command_lines_fail_with_one_clear_line(godwit, args, named):
    proc = run(godwit, *args)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert named in lines[0], lines[0]
    assert proc.stdout == ""


def test_unusable_mem_path_names_the_backend(godwit, guest, tmp_path):
    missing_dir = tmp_path / "no" / "such" / "dir" / "ram"
    proc = run(godwit, "-object", f"memory-backend-file,id=mem0,size=64M,mem-path={missing_dir},share=on",
               "-M", "virt,memory-backend=mem0", "-bios", "none", "-kernel", str(guest("hello")), "-nographic")
    assert proc.returncode == 1
    assert "mem0" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_pidfile_is_written_and_removed(godwit, guest, tmp_path):
    pidfile = tmp_path / "godwit.pid"
    proc = run(godwit, "-M", "virt", "-bios", "none", "-nographic", "-kernel", str(guest("hello")),
               "-pidfile", str(pidfile))
    assert proc.returncode == 0, proc.stderr
    assert not pidfile.exists()


def test_dumpdtb_writes_a_valid_tree_and_exits(godwit, tmp_path):
    dtb = tmp_path / "virt.dtb"
    proc = run(godwit, "-M", f"virt,dumpdtb={dtb}", "-bios", "none", "-smp", "2", "-m", "256M")
    assert proc.returncode == 0, proc.stderr
    data = dtb.read_bytes()
    assert data[:4] == bytes.fromhex("d00dfeed")
    dtc = subprocess.run(["dtc", "-I", "dtb", "-O", "dts", str(dtb)], capture_output=True, text=True)
    if dtc.returncode == 0:
        assert "serial@10000000" in dtc.stdout
        assert "cpu@1" in dtc.stdout


def test_options_may_come_in_any_order_and_with_two_dashes(godwit, guest):
    proc = run(godwit, "--nographic", "-kernel", str(guest("hello")), "-m", "64M", "--bios", "none", "-M", "virt")
    assert proc.returncode == 0, proc.stderr


def test_memory_backends_run_the_guest(godwit, guest, tmp_path):
    for obj in (f"memory-backend-ram,id=mem,size=128M",
                f"memory-backend-memfd,id=mem,size=128M",
                f"memory-backend-file,id=mem,size=128M,mem-path={tmp_path / 'ram'},share=on"):
        proc = run(godwit, "-object", obj, "-M", "virt,memory-backend=mem", "-bios", "none",
                   "-nographic", "-kernel", str(guest("hello")))
        assert proc.returncode == 0, (obj, proc.stderr)
        assert "128" in proc.stdout, (obj, proc.stdout)
    assert os.path.getsize(tmp_path / "ram") == 128 << 20
