#!/usr/bin/env bash
# The main demo: installs what godwit needs, builds it, boots the bundled `ab`
# guest and live-migrates it to a second godwit over a unix socket, showing
# progress, proving both RAMs identical, and printing total time, downtime and
# bytes sent. (scripts/guests-demo.sh tours the other bundled guests.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release
exec python3 scripts/migrate_demo.py "$@"
