#!/bin/sh
# Builds every guest without CMake, for quick iteration:
#   guests/build.sh OUTDIR
# makes OUTDIR/<name>.elf for each guests/<name>.c or .S, OUTDIR/sbi/<name>.elf for
# each guests/sbi/<name>.c and OUTDIR/isa/<name>.elf for each guests/isa/<name>.S. The compiler flags live in gcc.rsp, shared with
# CMakeLists.txt. RISCV_GCC overrides the compiler.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: guests/build.sh OUTDIR}
cc=${RISCV_GCC:-riscv64-unknown-elf-gcc}
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "guests/build.sh: $cc not found; install the package gcc-riscv64-unknown-elf" >&2
  exit 1
fi

mkdir -p "$out/isa"
runtime="$here/runtime"
runtime_sources="$runtime/crt0.S $(ls "$runtime"/*.c)"

for source in "$here"/*.c "$here"/*.S; do
  [ -e "$source" ] || continue
  name=$(basename "$source"); name=${name%.*}
  echo "guest $name"
  # shellcheck disable=SC2086 # the source list is split on purpose
  "$cc" @"$here/gcc.rsp" -I"$runtime" -T"$runtime/link.ld" \
    -o "$out/$name.elf" $runtime_sources "$source"
done

mkdir -p "$out/sbi"
for source in "$here"/sbi/*.c; do
  [ -e "$source" ] || continue
  name=$(basename "$source" .c)
  echo "S-mode payload sbi/$name"
  "$cc" @"$here/gcc.rsp" -I"$runtime" -T"$here/sbi/link.ld" \
    -o "$out/sbi/$name.elf" "$here/sbi/start.S" "$runtime/fdt.c" "$runtime/rtstring.c" "$source"
done

for source in "$here"/isa/*.S; do
  [ -e "$source" ] || continue
  name=$(basename "$source" .S)
  echo "isa test $name"
  "$cc" @"$here/gcc.rsp" -I"$here/isa" -T"$here/isa/link.ld" \
    -o "$out/isa/$name.elf" "$source"
done
