#!/usr/bin/env python3
"""Checks a Linux guest's disk image after the workload (guests/linux/workload.c)
wrote to it: the file system is clean and the record file holds records 0..N-1,
in order, each whole and intact.

    scripts/check-disk.py [--killed] [--path /records.bin] [--min-records N] IMAGE

Nothing is mounted: debugfs copies the record file out and e2fsck reads the
image (e2fsprogs). Without --killed the guest must have shut down cleanly
(the workload finished and init unmounted the disk): e2fsck -fn must find
nothing, and every byte of the file must belong to a whole record. With
--killed (the machine was stopped while the guest ran) the image is first
copied and its journal replayed by e2fsck, as the guest's next mount would;
the copy must then check clean, and one partly written record at the end is
allowed, since the guest may have been stopped inside a write.

Prints one verdict line, "disk: OK N records" or "disk: FAIL <why>", and exits
0 or 1. The record layout is described in guests/linux/workload.c.
"""
import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile

RECORD_SIZE = 128
RECORD_MAGIC = 0x31525747
PAYLOAD_WORDS = 13
MASK64 = (1 << 64) - 1


def mix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & MASK64
    return h


def expected_record(seq):
    body = struct.pack("<IIQ", RECORD_MAGIC, RECORD_SIZE, seq)
    body += struct.pack(f"<{PAYLOAD_WORDS}Q", *(mix64(seq * 16 + i) for i in range(PAYLOAD_WORDS)))
    return body + struct.pack("<Q", fnv1a64(body))


def check_records(data, allow_torn_tail):
    """Returns (record count, None) or (count of good records, reason)."""
    whole, tail = divmod(len(data), RECORD_SIZE)
    for seq in range(whole):
        got = data[seq * RECORD_SIZE:(seq + 1) * RECORD_SIZE]
        if got == expected_record(seq):
            continue
        magic, size, got_seq = struct.unpack_from("<IIQ", got)
        checksum_ok = struct.unpack_from("<Q", got, RECORD_SIZE - 8)[0] == fnv1a64(got[:-8])
        if magic != RECORD_MAGIC or size != RECORD_SIZE:
            why = f"bad header (magic {magic:#x}, size {size})"
        elif not checksum_ok:
            why = "checksum mismatch (torn or corrupt)"
        elif got_seq != seq:
            why = f"sequence {got_seq} where {seq} belongs (gap or repeat)"
        else:
            why = "payload differs from the one its sequence number gives"
        written = len(got.rstrip(b"\0"))
        if allow_torn_tail and seq == whole - 1 and tail == 0 \
                and got[:written] == expected_record(seq)[:written]:
            return seq, None  # the last record's size was recorded but not all its bytes
        return seq, f"record {seq} at byte {seq * RECORD_SIZE}: {why}"
    if tail:
        if not allow_torn_tail:
            return whole, f"{tail} bytes after record {whole - 1}: a partly written record"
        if data[whole * RECORD_SIZE:] != expected_record(whole)[:tail]:
            return whole, f"the {tail} bytes after record {whole - 1} are not the start of record {whole}"
    return whole, None


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def fsck(image, repair):
    """Returns None when the file system is clean, else what e2fsck said."""
    # -f: check even when marked clean; -n: change nothing; -p: replay the journal
    # and fix only what is safe (exit 1 means it changed something, e.g. the replay).
    proc = run(["e2fsck", "-f", "-p" if repair else "-n", image])
    if proc.returncode == 0 or (repair and proc.returncode == 1):
        if repair:  # after the replay, a second look must find nothing at all
            again = run(["e2fsck", "-fn", image])
            if again.returncode != 0:
                return f"e2fsck -fn after the journal replay exited {again.returncode}: " \
                       + (again.stdout + again.stderr).strip().replace("\n", " | ")
        return None
    return f"e2fsck exited {proc.returncode}: " + (proc.stdout + proc.stderr).strip().replace("\n", " | ")


def dump(image, path, out):
    proc = run(["debugfs", "-R", f"dump {path} {out}", image])
    if not os.path.exists(out) or "File not found" in proc.stderr:
        said = [line for line in proc.stderr.splitlines() if not line.startswith("debugfs ")]
        return f"debugfs found no {path} in {image}: {' '.join(said).strip()}"
    return None


def check(image, path, killed, min_records):
    """Returns (ok, verdict line)."""
    for tool in ("debugfs", "e2fsck"):
        if shutil.which(tool) is None:
            return False, f"disk: FAIL {tool} not found (Debian package e2fsprogs)"
    if not os.path.isfile(image):
        return False, f"disk: FAIL no image at {image}"
    with tempfile.TemporaryDirectory(prefix="check-disk-") as tmp:
        if killed:
            copy = os.path.join(tmp, "image")
            shutil.copyfile(image, copy)
            image = copy
        problem = fsck(image, repair=killed)
        if problem:
            return False, f"disk: FAIL {problem}"
        out = os.path.join(tmp, "records.bin")
        problem = dump(image, path, out)
        if problem:
            return False, f"disk: FAIL {problem}"
        with open(out, "rb") as f:
            data = f.read()
    count, problem = check_records(data, allow_torn_tail=killed)
    if problem:
        return False, f"disk: FAIL {problem} ({count} good records before it)"
    if count < min_records:
        return False, f"disk: FAIL {count} records, at least {min_records} expected"
    return True, f"disk: OK {count} records"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("image", help="ext4 disk image the guest wrote")
    parser.add_argument("--path", default="/records.bin", help="record file inside the image")
    parser.add_argument("--killed", action="store_true",
                        help="the guest was stopped while running: replay the journal on a copy, "
                             "allow one partly written last record")
    parser.add_argument("--min-records", type=int, default=1, help="fewest records that pass")
    args = parser.parse_args(argv)
    ok, verdict = check(args.image, args.path, args.killed, args.min_records)
    print(verdict)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
