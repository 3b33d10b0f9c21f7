"""The Linux guest on QEMU, the reference: Debian's kernel boots with the
virtio-mmio disk, entropy source, console and network; the workload writes its
records and the disk holds exactly them afterwards, whether the guest shut
down by itself or the machine was stopped under it. The same helpers
(linux_guest.py) boot godwit once it runs Linux."""
from linux_guest import LinuxGuest, check_disk, fresh_disk, kernel_args, linux_images, records_printed  # noqa: F401


def test_workload_runs_to_the_end_and_the_disk_holds_every_record(qemu, linux_images, tmp_path):
    disk = fresh_disk(linux_images, tmp_path)
    guest = LinuxGuest(qemu, linux_images, disk, tmp_path, net=True,
                       append=kernel_args(records=200, print_every=50))
    try:
        _, started = guest.wait_line(r"^workload: started")
        guest.wait_line(r"^workload: done 200 records")
        assert guest.wait_exit() == 0, guest.describe()
    finally:
        guest.stop()
    text = guest.text()
    banner = next(line for line in text.splitlines() if "Linux version" in line)
    print(f"\n{banner}\nworkload started {started:.1f} s after the machine")
    assert "virtio_blk virtio0: [vda] 131072 512-byte logical blocks" in text, guest.describe()
    devices = next(line for line in text.splitlines() if line.startswith("init: devices:"))
    for device in ("vda", "hvc0", "hwrng", "eth0"):
        assert f" {device}" in devices.split(",")[0], f"{device} missing: {devices}"
    assert guest.hvc_path.read_text() == "init: hello on hvc0\n"
    assert "init: unmounted /mnt/data" in text, guest.describe()
    ok, verdict = check_disk(disk)
    assert ok and verdict == "disk: OK 200 records", verdict


def test_a_machine_stopped_mid_run_leaves_every_synced_record(qemu, linux_images, tmp_path):
    disk = fresh_disk(linux_images, tmp_path)
    guest = LinuxGuest(qemu, linux_images, disk, tmp_path, modern=True, rng=False, console=False,
                       append=kernel_args(records=0, print_every=20))
    try:
        guest.wait_line(r"^workload: record 100$")
    finally:
        guest.stop()
    # "record N" is printed after record N was fsynced, so 0..N are on the disk.
    printed = records_printed(guest.text())
    ok, verdict = check_disk(disk, killed=True, min_records=printed + 1)
    assert ok, f"{verdict} (console showed record {printed})"
    print(f"\n{verdict}, console showed record {printed}")
