#!/usr/bin/env bash
# Installs what godwit needs, builds it, and runs every test: unit tests
# (GoogleTest via CTest) in the release and asan presets, then the system
# tests (pytest), which boot every guest on godwit and on QEMU and compare,
# and move guests between this build and the `next` preset's.
# Ends with one summary line over all runners.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
results="$root/build/test-results"

bash scripts/install-deps.sh
# The Linux guest (Debian packages, fetched once); without it its tests skip.
bash scripts/guest-images.sh || echo "test-all: no Linux guest images; their tests will be skipped" >&2
rm -rf "$results" && mkdir -p "$results"

status=0
bash scripts/build.sh release
ctest --preset release -j2 --output-junit "$results/unit-release.xml" || status=1

bash scripts/build.sh asan
ctest --preset asan -j2 --output-junit "$results/unit-asan.xml" || status=1

# godwit with the next release's device state versions, for the tests that
# cpr-exec and migrate between it and this release (about 1.5 min on 2 cores).
bash scripts/build.sh next

GODWIT="$root/build/release/godwit" GODWIT_ASAN="$root/build/asan/godwit" \
GODWIT_NEXT="$root/build/next/godwit" GODWIT_GUESTS="$root/build/release/guests" \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider --junitxml="$results/system.xml" tests || status=1

/usr/bin/python3 scripts/summarize-results.py "$results"/*.xml || status=1
exit $status
