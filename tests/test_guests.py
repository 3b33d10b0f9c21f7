"""Every bundled guest boots on godwit and prints what it prints on QEMU.

Deterministic guests are compared byte for byte with the reference
qemu-system-riscv64; `ab` runs forever, so its output is checked for shape.
"""
import re

import pytest

import vm

DETERMINISTIC = [
    # (guest, options) -- each runs to power-off on both machines
    ("hello", dict()),
    ("hello", dict(smp=4, memory="256M", append="ws=16 work=mix")),
    ("smp", dict(smp=1)),
    ("smp", dict(smp=2)),
    ("smp", dict(smp=4, append="iters=20000")),
    ("timer", dict(append="count=3")),
    ("timer", dict(smp=2, append="count=2")),
    ("bench", dict(append="work=alu iters=20000")),
    ("bench", dict(append="work=mem iters=20000")),
    ("bench", dict(append="work=mix iters=20000")),
    ("paging", dict()),
    ("paging", dict(smp=2)),
]


def ids(case):
    name, options = case
    return name + "".join(f"-{k}={v}" for k, v in options.items())


@pytest.mark.parametrize("case", DETERMINISTIC, ids=[ids(c) for c in DETERMINISTIC])
def test_guest_output_matches_qemu(godwit, qemu, guest, case):
    name, options = case
    status, out, err = vm.run_to_exit(godwit, guest(name), **options)
    assert status == 0, f"godwit exit {status}: {err}"
    ref_status, ref_out, ref_err = vm.run_to_exit(qemu, guest(name), **options)
    assert ref_status == 0, f"QEMU exit {ref_status}: {ref_err}"
    assert out == ref_out
    assert out.strip(), "guest printed nothing"


def test_hello_reports_the_machine(godwit, guest):
    status, out, _ = vm.run_to_exit(godwit, guest("hello"), smp=3, memory="192M")
    assert status == 0
    assert "3 harts, 192 MiB RAM at 0x80000000" in out


def test_smp_totals_on_eight_harts(godwit, guest):
    status, out, _ = vm.run_to_exit(godwit, guest("smp"), smp=8, append="iters=50000")
    assert status == 0, out
    assert "smp: 8 harts, amo total 400000 ok, lrsc total 400000 ok" in out


def test_echo_matches_qemu(godwit, qemu, guest):
    text = b"hello godwit\nsecond line\nquit\n"
    status, out, err = vm.run_to_exit(godwit, guest("echo"), stdin_data=text)
    assert status == 0, err
    assert "echo: hello godwit" in out and "echo: second line" in out
    ref_status, ref_out, _ = vm.run_to_exit(qemu, guest("echo"), stdin_data=text)
    assert ref_status == 0
    assert out == ref_out


@pytest.mark.parametrize("smp, memory, append", [(1, "128M", None), (2, "256M", None), (4, "128M", "ws=8")])
def test_ab_prints_a_then_passes(godwit, qemu, guest, smp, memory, append):
    for binary in (godwit, qemu):
        out, err = vm.run_for(binary, guest("ab"), 2.0, smp=smp, memory=memory, append=append)
        assert re.fullmatch(r"AB+", out), f"{binary}: {out[:80]!r} {err}"


def test_poweroff_with_failure_code_is_the_exit_status(godwit, guest):
    # bench with an unknown workload exits through sifive_test with code 1.
    status, out, _ = vm.run_to_exit(godwit, guest("bench"), append="work=nope")
    assert status == 1, out
