#!/usr/bin/env bash
# Builds the Linux guest material for the tests and demos, from Debian packages only:
#
#   scripts/guest-images.sh [OUTDIR]        (default: build/guest-images)
#
# OUTDIR/Image              Debian's riscv64 kernel (an uncompressed RISC-V Image)
# OUTDIR/initramfs.cpio.gz  busybox-static, the virtio/ext4 modules, guests/linux/init,
#                           /bin/netecho (guests/linux/netecho.c)
# OUTDIR/disk.img           64 MiB ext4 holding /workload (guests/linux/workload.c)
# OUTDIR/workload           the same workload binary (static riscv64)
# OUTDIR/manifest.txt       package versions, sizes, the command line to boot it
#
# Debian 12 has no riscv64 architecture; Debian 13 (trixie) has, on the same mirror
# the machine already uses. apt fetches the packages with a private configuration
# kept in OUTDIR/apt (sources list, lists, cache, an empty dpkg status), so the
# host's apt and dpkg state are never touched and no root is needed.
#
# Idempotent: when every output is there and was built from the same inputs (this
# script, the init script, the workload source), it prints where they are and
# stops. Downloaded packages stay in OUTDIR/apt, so a rebuild fetches nothing.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/guest-images}
mkdir -p "$out"
out=$(cd "$out" && pwd)
source "$root/scripts/debian-mirror.sh"

suite=trixie
disk_mib=64
init_src=$root/guests/linux/init
workload_src=$root/guests/linux/workload.c
netecho_src=$root/guests/linux/netecho.c
outputs=(Image initramfs.cpio.gz disk.img workload manifest.txt)
# Modules the guest loads, beyond what the kernel has built in (virtio core,
# virtio-console, hw_random, crc32): the virtio-mmio transport, block, entropy and
# network drivers, ext4 and crc32c (ext4's and jbd2's metadata checksums ask the
# crypto API for "crc32c", which only a module provides here). Their own
# dependencies are added from each module's "depends=" field.
# The network driver comes in a second list that init loads only when the machine
# has a virtio-net device: loading it costs seconds on an emulated hart.
wanted_modules=(crc32c_generic virtio_mmio virtio_blk virtio_rng ext4)
wanted_net_modules=(virtio_net)

log() { echo "guest-images: $*"; }
die() { echo "guest-images: $*" >&2; exit 1; }

inputs_hash=$(cat "$0" "$root/scripts/debian-mirror.sh" "$init_src" "$workload_src" "$netecho_src" \
              | sha256sum | cut -d' ' -f1)
complete=yes
for f in "${outputs[@]}"; do [ -f "$out/$f" ] || complete=no; done
if [ "$complete" = yes ] && [ "$(cat "$out/.inputs" 2>/dev/null)" = "$inputs_hash" ]; then
  log "up to date in $out"
  exit 0
fi

for tool in apt-get dpkg cpio gzip xz mkfs.ext4 riscv64-linux-gnu-gcc riscv64-linux-gnu-strip; do
  command -v "$tool" >/dev/null || die "$tool not found: run scripts/install-deps.sh"
done
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || die "$keyring not found: install debian-archive-keyring"

# --- Fetch the kernel and busybox with a private apt configuration. ---
apt_dir=$out/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
: >"$apt_dir/status"
mirror=$(debian_mirror)
[ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list{,.d}"
echo "deb [arch=riscv64 signed-by=$keyring] $mirror $suite main" >"$apt_dir/sources.list"
apt_opts=(
  -o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=-
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
  -o "Dir::State::status=$apt_dir/status"
  -o APT::Architectures::=riscv64 -o APT::Architecture=riscv64
  # apt drops to the _apt user to download; it cannot write into a root-owned
  # build folder, so download as whoever runs this.
  -o "APT::Sandbox::User=$(id -un)"
)

debs=("$apt_dir"/debs/linux-image-*.deb "$apt_dir"/debs/busybox-static_*.deb)
if [ ! -f "${debs[0]}" ] || [ ! -f "${debs[1]}" ]; then
  log "fetching the $suite riscv64 package lists from $mirror"
  apt-get "${apt_opts[@]}" -qq update
  # linux-image-riscv64 is the metapackage; it depends on the newest kernel.
  kernel_pkg=$(apt-cache "${apt_opts[@]}" depends linux-image-riscv64 \
               | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  [ -n "$kernel_pkg" ] || die "cannot resolve linux-image-riscv64 to a kernel package"
  log "downloading $kernel_pkg and busybox-static"
  rm -f "$apt_dir"/debs/*.deb
  (cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" -qq download "$kernel_pkg" busybox-static)
  debs=("$apt_dir"/debs/linux-image-*.deb "$apt_dir"/debs/busybox-static_*.deb)
fi
kernel_deb=${debs[0]}
busybox_deb=${debs[1]}

# --- Unpack into a scratch tree (removed at the end: the modules alone are ~100 MiB). ---
work=$out/work
rm -rf "$work"
mkdir -p "$work/pkg"
trap 'rm -rf "$work"' EXIT
dpkg -x "$kernel_deb" "$work/pkg"
dpkg -x "$busybox_deb" "$work/pkg"
kernel_version=$(basename "$(ls -d "$work"/pkg/usr/lib/modules/*)")
moddir=$work/pkg/usr/lib/modules/$kernel_version

# --- The kernel. Debian ships riscv64 as /boot/vmlinux-*: an uncompressed Image
# (EFI stub "MZ" first, "RISCV" magic at byte 48), which -kernel takes as it is. ---
vmlinux=$work/pkg/boot/vmlinux-$kernel_version
[ -f "$vmlinux" ] || die "no /boot/vmlinux-$kernel_version in $(basename "$kernel_deb")"
if [ "$(dd if="$vmlinux" bs=1 skip=48 count=5 status=none)" != RISCV ]; then
  die "$vmlinux is not a RISC-V Image (no RISCV magic at byte 48)"
fi
cp "$vmlinux" "$out/Image.new"

# --- The workload. ---
riscv64-linux-gnu-gcc -static -O2 -s -Wall -Wextra -Werror -o "$out/workload.new" "$workload_src"
# The TCP echo server the network tests stream through (in the initramfs).
riscv64-linux-gnu-gcc -static -O2 -s -Wall -Wextra -Werror -o "$work/netecho" "$netecho_src"

# --- The initramfs. ---
initrd=$work/initrd
mkdir -p "$initrd/bin" "$initrd/lib/modules" "$initrd/dev" "$initrd/proc" "$initrd/sys" \
         "$initrd/mnt/data" "$initrd/tmp"
cp "$work/pkg/usr/bin/busybox" "$initrd/bin/busybox"
cp "$init_src" "$initrd/init"
cp "$work/netecho" "$initrd/bin/netecho"
chmod 755 "$initrd/init" "$initrd/bin/busybox" "$initrd/bin/netecho"

# Module name (dashes and underscores alike) -> path of its .ko.xz.
declare -A module_file
while IFS= read -r path; do
  name=${path##*/}; name=${name%.ko*}; name=${name//-/_}
  module_file[$name]=$path
done < <(find "$moddir/kernel" -name '*.ko*')
declare -A builtin
while IFS= read -r path; do
  name=${path##*/}; name=${name%.ko}; builtin[${name//-/_}]=1
done <"$moddir/modules.builtin"

# Depth-first over "depends=", so every module comes after what it needs.
declare -A placed
load_order=()
place() {
  local name=${1//-/_}
  [ -n "${placed[$name]:-}" ] && return 0
  placed[$name]=1
  [ -n "${builtin[$name]:-}" ] && return 0
  local path=${module_file[$name]:-}
  [ -n "$path" ] || die "module $name is neither built in nor in $kernel_version"
  local ko=$work/$name.ko dep deps
  # busybox's insmod reads plain ELF only: decompress here. Then drop the
  # symbols no relocation needs (ext4.ko: 7 MiB, mostly local labels, becomes
  # 1.7 MiB), which halves module loading on an emulated hart. That also drops
  # the appended signature; this kernel does not require one (no
  # MODULE_SIG_FORCE) and only marks itself tainted.
  case "$path" in
    *.xz) xz -dc "$path" >"$ko" ;;
    *) cp "$path" "$ko" ;;
  esac
  riscv64-linux-gnu-strip --strip-unneeded "$ko"
  deps=$(tr '\0' '\n' <"$ko" | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' ')
  for dep in $deps; do place "$dep"; done
  mv "$ko" "$initrd/lib/modules/$name.ko"
  load_order+=("$name.ko")
}
for m in "${wanted_modules[@]}"; do place "$m"; done
printf '%s\n' "${load_order[@]}" >"$initrd/lib/modules/load-order"
base_count=${#load_order[@]}
for m in "${wanted_net_modules[@]}"; do place "$m"; done
printf '%s\n' "${load_order[@]:$base_count}" >"$initrd/lib/modules/load-order-net"

find "$initrd" -exec touch -h -d @0 {} +  # same input, same archive
(cd "$initrd" && find . -mindepth 1 | LC_ALL=C sort \
   | cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -9 -n >"$out/initramfs.cpio.gz.new"

# --- The disk: ext4 made from a directory, no mounting, no root. ---
diskdir=$work/disk
mkdir -p "$diskdir"
cp "$out/workload.new" "$diskdir/workload"
rm -f "$out/disk.img.new"
mkfs.ext4 -q -F -L godwit-data -U 6f6d6ff4-1c1e-4a4e-9d1e-676f64776974 \
  -E root_owner=0:0 -d "$diskdir" "$out/disk.img.new" "${disk_mib}M" >/dev/null

for f in Image initramfs.cpio.gz disk.img workload; do mv "$out/$f.new" "$out/$f"; done

size() { stat -c %s "$1"; }
{
  echo "kernel: $(basename "$kernel_deb") ($(size "$kernel_deb") bytes downloaded)"
  echo "busybox: $(basename "$busybox_deb") ($(size "$busybox_deb") bytes downloaded)"
  echo "mirror: $mirror $suite"
  echo "modules: ${load_order[*]}"
  for f in Image initramfs.cpio.gz disk.img workload; do echo "$f: $(size "$out/$f") bytes"; done
  echo "boot: qemu-system-riscv64 -M virt -m 512M -smp 2 -nographic -kernel $out/Image" \
       "-initrd $out/initramfs.cpio.gz -append 'console=ttyS0 godwit.run=workload'" \
       "-drive file=COPY_OF_disk.img,format=raw,if=none,id=d0 -device virtio-blk-device,drive=d0"
} >"$out/manifest.txt"
echo "$inputs_hash" >"$out/.inputs"
log "built in $out"
cat "$out/manifest.txt"
