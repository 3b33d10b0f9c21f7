"""scripts/check-disk.py, the verdict on a Linux guest's disk: ext4 images made
here (mkfs.ext4 -d, no guest) with records written by the workload itself
(built for this host) and with every kind of damage the checker must name."""
import shutil
import subprocess

import pytest

from linux_guest import ROOT, check_disk, check_disk_module

pytestmark = pytest.mark.skipif(shutil.which("mkfs.ext4") is None or shutil.which("debugfs") is None,
                                reason="e2fsprogs (mkfs.ext4, debugfs) not installed")

RECORDS = 50


def records(count, start=0):
    module = check_disk_module()
    return b"".join(module.expected_record(seq) for seq in range(start, start + count))


def image_with(tmp_path, data, name="records.bin"):
    """An 8 MiB ext4 image holding `data` as /records.bin (nothing when None)."""
    where = tmp_path / f"image{len(list(tmp_path.glob('image*')))}"
    content = where / "content"
    content.mkdir(parents=True)
    if data is not None:
        (content / name).write_bytes(data)
    image = where / "disk.img"
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", str(content), str(image), "8M"],
                   check=True, capture_output=True)
    return image


def test_whole_records_in_order_pass(tmp_path):
    assert check_disk(image_with(tmp_path, records(RECORDS))) == (True, f"disk: OK {RECORDS} records")


def test_the_workload_writes_what_the_checker_expects(tmp_path):
    # The same C source the guest runs, built for this host: its bytes must be
    # the checker's, so a mismatch is found here rather than after a boot.
    cc = shutil.which("cc") or pytest.skip("no host C compiler")
    binary = tmp_path / "workload"
    subprocess.run([cc, "-O2", "-o", str(binary), str(ROOT / "guests/linux/workload.c")], check=True)
    run = subprocess.run([str(binary), str(tmp_path), "30", "1", "10"], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[0].startswith("workload: started")
    assert run.stdout.splitlines()[-1] == "workload: done 30 records"
    assert (tmp_path / "records.bin").read_bytes() == records(30)


@pytest.mark.parametrize("data, why", [
    (records(10) + records(RECORDS - 11, start=11), "sequence 11 where 10 belongs"),
    (records(11) + records(RECORDS - 10, start=10), "sequence 10 where 11 belongs"),
    (records(RECORDS)[:-200] + b"\xff" + records(RECORDS)[-199:], "checksum mismatch"),
    (b"\0" * 128 + records(RECORDS)[128:], "bad header"),
], ids=["gap", "repeat", "corrupt", "zeroed"])
def test_a_gap_repeat_or_corrupt_record_fails(tmp_path, data, why):
    ok, verdict = check_disk(image_with(tmp_path, data))
    assert not ok and verdict.startswith("disk: FAIL record ") and why in verdict, verdict


def test_a_torn_last_record_passes_only_after_a_kill(tmp_path):
    image = image_with(tmp_path, records(RECORDS) + records(1, start=RECORDS)[:60])
    ok, verdict = check_disk(image)
    assert not ok and "60 bytes after record 49" in verdict, verdict
    assert check_disk(image, killed=True) == (True, f"disk: OK {RECORDS} records")


def test_a_tail_that_is_not_the_next_record_fails_even_after_a_kill(tmp_path):
    image = image_with(tmp_path, records(RECORDS) + b"\x55" * 60)
    ok, verdict = check_disk(image, killed=True)
    assert not ok and "not the start of record 50" in verdict, verdict


def test_too_few_records_or_no_file_fail(tmp_path):
    ok, verdict = check_disk(image_with(tmp_path, records(5)), min_records=6)
    assert not ok and "5 records, at least 6 expected" in verdict, verdict
    ok, verdict = check_disk(image_with(tmp_path, None))
    assert not ok and "no /records.bin" in verdict, verdict


def test_a_damaged_file_system_fails(tmp_path):
    image = image_with(tmp_path, records(RECORDS))
    subprocess.run(["debugfs", "-w", "-R", "sif /records.bin links_count 3", str(image)],
                   check=True, capture_output=True)
    ok, verdict = check_disk(image)
    assert not ok and verdict.startswith("disk: FAIL e2fsck exited 4"), verdict


def test_the_command_line_prints_the_verdict_and_exits_with_it(tmp_path):
    image = image_with(tmp_path, records(3))
    script = ROOT / "scripts/check-disk.py"
    good = subprocess.run([str(script), str(image)], capture_output=True, text=True)
    assert (good.returncode, good.stdout) == (0, "disk: OK 3 records\n")
    bad = subprocess.run([str(script), "--min-records", "4", str(image)], capture_output=True, text=True)
    assert bad.returncode == 1 and bad.stdout.startswith("disk: FAIL"), bad.stdout
