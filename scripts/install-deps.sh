#!/usr/bin/env bash
# Installs everything godwit needs to build, test and compare itself with QEMU on
# Debian 12 (run as root). Safe to run again: apt-get skips what is already there.
#
# The reference QEMU is 10.0 from bookworm-backports. Backports is enabled on the
# machine's own Debian mirror, read from its apt sources, never a hard-coded host.
# Where backports cannot be had, Debian 12's QEMU 7.2 (qemu-system-misc) is used.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "install-deps: must run as root (apt-get)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive

# debian_mirror: the mirror URI from the machine's own apt sources.
source "$(dirname "$0")/debian-mirror.sh"

backports=/etc/apt/sources.list.d/godwit-bookworm-backports.list
if [ ! -f "$backports" ]; then
  mirror=$(debian_mirror)
  if [ -n "$mirror" ]; then
    echo "deb $mirror bookworm-backports main" > "$backports"
  else
    echo "install-deps: no Debian mirror found in apt sources; skipping backports" >&2
  fi
fi

apt-get update -qq || true

# Build: compiler, CMake, Ninja. Libraries: libfdt (device tree), nlohmann-json
# (QMP and the stream's JSON description), libslirp (-netdev user: the guest's
# network played in-process, as QEMU's; its pkg-config file wants glib's
# headers, hence libglib2.0-dev), GoogleTest and
# Google Benchmark (tests and micro-benchmarks). Guests: the RISC-V bare-metal GCC.
# Tests: pytest. Reference machine: qemu-system-riscv64. Linux guest material
# (scripts/guest-images.sh): cpio for the initramfs, e2fsprogs for the ext4
# disk image and its checks (mkfs.ext4 -d, debugfs, e2fsck), the riscv64 Linux
# cross compiler and C library for the static guest workload, xz-utils for the
# kernel's compressed modules, debian-archive-keyring to verify the riscv64
# packages apt fetches. iproute2 (ip, bridge): the tap tests' network
# namespace, bridge and tap devices.
apt-get install -y -qq --no-install-recommends \
  g++ cmake ninja-build pkg-config make \
  libfdt-dev device-tree-compiler nlohmann-json3-dev libslirp-dev libglib2.0-dev \
  libgtest-dev libgmock-dev libbenchmark-dev \
  gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf \
  python3 python3-pytest gzip \
  cpio e2fsprogs xz-utils debian-archive-keyring iproute2 \
  gcc-riscv64-linux-gnu libc6-dev-riscv64-cross >/dev/null

if ! apt-get install -y -qq --no-install-recommends -t bookworm-backports qemu-system-riscv >/dev/null 2>&1; then
  echo "install-deps: QEMU from bookworm-backports not available; using Debian 12's qemu-system-misc" >&2
  apt-get install -y -qq --no-install-recommends qemu-system-misc >/dev/null || \
    echo "install-deps: no qemu-system-riscv64 could be installed; QEMU comparisons will be skipped" >&2
fi
# OpenSBI's fw_dynamic: godwit's default firmware (-bios default), found where
# QEMU finds it. QEMU's package only recommends it; 1.5 comes with QEMU 10 in
# backports, Debian 12's own is 1.2.
apt-get install -y -qq --no-install-recommends -t bookworm-backports opensbi >/dev/null 2>&1 || \
  apt-get install -y -qq --no-install-recommends opensbi >/dev/null || \
  echo "install-deps: opensbi could not be installed; -bios default and its tests need it" >&2
if command -v qemu-system-riscv64 >/dev/null; then
  qemu-system-riscv64 -version | head -n 1
fi
