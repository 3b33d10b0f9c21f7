"""The AddressSanitizer/UBSan build runs real guests cleanly: hello, smp on
several harts, and ab for a few seconds. Any sanitizer report fails the test."""
import re

import vm


def assert_clean(err):
    assert "ERROR: AddressSanitizer" not in err, err
    assert "runtime error:" not in err, err
    assert "LeakSanitizer" not in err, err


def test_hello_under_asan(godwit_asan, guest):
    status, out, err = vm.run_to_exit(godwit_asan, guest("hello"), timeout=120)
    assert status == 0, err
    assert out.startswith("hello:")
    assert_clean(err)


def test_smp_under_asan(godwit_asan, guest):
    status, out, err = vm.run_to_exit(godwit_asan, guest("smp"), smp=4, append="iters=5000", timeout=120)
    assert status == 0, err
    assert "amo total 20000 ok, lrsc total 20000 ok" in out
    assert_clean(err)


def test_ab_under_asan(godwit_asan, guest):
    out, err = vm.run_for(godwit_asan, guest("ab"), 4.0, smp=2, memory="64M")
    assert re.fullmatch(r"AB+", out), (out[:80], err)
    assert_clean(err)
