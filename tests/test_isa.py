"""RISC-V ISA test programs report through Spike's HTIF (tohost): exit status 0
is a pass, anything else the number of the failing test."""
import pytest

import vm

ISA_TESTS = ["rv64i", "rv64m", "rv64a", "rv64c", "zicsr", "trap"]


@pytest.mark.parametrize("name", ISA_TESTS)
def test_isa_program_passes(godwit, guest, name):
    status, out, err = vm.run_to_exit(godwit, guest(f"isa/{name}"), timeout=30)
    assert status == 0, f"{name} failed test {status}: {out} {err}"


def test_failing_isa_program_reports_its_test_number(godwit, guest):
    status, _, _ = vm.run_to_exit(godwit, guest("isa/fail_test"), timeout=30)
    assert status == 3
