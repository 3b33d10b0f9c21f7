"""RISC-V ISA test programs report through Spike's HTIF (tohost), which godwit
serves, and through the virt board's sifive_test device, which is how they end
on QEMU: exit status 0 is a pass, anything else the number of the failing
test. Each program must pass on QEMU too, so a program that checks something
the reference does not do is caught here rather than trusted."""
import pytest

import vm

ISA_TESTS = ["rv64i", "rv64m", "rv64a", "rv64c", "zicsr", "trap", "breakpoint", "icache_alias"]


@pytest.mark.parametrize("name", ISA_TESTS)
def test_isa_program_passes(godwit, guest, name):
    status, out, err = vm.run_to_exit(godwit, guest(f"isa/{name}"), timeout=30)
    assert status == 0, f"{name} failed test {status}: {out} {err}"


@pytest.mark.parametrize("name", ISA_TESTS)
def test_isa_program_passes_on_qemu(qemu, guest, name):
    status, out, err = vm.run_to_exit(qemu, guest(f"isa/{name}"), timeout=30)
    assert status == 0, f"{name} failed test {status} on QEMU: {out} {err}"


@pytest.mark.parametrize("binary", ["godwit", "qemu"])
def test_failing_isa_program_reports_its_test_number(request, guest, binary):
    status, _, _ = vm.run_to_exit(request.getfixturevalue(binary), guest("isa/fail_test"), timeout=30)
    assert status == 3
