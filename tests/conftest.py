"""Shared fixtures for godwit's system tests.

The binaries come from the environment (scripts/test-all.sh sets them) or
default to the release build. QEMU is the reference machine; tests that
compare with it are skipped, saying why, when it is not installed.
"""
import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _path(env, default):
    return pathlib.Path(os.environ.get(env, default))


GODWIT = _path("GODWIT", ROOT / "build/release/godwit")
GODWIT_ASAN = _path("GODWIT_ASAN", ROOT / "build/asan/godwit")
GODWIT_NEXT = _path("GODWIT_NEXT", ROOT / "build/next/godwit")
GUESTS = _path("GODWIT_GUESTS", ROOT / "build/release/guests")
QEMU = shutil.which("qemu-system-riscv64")


def qemu_version():
    if not QEMU:
        return None
    out = subprocess.run([QEMU, "-version"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else None


def pytest_report_header(config):
    return [f"godwit: {GODWIT}", f"guests: {GUESTS}", f"reference: {qemu_version() or 'QEMU not installed'}"]


@pytest.fixture(scope="session")
def godwit():
    if not GODWIT.exists():
        pytest.fail(f"godwit binary not found at {GODWIT}: build it with scripts/build.sh")
    return GODWIT


@pytest.fixture(scope="session")
def godwit_asan():
    if not GODWIT_ASAN.exists():
        pytest.skip(f"asan build not found at {GODWIT_ASAN}")
    return GODWIT_ASAN


@pytest.fixture(scope="session")
def godwit_next():
    """godwit built with the next release's device state versions (preset
    `next`; scripts/test-all.sh builds it)."""
    if not GODWIT_NEXT.exists():
        pytest.skip(f"next build not found at {GODWIT_NEXT}: build it with `scripts/build.sh next`")
    return GODWIT_NEXT


@pytest.fixture(scope="session")
def qemu():
    if not QEMU:
        pytest.skip("qemu-system-riscv64 not installed: no comparison with the reference")
    return QEMU


@pytest.fixture(scope="session")
def guest():
    def find(name):
        path = GUESTS / f"{name}.elf"
        if not path.exists():
            pytest.fail(f"guest {name} not built at {path}")
        return path
    return find
