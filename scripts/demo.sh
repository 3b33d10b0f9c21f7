#!/usr/bin/env bash
# The main demo: installs what godwit needs, builds it, then boots a Debian
# Linux guest (building its images first if needed) and live-migrates it to a
# second godwit over a unix socket while it appends checksummed records to its
# disk, showing progress, total time and downtime, the workload going on at the
# destination, and scripts/check-disk.py's verdict (scripts/linux_demo.py).
#
#   bash scripts/demo.sh [linux_demo.py options]
#   bash scripts/demo.sh --bare-metal [migrate_demo.py options]   # the quick `ab` demo
#
# (scripts/guests-demo.sh tours the other bundled guests.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release
if [[ "${1:-}" == "--bare-metal" ]]; then
  shift
  exec python3 scripts/migrate_demo.py "$@"
fi
exec python3 scripts/linux_demo.py "$@"
