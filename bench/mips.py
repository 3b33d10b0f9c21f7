#!/usr/bin/env python3
"""Interpreter speed of godwit against QEMU's TCG, in one run.

Boots the `bench` guest on both machines for each workload (alu, mem, mix)
with two iteration counts; the guest prints its exact instruction count, and
the difference between the two runs cancels start-up and boot costs:

    MIPS = (instructions(long) - instructions(short)) / (time(long) - time(short))

Each configuration runs `--repeat` times and the fastest run counts (the
machine is shared and noisy; the minimum is the least disturbed). Prints a
table with godwit/QEMU ratios.
"""
import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Iterations for the long run of each workload: about 180 million guest
# instructions each (alu is 9 instructions an iteration, mem 11, mix 30).
LONG_ITERATIONS = {"alu": 20_000_000, "mem": 16_000_000, "mix": 6_000_000}
LINE = re.compile(r"bench: work=(\w+) iters=(\d+) instructions=(\d+)")


def run_once(binary, kernel, work, iters):
    cmd = [str(binary), "-M", "virt", "-bios", "none", "-nographic", "-m", "128M",
           "-kernel", str(kernel), "-append", f"work={work} iters={iters}"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - start
    match = LINE.search(proc.stdout)
    if proc.returncode != 0 or not match:
        sys.exit(f"{binary}: bench guest failed (status {proc.returncode}): {proc.stdout!r} {proc.stderr!r}")
    return elapsed, int(match.group(3))


def measure(binary, kernel, work, short, long, repeat):
    best_short = min(run_once(binary, kernel, work, short)[0] for _ in range(repeat))
    long_runs = [run_once(binary, kernel, work, long) for _ in range(repeat)]
    best_long = min(t for t, _ in long_runs)
    instructions_long = long_runs[0][1]
    instructions_short = run_once(binary, kernel, work, short)[1]
    seconds = max(best_long - best_short, 1e-6)
    return (instructions_long - instructions_short) / seconds / 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--godwit", default=os.environ.get("GODWIT", ROOT / "build/release/godwit"))
    parser.add_argument("--qemu", default=shutil.which("qemu-system-riscv64"))
    parser.add_argument("--kernel", default=ROOT / "build/release/guests/bench.elf")
    parser.add_argument("--work", default="alu,mem,mix")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiplies the iteration counts (about 180M instructions per long run at 1.0)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    if args.qemu:
        version = subprocess.run([args.qemu, "-version"], capture_output=True, text=True).stdout.splitlines()[0]
        print(f"reference: {version} (TCG)")
    else:
        print("reference: qemu-system-riscv64 not installed; godwit only")
    print(f"{'workload':<10}{'godwit MIPS':>14}{'QEMU MIPS':>14}{'ratio':>10}")
    for work in args.work.split(","):
        long = int(LONG_ITERATIONS[work] * args.scale)
        short = long // 20
        ours = measure(args.godwit, args.kernel, work, short, long, args.repeat)
        if args.qemu:
            theirs = measure(args.qemu, args.kernel, work, short, long, args.repeat)
            print(f"{work:<10}{ours:>14.0f}{theirs:>14.0f}{ours / theirs:>9.2f}x")
        else:
            print(f"{work:<10}{ours:>14.0f}{'-':>14}{'-':>10}")


if __name__ == "__main__":
    main()
